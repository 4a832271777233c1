//! The `kubernetes` target: workload objects plus the manifests resource drivers returned.

mod container;
mod data;
pub mod labels;
mod workload;

pub use workload::objects as workload_objects;
