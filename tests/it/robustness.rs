//! Inputs and leftovers that once hung or piled up (issue 10): input paths that are not regular
//! files (a FIFO, a folder, a device), and the temporary folders of killed runs.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{Cli, Outcome, write_files};

const APP: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\n";

/// Makes a named pipe at `path` (nothing ever writes to it: opening it to read would block).
fn fifo(path: &Path) {
    let out = Command::new("mkfifo").arg(path).output().unwrap();
    assert!(out.status.success(), "mkfifo: {out:?}");
}

/// The run was refused quickly with exit 2, naming `path` and what it is.
fn refused(out: Outcome, path: &str, kind: &str) {
    out.fails(2)
        .stderr_has(&format!(
            "{path}:1:1: error: cannot read file: it is {kind}"
        ))
        .stderr_has("not a regular file");
}

#[test]
fn score_files_that_are_not_regular_files_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    fifo(&dir.path().join("pipe.yaml"));
    std::fs::create_dir(dir.path().join("folder.yaml")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("pipe.yaml"), dir.path().join("link.yaml")).unwrap();
    let limit = Duration::from_secs(20);
    for (args, path, kind) in [
        (vec!["validate", "pipe.yaml"], "pipe.yaml", "a named pipe"),
        (vec!["validate", "link.yaml"], "link.yaml", "a named pipe"),
        (
            vec!["render", "-f", "pipe.yaml"],
            "pipe.yaml",
            "a named pipe",
        ),
        (
            vec!["validate", "folder.yaml"],
            "folder.yaml",
            "a directory",
        ),
        (vec!["validate", "/dev/zero"], "/dev/zero", "a device"),
        (vec!["deploy", "-f", "/dev/zero"], "/dev/zero", "a device"),
    ] {
        refused(
            Cli::new(args).dir(dir.path()).limit(limit).run(),
            path,
            kind,
        );
    }
}

#[test]
fn baseline_files_that_are_not_regular_files_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("score.yaml", APP),
            (
                "platform/environments.yaml",
                "environments:\n  - name: dev\n    type: development\n    namespace: dev\n",
            ),
        ],
    );
    std::fs::create_dir(dir.path().join("platform/resources")).unwrap();
    fifo(&dir.path().join("platform/resources/pipe.yaml"));
    for args in [
        ["render", "--platform", "platform"],
        ["baseline", "validate", "platform"],
    ] {
        refused(
            Cli::new(args)
                .dir(dir.path())
                .limit(Duration::from_secs(20))
                .run(),
            "platform/resources/pipe.yaml",
            "a named pipe",
        );
    }
}

/// A process id that ran and is gone.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// The inode of this process's pid namespace, as scoreline tags its temporary folders with it.
fn namespace() -> String {
    let link = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let link = link.to_string_lossy();
    link.trim_start_matches("pid:[")
        .trim_end_matches(']')
        .to_owned()
}

/// Makes folders named `prefix{pid}-{namespace}-{suffix}` in `dir`, each holding a file: for a
/// run that is over (a dead pid) and one still running (this test's own process).
fn leftovers(dir: &Path, prefix: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let ns = namespace();
    let dead = dir.join(format!("{prefix}{}-{ns}-1", dead_pid()));
    let live = dir.join(format!("{prefix}{}-{ns}-2", std::process::id()));
    for folder in [&dead, &live] {
        write_files(folder, &[("half-written.yaml", "kind: x\n")]);
    }
    (dead, live)
}

/// A render (or local deploy) killed between writing its output beside the old one and swapping
/// them in leaves `.NAME.new-…`/`.NAME.old-…` folders: the next run removes those of runs that
/// are over and keeps those of runs still going.
#[test]
fn folders_killed_renders_left_beside_the_output_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("score.yaml", APP)]);
    let (new_dead, new_live) = leftovers(dir.path(), ".manifests.new-");
    let (old_dead, old_live) = leftovers(dir.path(), ".manifests.old-");
    Cli::new(["render"]).dir(dir.path()).run().success();
    assert!(dir.path().join("manifests/deployment-app.yaml").is_file());
    assert!(!new_dead.exists() && !old_dead.exists(), "removed");
    assert!(new_live.exists() && old_live.exists(), "kept");
}

/// A deploy killed while it works in its clone of the environment repository leaves the clone
/// in the temp folder: the next deploy removes the clones of runs that are over.
#[test]
fn clones_killed_deploys_left_in_the_temp_folder_are_removed() {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    let uid = std::fs::metadata(dir.path()).unwrap().uid();
    let temp = dir.path().join("tmp");
    let own = temp.join(format!("scoreline-{uid}"));
    std::fs::create_dir(&temp).unwrap();
    std::fs::DirBuilder::new().mode(0o700).create(&own).unwrap();
    let (dead, live) = leftovers(&own, "env-");
    let repo = dir.path().join("env.git");
    crate::support::git::git(
        dir.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "env.git",
        ],
    );
    write_files(
        dir.path(),
        &[
            ("score.yaml", APP),
            (
                "platform/environments.yaml",
                &format!(
                    "environments:\n  - name: dev\n    type: development\n    namespace: dev\n    delivery: {{ kind: git, repo: {}, path: \"{{env}}/{{app}}\" }}\n",
                    repo.display()
                ),
            ),
        ],
    );
    Cli::new(["deploy", "--platform", "platform"])
        .dir(dir.path())
        .env("TMPDIR", &temp)
        .run()
        .success();
    assert!(!dead.exists(), "removed");
    assert!(live.exists(), "kept");
    let left: Vec<String> = std::fs::read_dir(&own)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "the deploy's own clone is gone too: {left:?}"
    );
}
