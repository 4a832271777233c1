//! Helpers shared by the integration tests: running the real binary as a user would.
#![allow(dead_code)]

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
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return child.wait_with_output().expect("output is readable");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
