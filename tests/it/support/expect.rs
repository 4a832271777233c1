//! The `# expect:` lines of the fixtures (tests/fixtures/invalid/*.yaml, tests/fixtures/baselines/*/)
//! and what a JSON diagnostics report lacks against them.

/// One `# expect: [FILE:]LINE:COL [warning: ]MESSAGE` line of a fixture: a problem the CLI must
/// report (`file` is relative to the fixture's folder; none means the fixture itself).
pub struct Expectation {
    pub file: Option<String>,
    pub line: u64,
    pub column: u64,
    pub warning: bool,
    pub message: String,
}

pub fn expectations(text: &str) -> Vec<Expectation> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|spec| {
            let (location, message) = spec.split_once(' ').expect("`LOCATION MESSAGE`");
            let mut parts: Vec<&str> = location.rsplitn(3, ':').collect();
            parts.reverse();
            let (file, line, column) = match parts.as_slice() {
                [line, column] => (None, *line, *column),
                [file, line, column] => (Some((*file).to_owned()), *line, *column),
                _ => panic!("bad location {location}"),
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

/// What is wrong with a JSON diagnostics report against the expectations: each one missing
/// (`file_of` names the file it is in), and a count of errors other than expected.
pub fn unmet(
    label: &str,
    reported: &[serde_json::Value],
    expected: &[Expectation],
    file_of: impl Fn(&Expectation) -> String,
) -> Vec<String> {
    let mut failures = Vec::new();
    let shown = || serde_json::to_string_pretty(reported).unwrap();
    for want in expected {
        let file = file_of(want);
        let found = reported.iter().any(|d| {
            d["file"] == file
                && d["line"] == want.line
                && d["column"] == want.column
                && d["severity"] == if want.warning { "warning" } else { "error" }
                && d["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&want.message))
        });
        if !found {
            failures.push(format!(
                "{label}: missing {file}:{}:{} `{}`; reported:\n{}",
                want.line,
                want.column,
                want.message,
                shown()
            ));
        }
    }
    let errors = reported.iter().filter(|d| d["severity"] == "error").count();
    let want_errors = expected.iter().filter(|e| !e.warning).count();
    if errors != want_errors {
        failures.push(format!(
            "{label}: {errors} errors reported, {want_errors} expected:\n{}",
            shown()
        ));
    }
    failures
}

/// A run of `validate --output json` (or `baseline validate`) on the fixture at `relative`
/// checked: its report (none when it exited other than `code`) and what is wrong with it, the
/// exit code or the report against `expected` (see `unmet`).
pub fn check_report(
    relative: &std::path::Path,
    out: &crate::support::Outcome,
    code: i32,
    expected: &[Expectation],
    file_of: impl Fn(&Expectation) -> String,
) -> (Vec<serde_json::Value>, Vec<String>) {
    if out.code() != Some(code) {
        let wrong = format!(
            "{}: exit {:?}, want {code}\n{}",
            relative.display(),
            out.code(),
            out.stderr
        );
        return (Vec::new(), vec![wrong]);
    }
    let reported: Vec<serde_json::Value> = out.json();
    let failures = unmet(
        &relative.display().to_string(),
        &reported,
        expected,
        file_of,
    );
    (reported, failures)
}
