//! OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/…`): the image on disk, for
//! runs without a registry, `skopeo copy oci:DIR:TAG …` and `umoci`. Written atomically.

use std::path::Path;

use serde_json::json;

use super::blob::Blob;
use crate::folder::{self, FolderError};

/// The image's blobs and its top manifest (or index): digest, size, media type.
pub struct Contents<'a> {
    pub blobs: Vec<&'a Blob>,
    pub top: (&'a str, u64, &'a str),
}

/// Writes the layout; `names` become `org.opencontainers.image.ref.name` entries (`latest`
/// when there are none).
pub fn write(dir: &Path, contents: &Contents<'_>, names: &[String]) -> Result<(), FolderError> {
    folder::replace_with(
        dir,
        |d| d.join("oci-layout").is_file(),
        |staging| {
            let io = |p: &Path, e| FolderError::Io(p.to_path_buf(), e);
            let blobs = staging.join("blobs/sha256");
            std::fs::create_dir_all(&blobs).map_err(|e| io(&blobs, e))?;
            for blob in &contents.blobs {
                let target = blobs.join(blob.digest.trim_start_matches("sha256:"));
                if !target.exists() {
                    // A hard link when the blob is on the same file system, a copy otherwise.
                    std::fs::hard_link(&blob.path, &target)
                        .or_else(|_| std::fs::copy(&blob.path, &target).map(|_| ()))
                        .map_err(|e| io(&target, e))?;
                    // Readable by all, like the rest of the layout (temporary files are private).
                    std::fs::set_permissions(
                        &target,
                        std::os::unix::fs::PermissionsExt::from_mode(0o644),
                    )
                    .map_err(|e| io(&target, e))?;
                }
            }
            let (digest, size, media_type) = contents.top;
            let names: Vec<String> = if names.is_empty() {
                vec!["latest".into()]
            } else {
                names.to_vec()
            };
            let manifests: Vec<_> = names
            .iter()
            .map(|name| json!({"mediaType": media_type, "digest": digest, "size": size, "annotations": {"org.opencontainers.image.ref.name": name}}))
            .collect();
            let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
            for (name, value) in [
                ("oci-layout", json!({"imageLayoutVersion": "1.0.0"})),
                ("index.json", index),
            ] {
                let path = staging.join(name);
                std::fs::write(&path, serde_json::to_vec(&value).expect("JSON"))
                    .map_err(|e| io(&path, e))?;
            }
            Ok(())
        },
    )
}
