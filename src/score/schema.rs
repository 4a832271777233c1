//! Layer one of Score validation: the official Score JSON schema, embedded unchanged.

use std::sync::LazyLock;

use crate::diagnostic::Diagnostic;
use crate::json_schema::Schema;
use crate::source::SourceFile;
use crate::yaml::Node;

/// The official `score-v1b1.json`, unchanged (a test compares it with the upstream copy).
pub const SCORE_SCHEMA: &str = include_str!("../../schemas/score-v1b1.json");

static SCORE: LazyLock<Schema> = LazyLock::new(|| Schema::new(SCORE_SCHEMA, "the workload"));

pub fn check(
    source: &SourceFile,
    document: &Node,
    instance: &serde_json::Value,
) -> Vec<Diagnostic> {
    SCORE.check(source, document, instance)
}
