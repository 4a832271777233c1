//! A span-preserving YAML view: every node keeps its line and column, so semantic and schema
//! errors can point at the offending key or value. Used for every YAML file scoreline reads.

mod emit;
mod load;
mod node;

pub use emit::to_string;
pub use load::{Limits, Parsed, parse, parse_keeping_duplicates};
pub use node::{Entry, Located, Mapping, Node, ScalarStyle, Span, Value};
