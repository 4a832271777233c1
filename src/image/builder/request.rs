//! What a build is asked for.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::image::oci::Platform;

/// What `scoreline build` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub context: PathBuf,
    /// Default: `CONTEXT/Dockerfile`.
    pub dockerfile: Option<PathBuf>,
    pub tags: Vec<String>,
    /// Default: the machine's platform.
    pub platforms: Vec<Platform>,
    pub oci_layout: Option<PathBuf>,
    pub insecure: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub build_args: BTreeMap<String, String>,
    /// The repository the code comes from (`org.opencontainers.image.source`); the caller knows
    /// it (from CI or git), the build only records it.
    pub source: Option<String>,
    /// The commit the code is at (`org.opencontainers.image.revision`).
    pub revision: Option<String>,
    /// The layer cache's folder (none: no cache); the caller chooses it.
    pub cache: Option<PathBuf>,
}
