//! Running git in the tests' own repositories (not through scoreline). Each fails the test when
//! git fails.

use std::path::Path;
use std::process::Command;

use super::text;

/// `git ARGS…` in `dir` as `t <t@t>`, with no global configuration: its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `git -C DIR ARGS…` as `t <t@example.com>`, with author and commit time `time` (seconds since
/// the epoch): its stdout, trimmed.
pub fn git_dated(dir: &Path, time: u64, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_AUTHOR_DATE", format!("{time} +0000"))
        .env("GIT_COMMITTER_DATE", format!("{time} +0000"))
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// Commits everything in `dir` at `time` (see `git_dated`).
pub fn commit_all_at(dir: &Path, time: u64) {
    git_dated(dir, time, &["add", "."]);
    git_dated(dir, time, &["commit", "-qm", "change"]);
}

/// In `root`: a bare environment repository `env.git` (branch `main`) and an age key `age.key`
/// for SOPS; returns the key's public recipient (`age1…`).
pub fn environment_repository(root: &Path) -> String {
    git(
        root,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "env.git",
        ],
    );
    let keygen = Command::new("age-keygen")
        .arg("-o")
        .arg(root.join("age.key"))
        .output()
        .expect("age-keygen runs (apt-get install age)");
    let recipient = text(&keygen.stderr)
        .trim()
        .trim_start_matches("Public key: ")
        .to_owned();
    assert!(recipient.starts_with("age1"), "{}", text(&keygen.stderr));
    recipient
}
