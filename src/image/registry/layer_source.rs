//! A layer of the image being pushed: one of ours (on disk), or the base image's (in a
//! registry: mounted from there when it can be, else downloaded once and cached on disk).

use std::path::Path;
use std::sync::Arc;

use oci_client::Reference;
use tokio::sync::Mutex;

use super::client::{Registry, RegistryError};
use crate::image::blob::Blob;
use crate::image::oci::Descriptor;

#[derive(Clone)]
pub struct LayerSource {
    pub descriptor: Descriptor,
    pub origin: Origin,
}

#[derive(Clone)]
pub enum Origin {
    Local(Blob),
    Remote {
        registry: Arc<Registry>,
        repository: Reference,
        cache: Arc<Mutex<Option<Blob>>>,
    },
}

impl LayerSource {
    /// The blob on disk, downloading a base layer once.
    pub async fn local(&self, dir: &Path) -> Result<Blob, RegistryError> {
        match &self.origin {
            Origin::Local(blob) => Ok(blob.clone()),
            Origin::Remote {
                registry,
                repository,
                cache,
            } => {
                let mut cached = cache.lock().await;
                if let Some(blob) = &*cached {
                    return Ok(blob.clone());
                }
                let blob = registry.download(repository, &self.descriptor, dir).await?;
                *cached = Some(blob.clone());
                Ok(blob)
            }
        }
    }
}
