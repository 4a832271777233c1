//! Base images: the manifest for one platform (chosen from an index), its config, and its layers
//! as descriptors, fetched only when a push or an OCI layout needs the bytes.

use std::str::FromStr;
use std::sync::Arc;

use oci_client::Reference;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::image::oci::{self, Descriptor, Index, Manifest, Platform};
use crate::image::registry::{Access, LayerSource, Origin, Registry};

/// A base image for one platform.
pub struct Base {
    pub reference: Reference,
    /// The digest of the manifest (or index) the reference named, for the base annotations.
    pub digest: String,
    pub config: Value,
    pub layers: Vec<LayerSource>,
}

/// Why a base image could not be had.
#[derive(Debug)]
pub enum PullError {
    /// The reference, or the image it names, does not fit the build: the Dockerfile's to fix.
    Invalid(String),
    /// The registry could not be reached or failed: the same build may pass later.
    Registry(String),
}

impl From<String> for PullError {
    fn from(message: String) -> PullError {
        PullError::Invalid(message)
    }
}

fn registry_failed(e: impl std::fmt::Display) -> PullError {
    PullError::Registry(e.to_string())
}

/// Pulls the manifest and config of `image` for `platform`.
pub async fn pull(image: &str, platform: &Platform, access: &Access) -> Result<Base, PullError> {
    let reference = Reference::from_str(image)
        .map_err(|e| format!("`{image}` is not an image reference: {e}"))?;
    let registry = Arc::new(Registry::new(reference.resolve_registry(), access));
    registry
        .login(&reference, false)
        .await
        .map_err(registry_failed)?;
    let (bytes, digest) = registry
        .manifest(&reference)
        .await
        .map_err(registry_failed)?;
    let top: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{image}: the manifest is not JSON ({e})"))?;
    let manifest_bytes = if top.get("manifests").is_some() {
        let index: Index =
            serde_json::from_value(top).map_err(|e| format!("{image}: unreadable index ({e})"))?;
        let chosen = index
            .manifests
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
            .ok_or_else(|| {
                let offered: Vec<String> = index
                    .manifests
                    .iter()
                    .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
                    .collect();
                format!(
                    "base image {image} has no {platform} variant (it has: {})",
                    offered.join(", ")
                )
            })?;
        let by_digest = reference.clone_with_digest(chosen.digest.clone());
        let (bytes, _) = registry
            .manifest(&by_digest)
            .await
            .map_err(registry_failed)?;
        bytes
    } else {
        bytes
    };
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| format!("{image}: unreadable manifest ({e})"))?;
    let config_blob = registry
        .download(&reference, &manifest.config, &std::env::temp_dir())
        .await
        .map_err(registry_failed)?;
    let config: Value =
        serde_json::from_slice(&std::fs::read(&config_blob.path).map_err(registry_failed)?)
            .map_err(|e| format!("{image}: unreadable config ({e})"))?;
    let _ = std::fs::remove_file(&config_blob.path);
    let (os, arch) = (
        config["os"].as_str().unwrap_or_default(),
        config["architecture"].as_str().unwrap_or_default(),
    );
    if !(os == platform.os && arch == platform.architecture) {
        return Err(PullError::Invalid(format!(
            "base image {image} is {os}/{arch}, not {platform}: name a multi-platform base, or build for {os}/{arch}"
        )));
    }
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d.is_string())
        .count();
    if diff_ids != manifest.layers.len() {
        return Err(PullError::Invalid(format!(
            "{image}: its config lists {diff_ids} layers, its manifest {}",
            manifest.layers.len()
        )));
    }
    let layers = manifest
        .layers
        .into_iter()
        .map(|descriptor| LayerSource {
            descriptor: Descriptor {
                media_type: oci::oci_layer_type(&descriptor.media_type),
                ..descriptor
            },
            origin: Origin::Remote {
                registry: registry.clone(),
                repository: reference.clone(),
                cache: Arc::new(Mutex::new(None)),
            },
        })
        .collect();
    Ok(Base {
        reference,
        digest,
        config,
        layers,
    })
}
