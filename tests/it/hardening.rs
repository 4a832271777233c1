//! Hardening found by an adversarial review (issue 10), through the CLI: `cmd` programs get a
//! minimal environment, leak no secret into logs, resolve their paths once and stop at their
//! timeout; delivery folders never overlap; a baseline's symbolic links stay inside it; `--image`
//! follows the OCI reference grammar.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

use crate::support::{Cli, Outcome, write_files};

const ENVIRONMENTS: &str =
    "environments:\n  - name: dev\n    type: development\n    namespace: dev\n";

/// A workload whose `db` (postgres) reads the `token` resource's secret in its params.
const APP: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\n    variables:\n      HOST: ${resources.db.host}\nresources:\n  token:\n    type: api-token\n  db:\n    type: postgres\n    params:\n      token: ${resources.token.value}\n";

/// A static definition of `api-token` whose secret has characters JSON escapes (`"`, `\`).
const TOKEN: &str = "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: token\nspec:\n  type: api-token\n  driver: static\n  criteria: [{}]\n  secrets:\n    value: 'tok\"SECRET\\4711'\n";

/// A `cmd` definition of postgres with the given `spec` lines after the driver.
fn cmd_definition(spec: &str) -> String {
    format!(
        "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: provisioned\nspec:\n  type: postgres\n  driver: cmd\n  criteria: [{{}}]\n{spec}"
    )
}

/// score.yaml, platform/environments.yaml, the token definition, the postgres definition and
/// the program files (made executable).
fn cmd_project(definition: &str, programs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("score.yaml", APP),
            ("platform/environments.yaml", ENVIRONMENTS),
            ("platform/resources/token.yaml", TOKEN),
            ("platform/resources/pg.yaml", definition),
        ],
    );
    for (path, content) in programs {
        write_files(&dir.path().join("platform"), &[(path, content)]);
        let path = dir.path().join("platform").join(path);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn render(dir: &Path) -> Cli {
    Cli::new(["render", "--platform", "platform", "--env", "dev"])
        .dir(dir)
        .env_remove("SCORELINE_KEY")
}

/// `scoreline baseline validate platform` in `dir`.
fn validate(dir: &Path) -> Outcome {
    Cli::new(["baseline", "validate", "platform"])
        .dir(dir)
        .run()
}

/// The run failed with exit 2, saying `message` on stderr.
fn assert_refused(out: Outcome, message: &str) -> Outcome {
    let out = out.fails(2);
    out.stderr_has(message);
    out
}

const ANSWER: &str = r#"{"outputs": {"host": "db.internal"}}"#;

#[test]
fn cmd_programs_see_only_path_home_and_the_variables_their_definition_names() {
    let dump = tempfile::tempdir().unwrap();
    let file = dump.path().join("env.txt");
    let program = format!("#!/bin/sh\ncat >/dev/null\nenv > \"$1\"\necho '{ANSWER}'\n");
    let run_with = |spec: &str| {
        let dir = cmd_project(
            &cmd_definition(&format!(
                "  command: [sh, bin/provision.sh, {}]\n{spec}",
                file.display()
            )),
            &[("bin/provision.sh", &program)],
        );
        render(dir.path())
            .env("SCORELINE_KEY", "platform-key-SECRET-0123456789abcdef")
            .env("GIT_TOKEN", "git-token-SECRET")
            .env("CI_DEPLOY_PASSWORD", "ci-SECRET")
            .env("PROVISION_REGION", "eu-west-1")
            .env("LANG", "C.UTF-8")
            .run()
            .success();
        std::fs::read_to_string(&file).unwrap()
    };

    let env = run_with("");
    for leaked in [
        "SCORELINE_KEY",
        "GIT_TOKEN",
        "CI_DEPLOY_PASSWORD",
        "PROVISION_REGION",
    ] {
        assert!(
            !env.contains(leaked),
            "{leaked} reached the program:\n{env}"
        );
    }
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(env.lines().any(|l| l == "LANG=C.UTF-8"), "{env}");

    let env = run_with("  env: [PROVISION_REGION, NOT_SET_ANYWHERE]\n");
    assert!(
        env.lines().any(|l| l == "PROVISION_REGION=eu-west-1"),
        "{env}"
    );
    assert!(!env.contains("NOT_SET_ANYWHERE"), "{env}");
    assert!(
        !env.contains("SCORELINE_KEY") && !env.contains("GIT_TOKEN"),
        "{env}"
    );
}

#[test]
fn a_cmd_definition_cannot_be_given_the_platform_key() {
    let dir = cmd_project(
        &cmd_definition("  command: [sh, -c, \"echo\"]\n  env: [REGION, SCORELINE_KEY]\n"),
        &[],
    );
    assert_refused(
        validate(dir.path()),
        "platform/resources/pg.yaml:10:17: error: definition `provisioned` passes `SCORELINE_KEY`",
    );

    let listed_elsewhere = tempfile::tempdir().unwrap();
    write_files(
        listed_elsewhere.path(),
        &[
            ("platform/environments.yaml", ENVIRONMENTS),
            (
                "platform/resources/token.yaml",
                &TOKEN.replace("  secrets:", "  env: [REGION]\n  secrets:"),
            ),
        ],
    );
    assert_refused(
        validate(listed_elsewhere.path()),
        "platform/resources/token.yaml:",
    );
}

/// The program echoes everything it was given (the dependency's secret, JSON-escaped in its
/// input, and a variable passed through) to stderr, then fails; or answers with a secret as a
/// key. Under GitHub Actions the error becomes an annotation: no secret in any of it.
#[test]
fn a_failing_cmd_program_leaks_no_secret_into_logs_or_annotations() {
    const PROGRAM: &str = r#"#!/usr/bin/env python3
import json, os, sys
request = json.load(sys.stdin)
mode = sys.argv[1]
if mode == "fail":
    print("given " + json.dumps(request), file=sys.stderr)
    print("raw " + request["resource"]["params"]["token"], file=sys.stderr)
    print("api token " + os.environ["DEPLOY_API_TOKEN"], file=sys.stderr)
    print("quota exceeded", file=sys.stderr)
    sys.exit(3)
print(json.dumps({request["resource"]["params"]["token"]: 1, os.environ["DEPLOY_API_TOKEN"]: 2}))
"#;
    for mode in ["fail", "answer"] {
        let dir = cmd_project(
            &cmd_definition(&format!(
                "  command: [python3, bin/provision.py, {mode}]\n  env: [DEPLOY_API_TOKEN]\n"
            )),
            &[("bin/provision.py", PROGRAM)],
        );
        let out = render(dir.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", dir.path())
            .env("DEPLOY_API_TOKEN", "api-SECRET-0815")
            .run();
        let (stdout, stderr) = (&out.stdout, &out.stderr);
        assert_eq!(out.code(), Some(1), "{mode}: {stderr}");
        assert!(
            stdout.contains("::error file=platform/resources/pg.yaml"),
            "{mode}: {stdout}"
        );
        for shown in [stdout, stderr] {
            // `::add-mask::` lines are how the runner learns what to hide: they never show.
            let visible: Vec<&str> = shown
                .lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .collect();
            assert!(
                !visible.iter().any(|l| l.contains("SECRET")),
                "{mode}: a secret was shown:\n{shown}"
            );
        }
        if mode == "fail" {
            assert!(
                stderr.contains("quota exceeded") && stderr.contains("api token ••••••"),
                "{stderr}"
            );
            assert!(stdout.contains("quota exceeded"), "{stdout}");
        } else {
            assert!(stderr.contains("an unknown key"), "{stderr}");
        }
    }
}

#[test]
fn a_relative_cmd_program_runs_with_a_relative_platform_folder() {
    let program = format!("#!/bin/sh\ncat >/dev/null\necho '{ANSWER}'\n");
    for command in ["bin/provision.sh", "./bin/provision.sh"] {
        let dir = cmd_project(
            &cmd_definition(&format!("  command: [{command}]\n")),
            &[("bin/provision.sh", &program)],
        );
        for platform in ["platform", "./platform/"] {
            let out = Cli::new(["render", "--platform", platform, "--env", "dev"])
                .dir(dir.path())
                .run();
            assert_eq!(
                out.code(),
                Some(0),
                "{command} with --platform {platform}: {}",
                out.stderr
            );
        }
    }
}

/// A program that leaves a background process holding its stdout: the run still ends at the
/// timeout, and the whole process group is stopped.
#[test]
fn a_cmd_program_with_a_background_child_is_stopped_at_its_timeout() {
    for (mode, ending) in [("exits", "exit 0"), ("hangs", "sleep 30")] {
        let pids = tempfile::tempdir().unwrap();
        let pid_file = pids.path().join("pid");
        let program = format!(
            "#!/bin/sh\ncat >/dev/null\nsleep 30 &\necho $! > {}\necho '{ANSWER}'\n{ending}\n",
            pid_file.display()
        );
        let dir = cmd_project(
            &cmd_definition("  command: [sh, bin/provision.sh]\n  timeout: 2s\n"),
            &[("bin/provision.sh", &program)],
        );
        let out = render(dir.path()).limit(Duration::from_secs(15)).run();
        let stderr = &out.stderr;
        assert_eq!(out.code(), Some(1), "{mode}: {stderr}");
        assert!(stderr.contains("within 2s"), "{mode}: {stderr}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc = Path::new("/proc").join(pid.trim());
        let gone = (0..100).any(|_| {
            let alive =
                std::fs::read_to_string(proc.join("stat")).is_ok_and(|s| !s.contains(") Z "));
            if alive {
                std::thread::sleep(Duration::from_millis(50));
            }
            !alive
        });
        assert!(
            gone,
            "{mode}: the background `sleep` {} still runs",
            pid.trim()
        );
    }
}

/// environments.yaml holding `staging` (given) and `production` (given), for delivery checks.
fn validate_environments(environments: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("platform/environments.yaml", environments)]);
    validate(dir.path())
}

fn two_environments(first: &str, second: &str) -> String {
    format!(
        "environments:\n  - name: staging\n    type: staging\n    namespace: staging\n    delivery: {first}\n  - name: production\n    type: production\n    namespace: production\n    delivery: {second}\n"
    )
}

#[test]
fn overlapping_delivery_folders_are_refused() {
    let cases = [
        (
            "the same repository (spelled differently) and path",
            r#"{ kind: git, repo: "https://github.com/acme/env.git", path: "apps/{app}" }"#,
            r#"{ kind: git, repo: "https://github.com/acme/env/", branch: main, path: "apps/{app}" }"#,
        ),
        (
            "one folder inside another's (for app `production`)",
            r#"{ kind: git, repo: ../env.git, path: "envs/{app}" }"#,
            r#"{ kind: git, repo: ../env.git, path: "envs/production/{app}" }"#,
        ),
        (
            "an environment name inside another's app folder",
            r#"{ kind: git, repo: ../env.git, path: "{app}/current" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{env}/current/{app}" }"#,
        ),
        (
            "local folders",
            r#"{ kind: dir, path: "out/{app}" }"#,
            r#"{ kind: dir, path: "out/{env}/{app}" }"#,
        ),
    ];
    for (case, first, second) in cases {
        println!("{case}");
        assert_refused(
            validate_environments(&two_environments(first, second)),
            "platform/environments.yaml:9:15: error: the delivery of environment `production` overlaps that of environment `staging`",
        );
    }

    // A preview pattern's instances nest inside staging's folders (app `pr-1`).
    let preview = format!(
        "{}  - name: pr-{{n}}\n    type: preview\n    namespace: pr-{{n}}\n    delivery: {{ kind: git, repo: ../env.git, path: \"previews/{{env}}/{{app}}\" }}\n",
        two_environments(
            r#"{ kind: git, repo: ../env.git, path: "previews/{app}" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{env}/{app}" }"#,
        )
    );
    let out = assert_refused(
        validate_environments(&preview),
        "platform/environments.yaml:13:15: error: the delivery of environment `pr-{n}` overlaps that of environment `staging`",
    );
    assert!(!out.stderr.contains("`production`"));
}

#[test]
fn separate_delivery_folders_are_accepted() {
    let previews_elsewhere =
        r#"{ kind: git, repo: ../env.git, branch: previews, path: "{env}/{app}" }"#;
    let cases = [
        (
            r#"{ kind: git, repo: ../env.git, path: "{env}/{app}" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{env}/{app}" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{env}/{app}" }"#,
        ),
        (
            r#"{ kind: git, repo: ../env.git, branch: staging, path: "{app}" }"#,
            r#"{ kind: git, repo: ../env.git, branch: production, path: "{app}" }"#,
            previews_elsewhere,
        ),
        (
            r#"{ kind: git, repo: ../env.git, path: "{app}/staging" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{app}/production" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{app}/previews/{env}" }"#,
        ),
        (
            r#"{ kind: git, repo: ../env.git, path: "apps/{app}" }"#,
            r#"{ kind: dir, path: "apps/{app}" }"#,
            previews_elsewhere,
        ),
        (
            r#"{ kind: git, repo: ../staging.git, path: "{app}" }"#,
            r#"{ kind: git, repo: ../production.git, path: "{app}" }"#,
            r#"{ kind: git, repo: ../env.git, path: "{app}-{env}" }"#,
        ),
    ];
    for (first, second, preview) in cases {
        let with_preview = format!(
            "{}  - name: pr-{{n}}\n    type: preview\n    namespace: pr-{{n}}\n    delivery: {preview}\n",
            two_environments(first, second)
        );
        let out = validate_environments(&with_preview);
        assert_eq!(
            out.code(),
            Some(0),
            "{first} {second} {preview}: {}",
            out.stderr
        );
    }
}

#[test]
fn delivery_paths_that_leave_their_folder_or_enter_git_are_refused() {
    for path in [
        ".git/{app}",
        "envs/.git/hooks/{app}",
        "/srv/{env}/{app}",
        "../{env}/{app}",
        "envs/../../{app}",
        "envs//{app}",
    ] {
        let out = validate_environments(&two_environments(
            &format!(r#"{{ kind: git, repo: ../env.git, path: "{path}" }}"#),
            r#"{ kind: git, repo: ../env.git, path: "{env}/{app}" }"#,
        ));
        assert_refused(
            out,
            &format!(
                "platform/environments.yaml:5:52: error: delivery path `{path}` of environment `staging`"
            ),
        );
    }
}

#[test]
fn symlinks_that_leave_the_baseline_folder_are_refused() {
    const DEFINITION: &str = "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: outside\nspec:\n  type: postgres\n  driver: static\n  criteria: [{}]\n  outputs:\n    host: TOP-SECRET-CONTENT\n";
    type Setup = fn(&Path);
    let setups: [(&str, Setup); 4] = [
        ("platform/resources/outside.yaml:1:1: error:", |dir| {
            symlink(
                dir.join("elsewhere/pg.yaml"),
                dir.join("platform/resources/outside.yaml"),
            )
            .unwrap()
        }),
        ("platform/resources/shared:1:1: error:", |dir| {
            symlink("../../elsewhere", dir.join("platform/resources/shared")).unwrap()
        }),
        ("platform/workload-policy.yaml:1:1: error:", |dir| {
            symlink(
                "../elsewhere/pg.yaml",
                dir.join("platform/workload-policy.yaml"),
            )
            .unwrap()
        }),
        ("runs `bin/provision`,", |dir| {
            std::fs::create_dir_all(dir.join("platform/bin")).unwrap();
            symlink("/bin/sh", dir.join("platform/bin/provision")).unwrap();
            write_files(
                dir,
                &[(
                    "platform/resources/cmd.yaml",
                    &cmd_definition("  command: [bin/provision]\n"),
                )],
            );
        }),
    ];
    for (link, setup) in setups {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("platform/environments.yaml", ENVIRONMENTS),
                ("platform/resources/token.yaml", TOKEN),
                ("elsewhere/pg.yaml", DEFINITION),
            ],
        );
        setup(dir.path());
        let out = assert_refused(
            validate(dir.path()),
            &format!("{link} a symbolic link out of the baseline folder"),
        );
        assert!(!out.stderr.contains("TOP-SECRET-CONTENT"), "{link}");
    }

    // Links that stay inside the folder are fine.
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("platform/environments.yaml", ENVIRONMENTS),
            ("platform/definitions/token.yaml", TOKEN),
        ],
    );
    symlink("definitions", dir.path().join("platform/resources")).unwrap();
    validate(dir.path()).success();
}

const DIGEST: &str = "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904a1b2c3d4e5f60718293a4b5c";

#[test]
fn malformed_image_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n",
        )],
    );
    let render = |image: &str| {
        Cli::new(["render", "--out", "out", &format!("--image={image}")])
            .dir(dir.path())
            .run()
    };
    let short = format!("shop@{}", &DIGEST[..40]);
    let upper = format!("shop@{}", DIGEST.to_uppercase().replace("SHA256", "sha256"));
    for (image, why) in [
        (short.as_str(), "a sha256 digest has 64 hex digits"),
        (upper.as_str(), "lowercase"),
        ("web=@sha256:abc", "no repository"),
        ("shop:bad:tag", "tag `bad:tag`"),
        ("GHCR.io/Acme/Shop:1", "repository names must be lowercase"),
        ("shop@md5:x", "digest algorithm `md5`"),
        ("shop:", "empty tag"),
        ("ghcr.io/acme//shop:1", "path component"),
        ("-shop:1", "path component"),
    ] {
        let out = assert_refused(render(image), &format!("--image `{image}`: "));
        assert!(out.stderr.contains(why), "{image}: {why}");
    }
    for image in [
        format!("ghcr.io/acme/shop@{DIGEST}"),
        format!("web=localhost:5000/acme/shop:1.4.2@{DIGEST}"),
        "shop".to_owned(),
        "registry.example/team/my_app__x-y.z:v1.0-rc_1".to_owned(),
        "web=GHCR.io/acme/shop:1".to_owned(),
    ] {
        let out = render(&image);
        assert_eq!(out.code(), Some(0), "{image}: {}", out.stderr);
    }
}
