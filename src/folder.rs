//! Replacing a folder's contents atomically: everything is written into a sibling folder first
//! and swapped in, so a failure at any point leaves the previous contents as they were.

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
            let retired = parent.join(format!(".{stem}.old-{unique}"));
            std::fs::rename(out, &retired).map_err(io(out))?;
            if let Err(e) = std::fs::rename(&staging, out) {
                // Put the previous contents back before reporting.
                let _ = std::fs::rename(&retired, out);
                return Err(FolderError::Io(out.to_path_buf(), e));
            }
            let _ = std::fs::remove_dir_all(&retired);
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

/// Clears what a killed run left beside `out` (named `.{stem}.new-…` and `.{stem}.old-…`, see
/// `scratch`): a run killed between its two renames left no `out` and the previous contents
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
