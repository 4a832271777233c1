//! Replacing a folder's contents atomically: everything is written into a sibling folder first
//! and swapped in (see `swap`), so a failure at any point leaves the previous contents as they were.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::scratch;

/// How long a folder left beside the output by a run that cannot be checked (in another pid
/// namespace, such as a container's) is kept: writing an output takes seconds.
const LEFT_MAX_AGE: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "refusing to replace {0}: it holds files scoreline did not write; choose an empty or new folder"
    )]
    NotOurs(PathBuf),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Replaces `out` with exactly `files` (paths relative to it, `/`-separated). An existing `out`
/// is only replaced when it is empty or `ours` says scoreline wrote it.
pub fn replace(
    out: &Path,
    files: &[(String, Vec<u8>)],
    ours: impl Fn(&Path) -> bool,
) -> Result<(), FolderError> {
    replace_with(out, ours, |staging| {
        for (name, content) in files {
            let path = staging.join(name);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| FolderError::Io(dir.to_path_buf(), e))?;
            }
            std::fs::write(&path, content).map_err(|e| FolderError::Io(path.clone(), e))?;
        }
        Ok(())
    })
}

/// Replaces `out` with what `fill` writes into the (empty, new) folder it is given.
pub fn replace_with(
    out: &Path,
    ours: impl Fn(&Path) -> bool,
    fill: impl FnOnce(&Path) -> Result<(), FolderError>,
) -> Result<(), FolderError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| FolderError::Io(path, e)
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    recover(out, parent, &stem, &ours);
    if out.exists() && !(out.is_dir() && (ours(out) || is_empty(out))) {
        return Err(FolderError::NotOurs(out.to_path_buf()));
    }
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    // Named after this process, so that a later run can tell what a killed one left.
    let unique = format!(
        "{}-{}",
        scratch::tag(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let staging = parent.join(format!(".{stem}.new-{unique}"));
    let result = (|| {
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        fill(&staging)?;
        if out.exists() {
            swap(&staging, out, &parent.join(format!(".{stem}.old-{unique}")))?;
        } else {
            std::fs::rename(&staging, out).map_err(io(out))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Writes one file atomically: a temporary file beside it, renamed over it, so a reader (or a
/// failed run) sees the previous file or the new one, never half of one.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FolderError> {
    let io = |e| FolderError::Io(path.to_path_buf(), e);
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(parent).map_err(io)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Puts the folder `staging` in place of the existing `out`. On Linux one `renameat2` with
/// `RENAME_EXCHANGE` swaps the two names at once, so `out` is always either the previous or the
/// new contents, whole; the previous ones, now under `staging`'s name, are removed (or, after a
/// kill, swept by the next run). Where that cannot be done (another system, or a filesystem that
/// answers EINVAL or ENOSYS, such as some network ones) it takes two renames, `out` to `retired`
/// then `staging` to `out`: between them `out` does not exist, and a run killed there leaves
/// the previous contents in `retired`, which the next run puts back (`recover`).
fn swap(staging: &Path, out: &Path, retired: &Path) -> Result<(), FolderError> {
    match exchange(staging, out) {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(staging);
            return Ok(());
        }
        Err(e) if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            return Err(FolderError::Io(out.to_path_buf(), e));
        }
        Err(_) => {}
    }
    std::fs::rename(out, retired).map_err(|e| FolderError::Io(out.to_path_buf(), e))?;
    if let Err(e) = std::fs::rename(staging, out) {
        // Put the previous contents back before reporting.
        let _ = std::fs::rename(retired, out);
        return Err(FolderError::Io(out.to_path_buf(), e));
    }
    let _ = std::fs::remove_dir_all(retired);
    Ok(())
}

/// Exchanges the names `a` and `b` in one step (`renameat2(RENAME_EXCHANGE)`, Linux 3.15+),
/// through the raw system call so that it builds against musl as well as glibc.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c =
        |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are NUL-terminated paths that live across the call; the call reads them only.
    let result = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere there is no exchange: `swap` takes its two renames.
#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from_raw_os_error(libc::ENOSYS))
}

/// Clears what a killed run left beside `out` (named `.{stem}.new-…` and `.{stem}.old-…`, see
/// `scratch`): a run killed between the two renames of `swap`'s fallback left no `out` and the
/// previous contents
/// in `.old-…`, which are put back first (when `ours` says scoreline wrote them); the rest is
/// removed.
fn recover(out: &Path, parent: &Path, stem: &str, ours: &impl Fn(&Path) -> bool) {
    let (new, old) = (format!(".{stem}.new-"), format!(".{stem}.old-"));
    if !out.exists()
        && let Ok(entries) = std::fs::read_dir(parent)
    {
        let mut retired: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                let rest = name.strip_prefix(&old)?;
                let path = e.path();
                (scratch::left_behind(&path, rest, LEFT_MAX_AGE) && ours(&path)).then(|| {
                    // Newest last: the time is the name's last part.
                    let time = rest.rsplit('-').next().unwrap_or_default();
                    (format!("{time:0>40}"), path)
                })
            })
            .collect();
        retired.sort();
        if let Some((_, newest)) = retired.pop() {
            let _ = std::fs::rename(newest, out);
        }
    }
    scratch::sweep(parent, &new, LEFT_MAX_AGE);
    scratch::sweep(parent, &old, LEFT_MAX_AGE);
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run killed between its two renames left no output, the previous one in `.old-…` and
    /// the new one half-written in `.new-…`: the next run puts the previous output back before
    /// it writes, so a failure leaves it as it was.
    #[test]
    fn the_output_a_killed_run_retired_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let tag = scratch::tag().replacen(&std::process::id().to_string(), &dead.to_string(), 1);
        let retired = dir.path().join(format!(".out.old-{tag}-1"));
        let staging = dir.path().join(format!(".out.new-{tag}-1"));
        for folder in [&retired, &staging] {
            std::fs::create_dir(folder).unwrap();
            std::fs::write(folder.join("a"), "previous").unwrap();
        }
        let out = dir.path().join("out");
        let failed = replace_with(
            &out,
            |_| true,
            |_| {
                Err(FolderError::Io(
                    PathBuf::from("x"),
                    std::io::Error::other("fails"),
                ))
            },
        );
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(out.join("a")).unwrap(), "previous");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the output: {left:?}");
    }
}
