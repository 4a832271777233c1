//! Daemonless image builds: Dockerfiles made of base images and copied files become
//! reproducible OCI images (`builder`), pushed to registries (`registry`; fast: nothing uploaded
//! twice) and/or written as OCI layouts (`layout`). Knows nothing of Score or CI: what the
//! image records of its origin comes in the request.

pub mod blob;
pub mod builder;
pub mod event;
pub mod layout;
pub mod oci;
pub mod registry;

pub use builder::{BuildError, Built, Request, run};
pub use event::{Event, Sink, Transfer};
