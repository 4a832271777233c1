//! Platform baselines as platform teams use them: `baseline validate` on the table of broken
//! baselines (tests/fixtures/baselines/<case>/, each file's `# expect: FILE:LINE:COL MESSAGE`
//! lines give every problem), `baseline export`, and broken baselines refused by `render`.

use std::path::Path;

use crate::support::expect::{Expectation, check_report, expectations};
use crate::support::{Cli, export_baseline, files_below, repo_root, snapshot, write_files};

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
        let out = Cli::new(["baseline", "validate", "--output", "json"])
            .arg(relative)
            .run();
        let want_code = if expected.iter().any(|e| !e.warning) {
            2
        } else {
            0
        };
        let (_, wrong) = check_report(relative, &out, want_code, &expected, |want| {
            relative
                .join(
                    want.file
                        .as_deref()
                        .expect("baseline expectations name their file"),
                )
                .display()
                .to_string()
        });
        failures.extend(wrong);
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
    let out = Cli::new(["render", "--platform"])
        .arg(&platform)
        .dir(dir.path())
        .run()
        .fails(2);
    out.stderr_has("score.yaml:6:5: error: unknown field `imagee`");
    out.stderr_has("template-syntax-error/resources/pg.yaml:13:21: error: template `outputs` of definition `pg`: syntax error");
    assert!(!dir.path().join("manifests").exists());
}

/// `baseline export` into `platform` of a new temporary folder.
fn exported() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    export_baseline(&platform);
    (dir, platform)
}

#[test]
fn export_gives_a_baseline_that_validates_and_matches_the_embedded_one() {
    let (dir, platform) = exported();
    assert!(
        platform.join("environments.yaml").is_file()
            && platform.join("resources/postgres.yaml").is_file()
    );
    Cli::new(["baseline", "validate"])
        .arg(&platform)
        .run()
        .success();
    // Same files, same revision: a render with the export equals one with the embedded baseline.
    let render = |extra: &[&str], out: &Path| {
        Cli::new([
            "render",
            "-f",
            "examples/shop/score.yaml",
            "--image",
            "x:1",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .run()
        .success()
    };
    render(&[], &dir.path().join("a"));
    render(
        &["--platform", platform.to_str().unwrap()],
        &dir.path().join("b"),
    );
    assert_eq!(
        snapshot(&dir.path().join("a")),
        snapshot(&dir.path().join("b"))
    );
}

/// Neither an earlier export the platform team has since edited, nor a folder holding anything
/// else, is touched: every file stays byte for byte, and none is added.
#[test]
fn export_never_overwrites() {
    let (_dir, platform) = exported();
    let edited = files_below(&platform, &|p| p.extension().is_some_and(|e| e == "yaml"))[0].clone();
    let mut text = std::fs::read(&edited).unwrap();
    text.extend_from_slice(b"# edited by the platform team\n");
    std::fs::write(&edited, text).unwrap();
    let other = tempfile::tempdir().unwrap();
    write_files(other.path(), &[("environments.yaml", "mine\n")]);
    for folder in [platform.as_path(), other.path()] {
        let before = snapshot(folder);
        Cli::new(["baseline", "export"])
            .arg(folder)
            .run()
            .fails(2)
            .stderr_has(&folder.display().to_string());
        assert!(snapshot(folder) == before, "{} changed", folder.display());
    }
}

#[test]
fn the_example_platform_validates() {
    let out = Cli::new(["baseline", "validate", "examples/platform"])
        .run()
        .success();
    out.stderr_has("examples/platform: OK (4 environments,");
}

#[test]
fn export_as_json_lists_the_files_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("platform");
    let out: serde_json::Value = Cli::new(["baseline", "export", "--output", "json"])
        .arg(&folder)
        .run()
        .success()
        .json();
    let listed: Vec<String> = out["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    let mut written: Vec<String> = snapshot(&folder)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    written.sort();
    let mut relative: Vec<String> = listed
        .iter()
        .map(|f| {
            f.strip_prefix(&format!("{}/", folder.display()))
                .unwrap_or(f)
                .to_owned()
        })
        .collect();
    relative.sort();
    assert!(written.len() > 3, "{written:?}");
    assert_eq!(relative, written, "{out:#}");
}
