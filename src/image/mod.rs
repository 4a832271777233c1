//! Daemonless image builds: Dockerfiles made of base images and copied files become
//! reproducible OCI images, pushed to registries (fast: nothing uploaded twice) and/or written
//! as OCI layouts. Knows nothing of Score.

pub mod auth;
pub mod base;
pub mod build;
pub mod context;
mod delegate;
pub mod dockerfile;
pub mod filesystem;
pub mod layer;
pub mod layout;
pub mod oci;
pub mod progress;
pub mod push;
pub mod registry;
pub mod retry;
pub mod stage;
mod token;

pub use build::{BuildError, Built, Request};
pub use progress::{Event, Sink};

use crate::source::SourceFile;

/// Builds (or hands to a container runtime, for RUN) and pushes as asked.
pub fn run(request: &Request, progress: Sink<'_>) -> Result<Built, BuildError> {
    if request.tags.is_empty() && request.oci_layout.is_none() {
        return Err(BuildError::Usage("nowhere to put the image: give --tag REGISTRY/REPOSITORY:TAG (repeatable) and/or --oci-layout DIR".into()));
    }
    let path = request
        .dockerfile
        .clone()
        .unwrap_or_else(|| request.context.join("Dockerfile"));
    let source = SourceFile::read(&path).map_err(|d| BuildError::Dockerfile(vec![d]))?;
    let dockerfile = dockerfile::parse(&source).map_err(BuildError::Dockerfile)?;
    match dockerfile.first_run {
        Some(run_at) => delegate::run(request, &source, run_at, progress),
        None => build::build(request, &dockerfile, &source, progress),
    }
}
