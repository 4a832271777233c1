//! The table of malformed Score files: each fixture in tests/fixtures/invalid states, in
//! `# expect: [FILE:]LINE:COL [warning:] MESSAGE` header lines, every problem the CLI must
//! report (no more, no fewer errors), and `scoreline validate` must exit 2.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{files_below, repo_root, run_with_limit, scoreline, text};
use serde_json::Value;

struct Expectation {
    file: Option<String>,
    line: u64,
    column: u64,
    warning: bool,
    message: String,
}

fn expectations(fixture: &Path) -> Vec<Expectation> {
    let raw = String::from_utf8_lossy(&std::fs::read(fixture).unwrap()).into_owned();
    raw.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|spec| {
            let (location, message) = spec.split_once(' ').expect("`LOCATION MESSAGE`");
            let mut parts: Vec<&str> = location.rsplitn(3, ':').collect();
            parts.reverse();
            let (file, line, column) = match parts.as_slice() {
                [line, column] => (None, line, column),
                [file, line, column] => (Some(file.to_string()), line, column),
                _ => panic!("bad location {location} in {}", fixture.display()),
            };
            let (warning, message) = match message.strip_prefix("warning: ") {
                Some(m) => (true, m),
                None => (false, message),
            };
            Expectation {
                file,
                line: line.parse().unwrap(),
                column: column.parse().unwrap(),
                warning,
                message: message.to_owned(),
            }
        })
        .collect()
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
        let expected = expectations(fixture);
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
        for want in &expected {
            let file = match &want.file {
                Some(f) => relative.parent().unwrap().join(f),
                None => relative.to_path_buf(),
            };
            let found = reported.iter().any(|d| {
                d["file"] == file.display().to_string()
                    && d["line"] == want.line
                    && d["column"] == want.column
                    && d["severity"] == if want.warning { "warning" } else { "error" }
                    && d["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(&want.message))
            });
            if !found {
                failures.push(format!(
                    "{}: missing {}:{}:{} `{}`; reported:\n{}",
                    relative.display(),
                    file.display(),
                    want.line,
                    want.column,
                    want.message,
                    serde_json::to_string_pretty(&reported).unwrap()
                ));
            }
        }
        let errors = reported.iter().filter(|d| d["severity"] == "error").count();
        let expected_errors = expected.iter().filter(|e| !e.warning).count();
        if errors != expected_errors {
            failures.push(format!(
                "{}: {errors} errors reported, {expected_errors} expected:\n{}",
                relative.display(),
                serde_json::to_string_pretty(&reported).unwrap()
            ));
        }
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
