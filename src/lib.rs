//! scoreline: a platform orchestrator that lives inside CI pipelines.
//! See DESIGN.md for the data flow and the module map.

pub mod ci;
pub mod cli;
pub mod diagnostic;
pub mod error;
pub mod score;
pub mod source;
pub mod yaml;
