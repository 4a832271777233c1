//! `scoreline validate` as users run it: the official samples, CI annotations, several files,
//! hostile input, and the help a newcomer reads.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{anchors, files_below, run, run_with_limit, scoreline, text};
use serde_json::Value;

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
        let out = run(scoreline().args(["validate", "--output", "json"]).arg(copy));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} failed:\n{}",
            copy.display(),
            text(&out.stderr)
        );
        let diagnostics: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(diagnostics.iter().all(|d| d["severity"] == "warning"));
        assert!(text(&out.stderr).contains(": OK (workload `"));
    }
}

#[test]
fn embedded_schema_is_the_official_one() {
    let official = std::fs::read_to_string(anchors().join("score/spec/score-v1b1.json")).unwrap();
    assert_eq!(scoreline::score::schema::SCORE_SCHEMA, official);
}

#[test]
fn errors_annotate_github_pull_requests() {
    let fixture = "tests/fixtures/invalid/unknown-container-field.yaml";
    let out = run(scoreline()
        .args(["validate", fixture])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", common::repo_root()));
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("::error file={fixture},line=7,col=5,title=scoreline::unknown field `imagee` in `containers.web`%0Ahelp: did you mean `image`?")),
        "{stdout}"
    );
}

#[test]
fn gitlab_logs_show_the_location_first_without_colour() {
    let fixture = "tests/fixtures/invalid/port-quoted.yaml";
    let out = run(scoreline()
        .args(["validate", fixture])
        .env("GITLAB_CI", "true"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{fixture}:8:13: error: ")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b') && !stderr.contains("::error"),
        "{stderr}"
    );
    assert!(stderr.contains("help: remove the quotes"), "{stderr}");
}

#[test]
fn several_files_are_checked_together() {
    let dir = tempfile::tempdir().unwrap();
    let workload = |name: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\n"
        )
    };
    std::fs::write(dir.path().join("a.yaml"), workload("api")).unwrap();
    std::fs::write(dir.path().join("b.yaml"), workload("worker")).unwrap();
    std::fs::write(dir.path().join("c.yaml"), workload("api")).unwrap();

    let ok = run(scoreline()
        .current_dir(dir.path())
        .args(["validate", "a.yaml", "-f", "b.yaml"]));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let stderr = text(&ok.stderr);
    assert!(
        stderr.contains("a.yaml: OK (workload `api`)")
            && stderr.contains("b.yaml: OK (workload `worker`)"),
        "{stderr}"
    );

    let clash = run(scoreline()
        .current_dir(dir.path())
        .args(["validate", "a.yaml", "b.yaml", "c.yaml"]));
    assert_eq!(clash.status.code(), Some(2));
    assert!(
        text(&clash.stderr)
            .contains("c.yaml:3:9: error: workload `api` is already defined in a.yaml"),
        "{}",
        text(&clash.stderr)
    );
}

#[test]
fn default_file_is_score_yaml_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run(scoreline().current_dir(dir.path()).arg("validate"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("score.yaml:1:1: error: cannot read file: no such file"),
        "{}",
        text(&missing.stderr)
    );

    std::fs::write(
        dir.path().join("score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  web:\n    image: .\n",
    )
    .unwrap();
    let out = run(scoreline()
        .current_dir(dir.path())
        .args(["validate", "--output", "json"]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).trim(), "[]");
    assert_eq!(text(&out.stderr).trim(), "score.yaml: OK (workload `app`)");
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

    for (file, message) in [
        (&huge, "larger than the 4 MiB limit"),
        (&deep, "nesting is deeper than 100 levels"),
    ] {
        let out = run_with_limit(
            scoreline().args(["validate"]).arg(file),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
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
        let out = run_with_limit(
            scoreline().args(["validate"]).arg(file),
            Duration::from_secs(60),
        );
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            &stderr[..stderr.len().min(2000)]
        );
        assert!(
            stderr.contains(message),
            "{}",
            &stderr[..stderr.len().min(2000)]
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
    let out = run(scoreline().arg("validate").arg(&score));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rendered = dir.path().join("out");
    let out = run(scoreline()
        .args(["render", "-f"])
        .arg(&score)
        .arg("--out")
        .arg(&rendered));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = std::fs::read_to_string(rendered.join("configmap-app-files.yaml")).unwrap();
    assert!(config.contains(literal), "{config}");
}

#[test]
fn help_and_version_speak_to_newcomers() {
    let version = run(scoreline().arg("--version"));
    assert_eq!(
        text(&version.stdout).trim(),
        format!("scoreline {}", env!("CARGO_PKG_VERSION"))
    );
    let help = run(scoreline().args(["validate", "--help"]));
    let help = text(&help.stdout);
    assert!(
        help.contains("Examples:")
            && help.contains("scoreline validate -f score.yaml --output json"),
        "{help}"
    );
    let usage = run(scoreline().args(["validate", "--output", "yaml"]));
    assert_eq!(usage.status.code(), Some(2), "usage errors exit 2");
}
