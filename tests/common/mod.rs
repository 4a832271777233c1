//! Helpers shared by the integration tests: running the real binary as a user would.
#![allow(dead_code)]

pub mod git_server;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/anchors` beside the repository (present in CI and development checkouts).
pub fn anchors() -> PathBuf {
    repo_root().join("../shared/anchors")
}

/// The scoreline binary with a clean CI environment, so tests behave the same under CI.
pub fn scoreline() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scoreline"));
    for var in [
        "GITHUB_ACTIONS",
        "GITHUB_WORKSPACE",
        "GITLAB_CI",
        "JENKINS_URL",
        "BUILD_TAG",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(repo_root());
    cmd
}

/// Runs a command to completion, failing the test if it has not finished in `limit`:
/// hostile input must be refused, never hang.
pub fn run_with_limit(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scoreline starts");
    // Drained while it runs: a command printing more than a pipe holds would otherwise block.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("output is readable");
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr is piped")));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait works") {
            return Output {
                status,
                stdout: stdout.join().expect("stdout reader"),
                stderr: stderr.join().expect("stderr reader"),
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a helper server started as `child` to write its port to `port_file`.
pub fn port_from(child: &mut std::process::Child, port_file: &Path, what: &str) -> u16 {
    let started = Instant::now();
    while !port_file.exists() {
        assert!(child.try_wait().unwrap().is_none(), "{what} exited");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

pub fn run(cmd: &mut Command) -> Output {
    run_with_limit(cmd, Duration::from_secs(120))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file below `dir` whose name satisfies `keep`, sorted.
pub fn files_below(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if keep(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Writes `files` (path, content) under `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Every file of a folder (names relative to it) with its bytes, sorted by name.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = files_below(dir, &|_| true)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The rendered objects of a folder, parsed, by file name (kustomization.yaml excluded).
pub fn objects(dir: &Path) -> Vec<(String, serde_json::Value)> {
    snapshot(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".yaml") && name != "kustomization.yaml")
        .map(|(name, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            let docs = scoreline::yaml::parse(
                &scoreline::source::SourceFile::new(&name, text),
                Default::default(),
            )
            .unwrap();
            (name, docs[0].to_json())
        })
        .collect()
}

/// The one object of a kind and name.
pub fn object(dir: &Path, kind: &str, name: &str) -> serde_json::Value {
    objects(dir)
        .into_iter()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} {name} in {}: {:?}",
                dir.display(),
                objects(dir)
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
            )
        })
}

/// A Secret's values, decoded.
pub fn secret_values(secret: &serde_json::Value) -> Vec<(String, String)> {
    use base64::Engine;
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            (k.clone(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}

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
