//! What a build tells as it goes; the command line decides how to show it.

use super::oci::Platform;

#[derive(Debug, Clone)]
pub enum Event {
    /// A stage of the Dockerfile is being built for a platform.
    Stage { platform: Platform, stage: String },
    /// A layer was written, or found in the layer cache (`cached`: not written, its files
    /// neither read nor compressed).
    Layer {
        platform: Platform,
        digest: String,
        size: u64,
        cached: bool,
    },
    /// Bytes of a blob sent so far (for progress bars).
    Sending {
        digest: String,
        sent: u64,
        size: u64,
    },
    /// A blob is in a repository, and how it got there.
    Blob {
        repository: String,
        digest: String,
        size: u64,
        transfer: Transfer,
    },
    /// A manifest or index was put under a tag or digest.
    Manifest { reference: String },
    /// The Dockerfile needs a container runtime: the build is handed to another builder.
    Delegating { builder: String },
    /// A layer known from the layer cache came out different when written (its files changed
    /// during the build): the build starts again without looking the cache up.
    CacheStale,
}

/// How a blob got to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transfer {
    Existed,
    Mounted,
    Uploaded,
}

pub type Sink<'a> = &'a (dyn Fn(Event) + Send + Sync);
