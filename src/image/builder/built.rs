//! What a build made: the image's digest, where it went, and how the blobs got there.

use std::path::PathBuf;

use serde::Serialize;

use crate::image::event::Transfer;

#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub digest: String,
    pub media_type: String,
    /// `registry/repository@digest` of the first tag.
    pub reference: Option<String>,
    pub tags: Vec<String>,
    /// Bytes of every blob and manifest of the image.
    pub size: u64,
    pub platforms: Vec<PlatformBuilt>,
    pub layout: Option<PathBuf>,
    pub transfers: Vec<BlobTransfer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlatformBuilt {
    pub platform: String,
    pub digest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlobTransfer {
    pub repository: String,
    pub digest: String,
    pub transfer: Transfer,
}
