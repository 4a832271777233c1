//! A built platform image's config and manifest, and the index over several platforms, with
//! the annotations (created, source, revision, base) every one of them carries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::build_error::BuildError;
use super::request::Request;
use super::stage::{self, StageImage};
use crate::image::blob::{self, Blob};
use crate::image::oci::{self, Descriptor, Index, Manifest, Platform};

/// One platform's image, assembled.
pub struct PlatformImage {
    pub platform: Platform,
    pub image: StageImage,
    pub config: Blob,
    pub manifest: Blob,
    pub manifest_bytes: Vec<u8>,
}

/// The whole image: every platform's, under the manifest of the one platform or the index of
/// several.
pub struct Image {
    pub platforms: Vec<PlatformImage>,
    pub top: Blob,
    pub top_bytes: Vec<u8>,
    pub top_media_type: &'static str,
}

impl Image {
    /// Several platforms: their manifests are blobs of their own, under the index.
    pub fn has_index(&self) -> bool {
        self.platforms.len() > 1
    }

    /// Bytes of every blob and manifest.
    pub fn size(&self) -> u64 {
        let mut size = self.top.size;
        let mut seen = BTreeSet::new();
        for p in &self.platforms {
            size += if self.has_index() { p.manifest.size } else { 0 } + p.config.size;
            for l in &p.image.layers {
                if seen.insert(l.descriptor.digest.clone()) {
                    size += l.descriptor.size;
                }
            }
        }
        size
    }
}

/// The image of the built platforms: one platform's manifest is the top, several get an index.
pub fn image(
    platforms: Vec<PlatformImage>,
    request: &Request,
    created: u64,
    scratch: &Path,
) -> Result<Image, BuildError> {
    let (top_bytes, top_media_type) = match platforms.as_slice() {
        [one] => (one.manifest_bytes.clone(), oci::MANIFEST),
        many => index(many, request, created),
    };
    let top = blob::write_blob(&top_bytes, scratch).map_err(|e| BuildError::Io(e.to_string()))?;
    Ok(Image {
        platforms,
        top,
        top_bytes,
        top_media_type,
    })
}

/// The config and manifest of a built platform image.
pub fn assemble(
    mut image: StageImage,
    platform: &Platform,
    request: &Request,
    created: u64,
    scratch: &Path,
) -> Result<PlatformImage, BuildError> {
    let io = |e: std::io::Error| BuildError::Io(e.to_string());
    image.config["created"] = stage::timestamp(created).into();
    for (k, v) in &request.labels {
        image.config["config"]["Labels"][k] = v.clone().into();
    }
    let config_bytes = serde_json::to_vec(&image.config).expect("JSON");
    let config = blob::write_blob(&config_bytes, scratch).map_err(io)?;
    let mut annotations = annotations(request, created);
    if let Some((name, digest)) = &image.base {
        annotations.insert("org.opencontainers.image.base.name".into(), name.clone());
        annotations.insert(
            "org.opencontainers.image.base.digest".into(),
            digest.clone(),
        );
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: oci::MANIFEST.into(),
        config: Descriptor {
            media_type: oci::CONFIG.into(),
            digest: config.digest.clone(),
            size: config.size,
            platform: None,
            annotations: BTreeMap::new(),
        },
        layers: image.layers.iter().map(|l| l.descriptor.clone()).collect(),
        annotations,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).expect("JSON");
    let manifest = blob::write_blob(&manifest_bytes, scratch).map_err(io)?;
    Ok(PlatformImage {
        platform: platform.clone(),
        image,
        config,
        manifest,
        manifest_bytes,
    })
}

pub fn index(images: &[PlatformImage], request: &Request, created: u64) -> (Vec<u8>, &'static str) {
    let index = Index {
        schema_version: 2,
        media_type: oci::INDEX.into(),
        manifests: images
            .iter()
            .map(|p| Descriptor {
                media_type: oci::MANIFEST.into(),
                digest: p.manifest.digest.clone(),
                size: p.manifest.size,
                platform: Some(p.platform.clone()),
                annotations: BTreeMap::new(),
            })
            .collect(),
        annotations: annotations(request, created),
    };
    (serde_json::to_vec(&index).expect("JSON"), oci::INDEX)
}

fn annotations(request: &Request, created: u64) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "org.opencontainers.image.created".into(),
        stage::timestamp(created),
    );
    if let Some(source) = &request.source {
        a.insert("org.opencontainers.image.source".into(), source.clone());
    }
    if let Some(revision) = &request.revision {
        a.insert("org.opencontainers.image.revision".into(), revision.clone());
    }
    a
}
