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
    /// The layers the Dockerfile's COPY and ADD made (not the base image's), per platform.
    pub layers: Vec<LayerBuilt>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerBuilt {
    pub platform: String,
    pub digest: String,
    pub size: u64,
    /// From the layer cache: its files were neither read nor compressed (a destination that
    /// lacked the blob would have had it written, and then this is false).
    pub cached: bool,
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
