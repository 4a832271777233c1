//! Blobs on disk (layers, configs, manifests) with the digest they are known by, shared by the
//! build that writes them and the registry and OCI layout they go to.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A blob on disk with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub path: PathBuf,
    pub digest: String,
    pub size: u64,
}

/// `sha256:` and the hex of a finished hash.
pub fn hex_digest(digest: Sha256) -> String {
    format!(
        "sha256:{}",
        digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Writes bytes as a blob file in `dir` (configs, manifests).
pub fn write_blob(bytes: &[u8], dir: &Path) -> io::Result<Blob> {
    let mut file = tempfile::Builder::new().prefix("blob-").tempfile_in(dir)?;
    file.write_all(bytes)?;
    let (_, path) = file.keep().map_err(|e| e.error)?;
    Ok(Blob {
        path,
        digest: hex_digest(Sha256::new_with_prefix(bytes)),
        size: bytes.len() as u64,
    })
}
