//! Publishing to registries: the client (credentials, tokens, retries), base layers as they are
//! found there, and pushing a built image to every tag.

pub mod auth;
mod client;
mod layer_source;
pub mod push;
pub mod retry;
mod token;

pub use client::{Access, Registry, RegistryError, is_loopback};
pub use layer_source::{LayerSource, Origin};
