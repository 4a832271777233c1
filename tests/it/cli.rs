//! What a newcomer meets in their first hour: every command's `--help` (examples that copy and
//! run, exit statuses, `pr-{n}` shown whole), "did you mean" for wrong names, one error for one
//! typo, completions and schemas for their shell and editor, and the first `build` without a
//! Dockerfile. (An unchanged deploy's `revision` output: `deploy::records`.)

use crate::support::{Cli, export_baseline, repo_root, text, write_files};

/// Every command with subcommands of its own listed, as `--help` is asked for.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["validate"],
    &["render"],
    &["resources"],
    &["resources", "explain"],
    &["build"],
    &["deploy"],
    &["history"],
    &["diff"],
    &["rollback"],
    &["promote"],
    &["destroy"],
    &["gc"],
    &["baseline"],
    &["baseline", "validate"],
    &["baseline", "export"],
    &["schema"],
    &["completions"],
];

fn help(command: &[&str], columns: &str) -> String {
    Cli::new(command)
        .arg("--help")
        .env("COLUMNS", columns)
        .run()
        .success()
        .stdout
}

/// The lines of a help's section, from its heading to the next blank line.
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_help_ends_with_examples_and_exit_statuses_that_no_width_wraps() {
    for command in COMMANDS {
        let wide = help(command, "200");
        let narrow = help(command, "40");
        let examples = section(&wide, "Examples:");
        assert!(!examples.is_empty(), "{command:?}: no examples\n{wide}");
        assert!(
            examples.iter().all(|l| l.starts_with("  ")),
            "{command:?}: {examples:#?}"
        );
        // Copied from a narrow terminal, an example is still one line.
        assert_eq!(section(&narrow, "Examples:"), examples, "{command:?}");
        let exits = section(&wide, "Exit status:");
        assert!(
            exits.first().is_some_and(|l| l.starts_with("  0  ")),
            "{command:?}: {exits:#?}"
        );
        assert!(
            exits.iter().any(|l| l.starts_with("  2  ")),
            "{command:?}: {exits:#?}"
        );
        assert_eq!(section(&narrow, "Exit status:"), exits, "{command:?}");
    }
}

#[test]
fn preview_patterns_keep_their_n_in_help() {
    for command in [["gc"], ["destroy"]] {
        for flag in ["--help", "-h"] {
            let out = Cli::new(command).arg(flag).run().success();
            out.stdout_has("pr-{n}");
            assert!(!out.stdout.contains('\x1b'), "{}", out.stdout);
        }
    }
    Cli::new(["--help"]).run().success().stdout_has("(pr-{n})");
}

#[test]
fn a_wrong_environment_name_gets_a_suggestion() {
    let out = Cli::new(["render", "-f", "examples/shop/score.yaml", "--image", "x:1"])
        .args(["--platform", "examples/platform", "--env", "stagin"])
        .run()
        .fails(2);
    out.stderr_has(
        "environment `stagin` is not defined in examples/platform: did you mean `staging`?",
    );
    let out = Cli::new(["history", "--env", "developmnt"]).run().fails(2);
    out.stderr_has("did you mean `development`?");
}

#[test]
fn wrong_resource_types_and_classes_get_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers: {main: {image: busybox}}\nresources:\n  db: {type: rediss}\n  cache: {type: redis, class: larg}\n",
        )],
    );
    write_files(
        dir.path(),
        &[(
            "platform/resources/redis.yaml",
            "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata: {name: big-redis}\nspec:\n  type: redis\n  driver: static\n  criteria: [{class: large}, {}]\n  outputs: {host: redis}\n",
        )],
    );
    write_files(
        dir.path(),
        &[(
            "platform/environments.yaml",
            "environments:\n  - {name: development, type: development, namespace: dev}\n",
        )],
    );
    let out = Cli::new(["render", "--platform", "platform"])
        .dir(dir.path())
        .run()
        .fails(2);
    out.stderr_has("has no definition of type `rediss`; did you mean `redis`?");
    out.stderr_has("help: did you mean class `large`? no definition of type `redis` has class `larg`; its classes: default, large");
}

#[test]
fn one_typo_in_environments_yaml_is_one_error_and_no_cascade_of_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    copy_dir(&repo_root().join("examples/platform"), &platform);
    let environments = std::fs::read_to_string(platform.join("environments.yaml")).unwrap();
    std::fs::write(
        platform.join("environments.yaml"),
        environments.replacen("namespace:", "namesapce:", 1),
    )
    .unwrap();
    let out = Cli::new(["baseline", "validate"])
        .arg(&platform)
        .run()
        .fails(2);
    out.stderr_has("error: unknown field `namesapce`");
    out.stderr_has("did you mean `namespace`?");
    assert!(
        !out.stderr.contains("which no environment has") && !out.stderr.contains("warning"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("error:").count(), 2, "{}", out.stderr);
}

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Cli::new(["completions", shell]).run().success();
        out.stdout_has("scoreline");
        out.stdout_has("promote");
    }
    let bash = Cli::new(["completions", "bash"]).run().success().stdout;
    let checked = std::process::Command::new("bash")
        .args(["-n", "-c", &bash])
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    Cli::new(["completions", "tcsh"])
        .run()
        .fails(2)
        .stderr_has("possible values: bash");
}

#[test]
fn schemas_are_printed_by_name_as_embedded() {
    for (name, file) in [
        ("environments", "schemas/scoreline/environments.json"),
        (
            "resource-definition",
            "schemas/scoreline/resource-definition.json",
        ),
        ("workload-policy", "schemas/scoreline/workload-policy.json"),
        ("score", "schemas/score-v1b1.json"),
    ] {
        let out = Cli::new(["schema", name]).run().success();
        let printed: serde_json::Value = out.json();
        let wanted: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo_root().join(file)).unwrap())
                .unwrap();
        assert_eq!(printed, wanted, "{name}");
    }
    Cli::new(["schema", "environment"])
        .run()
        .fails(2)
        .stderr_has("environments");
}

#[test]
fn exported_files_point_editors_at_schemas_written_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    export_baseline(&platform);
    let mut checked = 0;
    for file in
        crate::support::files_below(&platform, &|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let content = std::fs::read_to_string(&file).unwrap();
        let first = content.lines().next().unwrap();
        let schema = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: {first}", file.display()));
        let target = file.parent().unwrap().join(schema);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert!(json["$id"].is_string(), "{}", target.display());
        checked += 1;
    }
    assert!(checked > 10, "{checked} files");
    // The example platform's files point at the repository's schemas.
    for file in crate::support::files_below(&repo_root().join("examples/platform"), &|p| {
        p.extension().is_some_and(|e| e == "yaml")
    }) {
        let content = std::fs::read_to_string(&file).unwrap();
        let schema = content
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
            .unwrap_or_else(|| panic!("{} names no schema", file.display()));
        assert!(
            file.parent().unwrap().join(schema).is_file(),
            "{}: {schema}",
            file.display()
        );
    }
}

#[test]
fn a_build_without_a_dockerfile_says_so_and_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = Cli::new(["build", "--context", ".", "--oci-layout", "out"])
        .dir(dir.path())
        .run()
        .fails(2);
    out.stderr_has("there is no Dockerfile in the build context .: name one with -f/--file");
    let out = Cli::new(["build", "-f", "nope/Dockerfile", "--oci-layout", "out"])
        .dir(dir.path())
        .run()
        .fails(2);
    out.stderr_has("the Dockerfile nope/Dockerfile (-f/--file) does not exist");
    assert!(!dir.path().join("out").exists());
}

/// Copies a folder's files (recursively).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for file in crate::support::files_below(from, &|_| true) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}
