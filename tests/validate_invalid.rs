//! The table of malformed Score files: each fixture in tests/fixtures/invalid states, in
//! `# expect: [FILE:]LINE:COL [warning:] MESSAGE` header lines, every problem the CLI must
//! report (no more, no fewer errors), and `scoreline validate` must exit 2.

mod common;

use std::time::Duration;

use common::{expectations, files_below, repo_root, run_with_limit, scoreline, text, unmet};
use serde_json::Value;

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
        let out = run_with_limit(
            scoreline()
                .args(["validate", "--output", "json"])
                .arg(relative),
            Duration::from_secs(60),
        );
        let stderr = text(&out.stderr);
        if stderr.contains(&format!("{}: OK", relative.display())) {
            failures.push(format!("{}: reported OK\n{stderr}", relative.display()));
        }
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{}: exit {:?}, want 2\n{stderr}",
                relative.display(),
                out.status.code()
            ));
            continue;
        }
        let reported: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}): {}",
                relative.display(),
                text(&out.stdout)
            )
        });
        failures.extend(unmet(
            &relative.display().to_string(),
            &reported,
            &expected,
            |want| match &want.file {
                Some(f) => relative.parent().unwrap().join(f).display().to_string(),
                None => relative.display().to_string(),
            },
        ));
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
