//! Replacing a folder's contents atomically: everything is written into a sibling folder first
//! and swapped in, so a failure at any point leaves the previous contents as they were.

use std::path::{Path, PathBuf};

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
    if out.exists() && !(out.is_dir() && (ours(out) || is_empty(out))) {
        return Err(FolderError::NotOurs(out.to_path_buf()));
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let stem = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let unique = format!(
        "{}-{}",
        std::process::id(),
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

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}
