//! The Score inputs a record carries: read from the loaded workloads when a deployment is
//! recorded, and written back as a workspace of their own so a promotion can render them again.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::Error;
use crate::score::LoadedWorkload;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadInput {
    pub name: String,
    /// The Score file's path inside its workspace (the source repository).
    pub file: String,
    pub sha256: String,
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInput {
    /// Inside the workspace, like `WorkloadInput::file`.
    pub path: String,
    /// Text, or base64 when `base64` is set.
    pub content: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base64: bool,
}

/// The Score files of the workloads, and the files they read with `files.source` (once each).
pub fn read(workloads: &[LoadedWorkload]) -> Result<(Vec<WorkloadInput>, Vec<SourceInput>), Error> {
    let mut inputs = Vec::new();
    let mut sources = Vec::new();
    for loaded in workloads {
        let root = &loaded.workspace.root;
        let file = relative(
            &std::path::absolute(&loaded.source.path)
                .unwrap_or_else(|_| loaded.source.path.clone()),
            root,
        );
        inputs.push(WorkloadInput {
            name: loaded.workload.metadata.name.clone(),
            file,
            sha256: digest(loaded.source.text.as_bytes()),
            score: loaded.source.text.clone(),
        });
        for f in loaded
            .workload
            .containers
            .values()
            .flat_map(|c| c.files.values())
        {
            if let Some(path) = &f.source {
                let resolved = loaded
                    .workspace
                    .resolve(path)
                    .map_err(|e| Error::Io(e.to_string()))?;
                let bytes = std::fs::read(&resolved)
                    .map_err(|e| Error::Io(format!("{}: {e}", resolved.display())))?;
                let (content, base64) = match String::from_utf8(bytes) {
                    Ok(text) => (text, false),
                    Err(e) => (
                        base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                        true,
                    ),
                };
                let input = SourceInput {
                    path: relative(&resolved, root),
                    content,
                    base64,
                };
                if !sources.contains(&input) {
                    sources.push(input);
                }
            }
        }
    }
    Ok((inputs, sources))
}

/// Writes Score files and their source files into `dir` as a workspace of its own; returns the
/// Score files. `record` names where they come from, for messages.
pub fn write(
    workloads: &[WorkloadInput],
    sources: &[SourceInput],
    dir: &Path,
    record: &str,
) -> Result<Vec<PathBuf>, Error> {
    // A record comes from a repository: its paths must stay inside the new workspace.
    let place = |path: &str| -> Result<PathBuf, Error> {
        let p = Path::new(path);
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(Error::Corrupt(format!(
                "record {record}: path `{path}` leaves the workspace"
            )));
        }
        Ok(dir.join(p))
    };
    let write = |path: &Path, bytes: &[u8]| -> Result<(), Error> {
        std::fs::create_dir_all(path.parent().unwrap_or(dir))
            .map_err(|e| Error::Io(e.to_string()))?;
        std::fs::write(path, bytes).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
    };
    // A `.git` marks the workspace root, as the source repository's did.
    std::fs::create_dir_all(dir.join(".git")).map_err(|e| Error::Io(e.to_string()))?;
    for source in sources {
        let bytes = if source.base64 {
            base64::engine::general_purpose::STANDARD
                .decode(&source.content)
                .map_err(|e| Error::Corrupt(e.to_string()))?
        } else {
            source.content.clone().into_bytes()
        };
        write(&place(&source.path)?, &bytes)?;
    }
    let mut files = Vec::new();
    for w in workloads {
        let path = place(&w.file)?;
        write(&path, w.score.as_bytes())?;
        files.push(path);
    }
    Ok(files)
}

fn relative(path: &Path, root: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical
        .strip_prefix(root)
        .unwrap_or(&canonical)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `sha256:…` of an input's bytes (Score files and the like, which hold no secret).
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
