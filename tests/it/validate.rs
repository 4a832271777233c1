//! `scoreline validate` as users run it: the official samples, the table of malformed files
//! (tests/fixtures/invalid: each fixture states, in `# expect: [FILE:]LINE:COL [warning:] MESSAGE`
//! header lines, every problem the CLI must report, no more and no fewer errors, and exit 2), CI
//! annotations, several files, hostile input, and the help a newcomer reads.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::expect::{check_report, expectations};
use crate::support::lib::SCORE_SCHEMA;
use crate::support::{Cli, anchors, files_below, repo_root};

/// Every Score workload under the anchors (not the provisioner files), copied beside any
/// `files.source` it names but does not ship.
#[test]
fn every_official_score_file_validates() {
    let score_files = files_below(&anchors().join("score"), &|p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.starts_with("score") && name.ends_with(".yaml") && !name.contains("provisioners")
    });
    assert!(
        score_files.len() >= 30,
        "found only {} anchor Score files",
        score_files.len()
    );
    let work = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for (i, file) in score_files.iter().enumerate() {
        let dir = work.path().join(i.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        for sibling in std::fs::read_dir(file.parent().unwrap()).unwrap() {
            let sibling = sibling.unwrap().path();
            if sibling.is_file() {
                std::fs::copy(&sibling, dir.join(sibling.file_name().unwrap())).unwrap();
            }
        }
        // score-full.yaml names `file.txt` without shipping it.
        if !dir.join("file.txt").exists() {
            std::fs::write(dir.join("file.txt"), "supplied by the test\n").unwrap();
        }
        copies.push(dir.join(file.file_name().unwrap()));
    }
    for copy in &copies {
        let out = Cli::new(["validate", "--output", "json"])
            .arg(copy)
            .run()
            .success();
        let diagnostics: Vec<Value> = out.json();
        assert!(diagnostics.iter().all(|d| d["severity"] == "warning"));
        assert!(out.stderr.contains(": OK (workload `"));
    }
}

#[test]
fn every_malformed_file_fails_with_exit_2_at_the_expected_locations() {
    let fixtures = files_below(&repo_root().join("tests/fixtures/invalid"), &|p| {
        p.extension().is_some_and(|e| e == "yaml")
    });
    assert!(
        fixtures.len() >= 30,
        "the table needs at least 30 cases, has {}",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let relative = fixture.strip_prefix(repo_root()).unwrap();
        let expected = expectations(&String::from_utf8_lossy(&std::fs::read(fixture).unwrap()));
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            relative.display()
        );
        let out = Cli::new(["validate", "--output", "json"])
            .arg(relative)
            .limit(Duration::from_secs(60))
            .run();
        if out.stderr.contains(&format!("{}: OK", relative.display())) {
            failures.push(format!(
                "{}: reported OK\n{}",
                relative.display(),
                out.stderr
            ));
        }
        let (reported, wrong) =
            check_report(relative, &out, 2, &expected, |want| match &want.file {
                Some(f) => relative.parent().unwrap().join(f).display().to_string(),
                None => relative.display().to_string(),
            });
        failures.extend(wrong);
        for d in &reported {
            assert!(
                d["help"].as_str().is_some_and(|h| !h.is_empty()),
                "{}: no help in {d}",
                relative.display()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn embedded_schema_is_the_official_one() {
    let official = std::fs::read_to_string(anchors().join("score/spec/score-v1b1.json")).unwrap();
    assert_eq!(SCORE_SCHEMA, official);
}

#[test]
fn errors_annotate_github_pull_requests() {
    let fixture = "tests/fixtures/invalid/unknown-container-field.yaml";
    let out = Cli::new(["validate", fixture])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", repo_root())
        .run()
        .fails(2);
    out.stdout_has(&format!("::error file={fixture},line=7,col=5,title=scoreline::unknown field `imagee` in `containers.web`%0Ahelp: did you mean `image`?"));
}

#[test]
fn gitlab_logs_show_the_location_first_without_colour() {
    let fixture = "tests/fixtures/invalid/port-quoted.yaml";
    let summary = tempfile::tempdir().unwrap();
    let summary = summary.path().join("summary.md");
    let out = Cli::new(["validate", fixture])
        .arg("--summary")
        .arg(&summary)
        .env("GITLAB_CI", "true")
        .run()
        .fails(2);
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(
        written.contains(&format!("| {fixture}:8:13 | error | ")),
        "{written}"
    );
    let stderr = &out.stderr;
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{fixture}:8:13: error: ")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b') && !stderr.contains("::error"),
        "{stderr}"
    );
    out.stderr_has("help: remove the quotes");
}

/// Colour is for people at a terminal: on a pseudo-terminal (`script`) `error:` and `help:` are
/// coloured; in GitLab's log (also on a terminal: its runners may attach one) and with NO_COLOR
/// the same problem is plain text, location first.
#[test]
fn colour_only_on_a_terminal_outside_ci_and_without_no_color() {
    let fixture = "tests/fixtures/invalid/port-quoted.yaml";
    let summaries = tempfile::tempdir().unwrap();
    let on_terminal = |var: Option<(&str, &str)>| {
        // Under GitLab the job summary goes to the working folder unless named.
        let cli = Cli::new(["validate", fixture])
            .arg("--summary")
            .arg(summaries.path().join("summary.md"));
        let cli = match var {
            Some((name, value)) => cli.env(name, value),
            None => cli,
        };
        cli.run_on_terminal().fails(2).stdout
    };
    let coloured = on_terminal(None);
    assert!(
        coloured.contains(&format!("{fixture}:8:13: \x1b[1;31merror:\x1b[0m "))
            && coloured.contains("\x1b[1;36mhelp:\x1b[0m remove the quotes"),
        "{coloured:?}"
    );
    for var in [("GITLAB_CI", "true"), ("CI", "true"), ("NO_COLOR", "1")] {
        let plain = on_terminal(Some(var));
        assert!(!plain.contains('\x1b'), "{var:?}: {plain:?}");
        assert!(
            plain.starts_with(&format!("{fixture}:8:13: error: "))
                && plain.contains("help: remove the quotes"),
            "{var:?}: {plain:?}"
        );
    }
}

/// a.yaml and b.yaml define workloads `api` and `worker`, c.yaml `api` again.
fn three_workload_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let workload = |name: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\n"
        )
    };
    std::fs::write(dir.path().join("a.yaml"), workload("api")).unwrap();
    std::fs::write(dir.path().join("b.yaml"), workload("worker")).unwrap();
    std::fs::write(dir.path().join("c.yaml"), workload("api")).unwrap();
    dir
}

#[test]
fn several_files_are_checked_together() {
    let dir = three_workload_files();
    let out = Cli::new(["validate", "a.yaml", "-f", "b.yaml"])
        .dir(dir.path())
        .run()
        .success();
    out.stderr_has("a.yaml: OK (workload `api`)")
        .stderr_has("b.yaml: OK (workload `worker`)");
}

#[test]
fn a_workload_defined_in_two_files_is_an_error_in_the_second() {
    let dir = three_workload_files();
    let clash = Cli::new(["validate", "a.yaml", "b.yaml", "c.yaml"])
        .dir(dir.path())
        .run()
        .fails(2);
    clash.stderr_has("c.yaml:3:9: error: workload `api` is already defined in a.yaml");
}

#[test]
fn without_a_file_a_missing_score_yaml_in_the_current_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Cli::new(["validate"]).dir(dir.path()).run().fails(2);
    missing.stderr_has("score.yaml:1:1: error: cannot read file: no such file");
}

#[test]
fn default_file_is_score_yaml_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  web:\n    image: .\n",
    )
    .unwrap();
    let out = Cli::new(["validate", "--output", "json"])
        .dir(dir.path())
        .run()
        .success();
    assert_eq!(out.stdout.trim(), "[]");
    assert_eq!(out.stderr.trim(), "score.yaml: OK (workload `app`)");
}

/// Runs `validate FILE` within `limit` and checks its exit code and that stderr says `message`
/// (shown cut to its first 2,000 characters: these files make long reports).
fn validate_quickly(file: &Path, limit: Duration, code: i32, message: &str) {
    let out = Cli::new(["validate"]).arg(file).limit(limit).run();
    let stderr = &out.stderr[..out.stderr.len().min(2000)];
    assert_eq!(out.code(), Some(code), "{}: {stderr}", file.display());
    assert!(out.stderr.contains(message), "{stderr}");
}

#[test]
fn hostile_sizes_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.yaml");
    let mut body = String::from(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  web:\n    image: nginx\n    variables:\n",
    );
    let mut i = 0;
    while body.len() <= 5 * 1024 * 1024 {
        body.push_str(&format!("      VAR_{i}: \"{}\"\n", "x".repeat(100)));
        i += 1;
    }
    std::fs::write(&huge, body).unwrap();
    let deep = dir.path().join("deep.yaml");
    // 5,000 nested block sequences on one line (`- - - … v`).
    std::fs::write(
        &deep,
        format!("apiVersion: score.dev/v1b1\nx:\n  {}v\n", "- ".repeat(5000)),
    )
    .unwrap();

    // A "billion laughs": 12 levels of ten aliases of the level below (10^12 nodes expanded).
    let bomb = dir.path().join("bomb.yaml");
    let mut text =
        String::from("apiVersion: score.dev/v1b1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let below = format!("*l{}", level - 1);
        text.push_str(&format!(
            "l{level}: &l{level} [{}]\n",
            vec![below; 10].join(", ")
        ));
    }
    std::fs::write(&bomb, text).unwrap();

    for (file, message) in [
        (&huge, "larger than the 4 MiB limit"),
        (&deep, "nesting is deeper than 100 levels"),
        (&bomb, "more than 1000000 nodes"),
    ] {
        validate_quickly(file, Duration::from_secs(30), 2, message);
    }
}

/// Files under the size limit that once cost time quadratic in their size: a value of ~1.3
/// million unclosed `$${`, 100,000 unknown fields (each error shows its line), and aliases
/// that copy one long string. Each must finish well inside the limit (a hang guard, not a
/// timing claim).
#[test]
fn large_files_under_the_limit_never_hang() {
    let dir = tempfile::tempdir().unwrap();
    let head = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  web:\n    image: nginx\n";
    let escapes = dir.path().join("escapes.yaml");
    std::fs::write(
        &escapes,
        format!(
            "{head}    variables:\n      A: \"{}\"\n",
            "$${".repeat(1_300_000)
        ),
    )
    .unwrap();
    let unknown = dir.path().join("unknown.yaml");
    let fields: String = (0..100_000).map(|i| format!("k{i}: 1\n")).collect();
    std::fs::write(&unknown, format!("{head}{fields}")).unwrap();
    let aliases = dir.path().join("aliases.yaml");
    std::fs::write(
        &aliases,
        format!(
            "{head}    args: [&a \"{}\", {}]\n",
            "x".repeat(1 << 20),
            vec!["*a"; 200].join(", ")
        ),
    )
    .unwrap();

    for (file, code, message) in [
        (&escapes, 0, "OK (workload `app`)"),
        (&unknown, 2, "7:1: error: unknown field `k0`"),
        (&aliases, 2, "more than 64 MiB of text"),
    ] {
        validate_quickly(file, Duration::from_secs(60), code, message);
    }
}

/// Many errors cost time in proportion to their number (a hang guard, not a timing claim:
/// `scripts/bench-validate` measures the growth), and only the first are shown, the rest
/// counted exactly. Each shape was once quadratic: 120,000 containers with an unknown field
/// each (3.3 MB), all unknown fields in one mapping on one line (each error showed the whole
/// line), many wrong placeholders in one value, and errors whose help listed every container or
/// resource.
#[test]
fn many_errors_are_reported_in_linear_time_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let head = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n";
    let web = format!("{head}  web:\n    image: nginx\n");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let shapes = [
        (
            write(
                "containers.yaml",
                format!(
                    "{head}{}",
                    (0..120_000)
                        .map(|i| format!("  c{i:06}: {{image: x, u: 1}}\n"))
                        .collect::<String>()
                ),
            ),
            120_000,
        ),
        (
            write(
                "one-line.yaml",
                format!(
                    "{{apiVersion: score.dev/v1b1, metadata: {{name: app}}, containers: {{web: {{image: nginx}}}}, {}}}\n",
                    (0..60_000)
                        .map(|i| format!("u{i}: 1"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            60_000,
        ),
        (
            write(
                "placeholders.yaml",
                format!(
                    "{web}    variables:\n      A: \"{}\"\n",
                    vec!["${resources.nope.x}"; 40_000].join(" ")
                ),
            ),
            40_000,
        ),
        (
            write(
                "before.yaml",
                format!(
                    "{head}{}",
                    (0..30_000)
                        .map(|i| format!(
                            "  c{i}:\n    image: x\n    before: {{nope{i}: {{ready: complete}}}}\n"
                        ))
                        .collect::<String>()
                ),
            ),
            30_000,
        ),
        (
            write(
                "resources.yaml",
                format!(
                    "{web}    variables:\n{}resources:\n{}",
                    (0..30_000)
                        .map(|i| format!("      V{i}: ${{resources.nope{i}.x}}\n"))
                        .collect::<String>(),
                    (0..30_000)
                        .map(|i| format!("  r{i}:\n    type: postgres\n"))
                        .collect::<String>()
                ),
            ),
            30_000,
        ),
    ];
    for (file, errors) in shapes {
        let out = Cli::new(["validate"])
            .arg(&file)
            .limit(Duration::from_secs(60))
            .run();
        let stderr = &out.stderr[..out.stderr.len().min(2000)];
        assert_eq!(out.code(), Some(2), "{}: {stderr}", file.display());
        let more = errors - 200;
        for wanted in [
            format!("and {more} more errors (only the first 200 are shown)"),
            format!("scoreline: error: {errors} errors found"),
        ] {
            assert!(
                out.stderr.contains(&wanted),
                "{}: no `{wanted}` in …{}",
                file.display(),
                &out.stderr[out.stderr.len().saturating_sub(2000)..]
            );
        }
        let shown = out
            .stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{}:", file.display())))
            .count();
        assert_eq!(shown, 200, "{}", file.display());
        assert!(
            out.stderr.len() < 200_000,
            "{}: {} bytes of output",
            file.display(),
            out.stderr.len()
        );
    }
}

/// `noExpand: true` content is not a template: text that would be a broken or unknown
/// placeholder elsewhere validates, and renders byte for byte.
#[test]
fn no_expand_files_are_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let literal = "cost: ${oops and ${resources.missing.x} and $${kept}";
    let score = dir.path().join("score.yaml");
    std::fs::write(
        &score,
        format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  web:\n    image: nginx\n    files:\n      /etc/app.txt:\n        content: '{literal}'\n        noExpand: true\n"),
    )
    .unwrap();
    Cli::new(["validate"]).arg(&score).run().success();
    let rendered = dir.path().join("out");
    Cli::new(["render", "-f"])
        .arg(&score)
        .arg("--out")
        .arg(&rendered)
        .run()
        .success();
    let config = std::fs::read_to_string(rendered.join("configmap-app-files.yaml")).unwrap();
    assert!(config.contains(literal), "{config}");
}

#[test]
fn version_names_the_package_version() {
    let version = Cli::new(["--version"]).run();
    assert_eq!(
        version.stdout.trim(),
        format!("scoreline {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_shows_examples() {
    let help = Cli::new(["validate", "--help"]).run().stdout;
    assert!(
        help.contains("Examples:")
            && help.contains("scoreline validate -f score.yaml --output json"),
        "{help}"
    );
}

#[test]
fn usage_errors_exit_2() {
    Cli::new(["validate", "--output", "yaml"]).run().fails(2);
}
