//! scoreline: a platform orchestrator that lives inside CI pipelines.
//! See DESIGN.md for the data flow and the module map.

pub mod backoff;
pub mod baseline;
pub mod ci;
pub mod cli;
pub mod deploy;
pub mod diagnostic;
pub mod error;
pub mod flow;
pub mod folder;
pub mod forge;
pub mod image;
pub mod json_schema;
pub mod position;
pub mod render;
pub mod resolve;
pub mod score;
pub mod scratch;
pub mod secret;
pub mod source;
pub mod yaml;
