//! The output folder: byte-identical renders, atomic replacement, folders that are not
//! scoreline's, and the JSON summary.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{SHOP, render};
use crate::support::{Cli, Outcome, snapshot, write_files};

#[test]
fn two_renders_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        render(
            out,
            &[SHOP],
            &["--image", "web=ghcr.io/acme/shop@sha256:0000000000000000000000000000000000000000000000000000000000000000"],
        )
        .run()
        .success();
    }
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert!(sa.len() > 5);
    assert_eq!(sa, sb);
}

#[test]
fn a_failed_render_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    render(&out, &[SHOP], &["--image", "web=ghcr.io/acme/shop:1"])
        .run()
        .success();
    let before = snapshot(&out);
    // An output the definition does not provide fails at render time, after resolving.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx\n    variables:\n      DB: ${resources.db.hots}\nresources:\n  db:\n    type: postgres\n").unwrap();
    let failed = render(&out, &[&broken], &[]).run().fails(2);
    failed.stderr_has("broken.yaml:8:11: error: ${resources.db.hots}: resource `db` (postgres, definition `postgres-in-cluster`) has no such output");
    failed.stderr_has("its outputs: host, port, name, database, username, password");
    assert_eq!(snapshot(&out), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left behind: {leftovers:?}"
    );
}

/// The entries of `dir` that start with a dot: the temporary folders a render works in.
fn dot_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// The files below `dir` as text (readable when an assertion shows them).
fn files(dir: &Path) -> Vec<(String, String)> {
    snapshot(dir)
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8_lossy(&bytes).into_owned()))
        .collect()
}

/// `render --out OUT` of the shop with image `x:TAG`, with a platform key (no warning written).
fn shop(out: &Path, tag: &str) -> Cli {
    render(out, &[SHOP], &["--image", &format!("web=x:{tag}")])
        .env("SCORELINE_KEY", "0123456789abcdef0123456789abcdef")
}

/// A folder with `manifests` rendered with image `x:1`, and what `x:1` and `x:2` render to.
struct Outputs {
    dir: tempfile::TempDir,
    out: PathBuf,
    before: Vec<(String, String)>,
    after: Vec<(String, String)>,
}

fn outputs() -> Outputs {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    let elsewhere = dir.path().join("elsewhere");
    shop(&elsewhere, "2").run().success();
    let after = files(&elsewhere);
    std::fs::remove_dir_all(&elsewhere).unwrap();
    shop(&out, "1").run().success();
    let before = files(&out);
    assert_ne!(before, after);
    Outputs {
        dir,
        out,
        before,
        after,
    }
}

/// `strace` fault injection (`-e inject=SYSCALLS:…`): the real binary, stopped or failed at a
/// real system call, with no hook of its own.
fn strace(injections: &[&str]) -> Vec<String> {
    let mut args = vec![
        "strace".to_owned(),
        "-qq".into(),
        "-o".into(),
        "/dev/null".into(),
    ];
    for injection in injections {
        args.extend(["-e".into(), format!("inject={injection}")]);
    }
    args
}

/// A 1 KiB file-size limit: writing the 1.8 KiB Deployment into the new folder stops midway,
/// with SIGXFSZ (which kills) or, with it ignored, EFBIG (a failed write).
fn file_size_limit(ignore_signal: bool) -> Vec<&'static str> {
    let script = if ignore_signal {
        r#"trap "" XFSZ; ulimit -f 1; exec "$@""#
    } else {
        r#"ulimit -f 1; exec "$@""#
    };
    vec!["sh", "-c", script, "sh"]
}

fn killed_by(outcome: &Outcome, signal: i32) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        outcome.status.signal(),
        Some(signal),
        "{}\n{}",
        outcome.status,
        outcome.stderr
    );
}

#[test]
fn a_write_that_fails_leaves_the_previous_output_and_no_temporary_folder() {
    let o = outputs();
    let failed = shop(&o.out, "2")
        .run_through(file_size_limit(true))
        .fails(1);
    failed.stderr_has("/.manifests.new-");
    failed.stderr_has("deployment-shop.yaml: File too large");
    assert_eq!(files(&o.out), o.before);
    assert_eq!(dot_entries(o.dir.path()), Vec::<String>::new());
}

#[test]
fn a_run_killed_while_writing_leaves_the_previous_output_and_the_next_run_sweeps_what_it_left() {
    let o = outputs();
    let killed = shop(&o.out, "2").run_through(file_size_limit(false));
    killed_by(&killed, libc::SIGXFSZ);
    assert_eq!(files(&o.out), o.before);
    let left = dot_entries(o.dir.path());
    assert!(
        left.len() == 1 && left[0].starts_with(".manifests.new-"),
        "{left:?}"
    );
    shop(&o.out, "2").run().success();
    assert_eq!(files(&o.out), o.after);
    assert_eq!(dot_entries(o.dir.path()), Vec::<String>::new());
}

/// Killed at each rename in turn (the first, then the second, … until a run gets through), the
/// output folder is always there and always whole: the previous render or the new one.
#[test]
fn a_run_killed_at_any_rename_leaves_a_whole_output() {
    let o = outputs();
    let mut kills = 0;
    loop {
        let injection = format!("/^rename:signal=KILL:when={}", kills + 1);
        let run = shop(&o.out, "2").run_through(strace(&[&injection]));
        if run.code() == Some(0) {
            break;
        }
        killed_by(&run, libc::SIGKILL);
        kills += 1;
        assert!(
            o.out.is_dir(),
            "killed at rename {kills}, the run left no output"
        );
        let now = files(&o.out);
        assert!(
            now == o.before || now == o.after,
            "after a kill at rename {kills} the output is neither render: {:?}",
            now.iter().map(|(name, _)| name).collect::<Vec<_>>()
        );
        assert!(kills < 5, "killed at every rename so far");
    }
    assert!(kills >= 1, "a render renames at least once");
    assert_eq!(files(&o.out), o.after);
    assert_eq!(dot_entries(o.dir.path()), Vec::<String>::new());
}

/// The first file a render removes is one of the previous output, which the swap left under
/// the temporary name: killed there, the new output is in place, whole, and the next run
/// removes the previous one.
#[test]
fn a_run_killed_after_the_swap_leaves_the_new_output_and_the_next_run_sweeps_the_previous() {
    let o = outputs();
    let killed = shop(&o.out, "2").run_through(strace(&["unlinkat:signal=KILL:when=1"]));
    killed_by(&killed, libc::SIGKILL);
    assert_eq!(files(&o.out), o.after);
    let left = dot_entries(o.dir.path());
    assert!(
        left.len() == 1 && left[0].starts_with(".manifests.new-"),
        "{left:?}"
    );
    assert_eq!(files(&o.dir.path().join(&left[0])), o.before);
    shop(&o.out, "3").run().success();
    assert_eq!(dot_entries(o.dir.path()), Vec::<String>::new());
}

/// Where names cannot be exchanged (the filesystem answers EINVAL), the output is swapped with
/// two renames; a run killed between them leaves no output, and the next run that writes puts
/// the previous one back first, even when its own write then fails. (x86_64: `rename` is a system call of its own
/// there, apart from the exchange's `renameat2`.)
#[cfg(target_arch = "x86_64")]
#[test]
fn without_an_exchange_two_renames_and_the_next_run_puts_back_what_a_kill_between_them_moved() {
    let o = outputs();
    shop(&o.out, "2")
        .run_through(strace(&["renameat2:error=EINVAL"]))
        .success();
    assert_eq!(files(&o.out), o.after);
    assert_eq!(dot_entries(o.dir.path()), Vec::<String>::new());
    let killed = shop(&o.out, "3").run_through(strace(&[
        "renameat2:error=EINVAL",
        "rename:signal=KILL:when=2",
    ]));
    killed_by(&killed, libc::SIGKILL);
    assert!(!o.out.exists());
    shop(&o.out, "4")
        .run_through(file_size_limit(true))
        .fails(1)
        .stderr_has("File too large");
    assert_eq!(files(&o.out), o.after);
    assert_eq!(dot_entries(o.dir.path()), Vec::<String>::new());
}

#[test]
fn a_folder_of_other_files_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("precious/notes.txt", "mine")]);
    let out = render(&dir.path().join("precious"), &[SHOP], &["--image", "x:1"])
        .run()
        .fails(2);
    out.stderr_has("refusing to replace");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn json_output_lists_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let result = render(&out, &[SHOP], &["--image", "x:1", "--output", "json"])
        .run()
        .success();
    let json: Value = result.json();
    assert_eq!(json["environment"], "development");
    assert_eq!(json["app"], "shop");
    let files: Vec<&str> = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"deployment-shop.yaml"), "{files:?}");
    for f in &files {
        assert!(out.join(f).is_file());
    }
    let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    for f in &files {
        assert!(
            kustomization.contains(&format!("- {f}\n")),
            "{kustomization}"
        );
    }
}
