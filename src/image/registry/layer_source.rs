//! A layer of the image being pushed: one of ours (on disk, or known from the layer cache and
//! written only when a destination lacks it), or the base image's (in a registry: mounted from
//! there when it can be, else downloaded once and cached on disk).

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

/// Makes a deferred layer's blob in a folder (the message says why it could not).
pub type WriteBlob = Arc<dyn Fn(&Path) -> Result<Blob, String> + Send + Sync>;

#[derive(Clone)]
pub enum Origin {
    Local(Blob),
    /// Ours, its digest known without writing it: `write` makes the blob (once) when needed.
    Deferred {
        write: WriteBlob,
        written: Arc<std::sync::Mutex<Option<Blob>>>,
    },
    Remote {
        registry: Arc<Registry>,
        repository: Reference,
        cache: Arc<Mutex<Option<Blob>>>,
    },
}

impl LayerSource {
    /// Whether the blob is ours and known from the layer cache, not written (yet) in this build.
    pub fn is_deferred(&self) -> bool {
        match &self.origin {
            Origin::Deferred { written, .. } => {
                written.lock().unwrap_or_else(|e| e.into_inner()).is_none()
            }
            _ => false,
        }
    }

    /// The blob on disk, downloading a base layer once, writing a deferred one once.
    pub async fn local(&self, dir: &Path) -> Result<Blob, RegistryError> {
        match &self.origin {
            Origin::Local(blob) => Ok(blob.clone()),
            Origin::Deferred { write, written } => {
                let mut written = written.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(blob) = &*written {
                    return Ok(blob.clone());
                }
                let blob = write(dir).map_err(|message| RegistryError {
                    host: String::new(),
                    message,
                })?;
                *written = Some(blob.clone());
                Ok(blob)
            }
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
