//! Platform baselines as platform teams use them: `baseline validate` on the table of broken
//! baselines (tests/fixtures/baselines/<case>/, each file's `# expect: FILE:LINE:COL MESSAGE`
//! lines give every problem), `baseline export`, and broken baselines refused by `render`.

mod common;

use std::path::Path;

use common::{
    Expectation, expectations, files_below, repo_root, run, scoreline, text, unmet, write_files,
};
use serde_json::Value;

fn case_expectations(case: &Path) -> Vec<Expectation> {
    files_below(case, &|p| p.extension().is_some_and(|e| e == "yaml"))
        .iter()
        .flat_map(|file| expectations(&std::fs::read_to_string(file).unwrap()))
        .collect()
}

#[test]
fn every_broken_baseline_is_reported_at_the_expected_locations() {
    let root = repo_root().join("tests/fixtures/baselines");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let relative = case.strip_prefix(repo_root()).unwrap();
        let expected = case_expectations(case);
        assert!(
            !expected.is_empty(),
            "{} has no expectations",
            relative.display()
        );
        let out = run(scoreline()
            .args(["baseline", "validate", "--output", "json"])
            .arg(relative));
        let want_code = if expected.iter().any(|e| !e.warning) {
            2
        } else {
            0
        };
        if out.status.code() != Some(want_code) {
            failures.push(format!(
                "{}: exit {:?}, want {want_code}\n{}",
                relative.display(),
                out.status.code(),
                text(&out.stderr)
            ));
            continue;
        }
        let reported: Vec<Value> = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}: {}", relative.display(), text(&out.stdout)));
        failures.extend(unmet(
            &relative.display().to_string(),
            &reported,
            &expected,
            |want| {
                relative
                    .join(
                        want.file
                            .as_deref()
                            .expect("baseline expectations name their file"),
                    )
                    .display()
                    .to_string()
            },
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn render_refuses_a_broken_baseline_with_the_score_files_problems_too() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    imagee: nginx\n",
        )],
    );
    let platform = repo_root().join("tests/fixtures/baselines/template-syntax-error");
    let out = run(scoreline()
        .current_dir(dir.path())
        .args(["render", "--platform"])
        .arg(&platform));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("score.yaml:6:5: error: unknown field `imagee`"),
        "{stderr}"
    );
    assert!(stderr.contains("template-syntax-error/resources/pg.yaml:13:21: error: template `outputs` of definition `pg`: syntax error"), "{stderr}");
    assert!(!dir.path().join("manifests").exists());
}

#[test]
fn export_gives_a_baseline_that_validates_and_matches_the_embedded_one() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    let out = run(scoreline().args(["baseline", "export"]).arg(&platform));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        platform.join("environments.yaml").is_file()
            && platform.join("resources/postgres.yaml").is_file()
    );
    let validated = run(scoreline().args(["baseline", "validate"]).arg(&platform));
    assert_eq!(
        validated.status.code(),
        Some(0),
        "{}",
        text(&validated.stderr)
    );
    // Same files, same revision: a render with the export equals one with the embedded baseline.
    let render = |extra: &[&str], out: &Path| {
        let mut cmd = scoreline();
        cmd.args([
            "render",
            "-f",
            "examples/shop/score.yaml",
            "--image",
            "x:1",
            "--out",
        ])
        .arg(out)
        .args(extra);
        run(&mut cmd)
    };
    assert_eq!(render(&[], &dir.path().join("a")).status.code(), Some(0));
    assert_eq!(
        render(
            &["--platform", platform.to_str().unwrap()],
            &dir.path().join("b")
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        common::snapshot(&dir.path().join("a")),
        common::snapshot(&dir.path().join("b"))
    );

    let again = run(scoreline().args(["baseline", "export"]).arg(&platform));
    assert_eq!(again.status.code(), Some(2), "export never overwrites");
}

#[test]
fn the_example_platform_validates() {
    let out = run(scoreline().args(["baseline", "validate", "examples/platform"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("examples/platform: OK (3 environments,"),
        "{}",
        text(&out.stderr)
    );
}
