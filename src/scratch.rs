//! Temporary folders named after the process that made them, so that what a killed run left
//! behind (a half-written output folder beside the real one, a clone of an environment
//! repository) is removed by a later run, and what a running one is using is not.
//!
//! A name carries `{pid}-{namespace}` (the pid namespace, from `/proc/self/ns/pid`; `0` where
//! there is none): a later run in the same namespace removes it once that pid is gone; one in
//! another namespace (a container sharing the folder) cannot tell, and waits for it to age.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// How long the temporary folders of the system temp folder are kept when their owner cannot
/// be checked (another pid namespace, or a pid now taken by another process).
pub const TEMP_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// `{pid}-{namespace}` of this process, for the names of its temporary folders.
pub fn tag() -> String {
    format!("{}-{}", std::process::id(), namespace())
}

/// A new temporary folder `{prefix}-{tag}-{random}` in scoreline's own folder of the system
/// temp folder (`$TMPDIR/scoreline-{uid}`, private to the user); the first call of a run first
/// removes the folders there whose runs are gone. Removed when dropped.
pub fn tempdir(prefix: &str) -> io::Result<tempfile::TempDir> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let root = private_root()?;
        sweep(&root, "", TEMP_MAX_AGE);
        Some(root)
    });
    match root {
        Some(root) => tempfile::Builder::new()
            .prefix(&format!("{prefix}-{}-", tag()))
            .tempdir_in(root),
        // Someone else owns the name, or it is no folder: a plain temporary folder, unswept.
        None => tempfile::Builder::new()
            .prefix(&format!("scoreline-{prefix}-"))
            .tempdir(),
    }
}

/// Removes the entries of `dir` named `{prefix}{pid}-{namespace}-…` (with an empty `prefix`:
/// `{word}-{pid}-{namespace}-…`) that `left_behind` says a finished run left. What cannot be
/// removed is left for a later run.
pub fn sweep(dir: &Path, prefix: &str, max_age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let rest = if prefix.is_empty() {
            rest.split_once('-').map_or("", |(_, r)| r)
        } else {
            rest
        };
        let path = entry.path();
        if left_behind(&path, rest, max_age) {
            let _ = match path.symlink_metadata() {
                Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
        }
    }
}

/// Whether `path`, whose name ends in `rest` = `{pid}-{namespace}-…`, was left by a run that is
/// over (see `gone`). A name of another form never is.
pub fn left_behind(path: &Path, rest: &str, max_age: Duration) -> bool {
    let mut parts = rest.splitn(3, '-');
    let (Some(Ok(pid)), Some(Ok(ns)), Some(_)) = (
        parts.next().map(str::parse::<u32>),
        parts.next().map(str::parse::<u64>),
        parts.next(),
    ) else {
        return false;
    };
    path.symlink_metadata()
        .is_ok_and(|meta| gone(pid, ns, meta.modified().ok(), max_age))
}

/// Whether the run that named a folder `{pid}-{ns}` is over: a pid of this namespace that no
/// longer runs, or a folder older than `max_age` (a pid of another namespace, or one reused).
pub fn gone(pid: u32, ns: u64, modified: Option<SystemTime>, max_age: Duration) -> bool {
    let old = modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > max_age);
    old || (ns == namespace() && pid != std::process::id() && !running(pid))
}

/// Whether a process `pid` exists (signal 0 checks without sending anything).
fn running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: kill with signal 0 sends nothing; it only reports whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The inode of this process's pid namespace (`pid:[4026531836]`), or 0 without /proc.
fn namespace() -> u64 {
    static NS: OnceLock<u64> = OnceLock::new();
    *NS.get_or_init(|| {
        std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .and_then(|link| {
                let text = link.to_string_lossy().into_owned();
                text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
            })
            .unwrap_or(0)
    })
}

/// `$TMPDIR/scoreline-{uid}`, created private to this user; none when it exists as something
/// else (a link, another user's folder, a folder others may write to).
fn private_root() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let root = std::env::temp_dir().join(format!("scoreline-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    let meta = std::fs::symlink_metadata(&root).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid that ran and is gone.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn folders_of_finished_runs_are_swept_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ns = namespace();
        let names = [
            format!("x-{}-{ns}-a", dead_pid()),
            format!("x-{}-{ns}-b", std::process::id()),
            format!("x-{}-{}-c", dead_pid(), ns + 1),
            "x-not-a-tag".to_owned(),
            format!("y-{}-{ns}-d", dead_pid()),
        ];
        for name in &names {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        sweep(dir.path(), "x-", Duration::from_secs(3600));
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, names[1..].to_vec());
        sweep(dir.path(), "", Duration::from_secs(3600));
        assert!(!dir.path().join(&names[4]).exists());
        assert!(!gone(
            std::process::id(),
            ns,
            Some(SystemTime::now()),
            Duration::from_secs(1)
        ));
        let long_ago = SystemTime::now() - Duration::from_secs(7200);
        assert!(gone(
            std::process::id(),
            ns,
            Some(long_ago),
            Duration::from_secs(3600)
        ));
    }
}
