//! Score workloads: the `score.dev/v1b1` model, loading with two-layer validation (the official
//! JSON schema, then semantic checks), and placeholders.

mod model;
pub mod placeholder;
pub mod quantity;
pub mod schema;
mod semantic;
pub mod workspace;

use std::path::{Path, PathBuf};

pub use model::*;
pub use workspace::Workspace;

use crate::diagnostic::{self, Diagnostic};
use crate::position::Pos;
use crate::source::SourceFile;
use crate::yaml::{self, Node};

/// A workload that passed validation, with the located tree kept for later, located errors.
#[derive(Debug, Clone)]
pub struct LoadedWorkload {
    pub source: SourceFile,
    pub document: Node,
    pub workload: Workload,
    pub workspace: Workspace,
}

/// The outcome of loading Score files: the workloads that are valid on their own, and every
/// warning and error found (including cross-file ones: check `has_errors` before using them).
#[derive(Debug, Default)]
pub struct Loaded {
    pub workloads: Vec<LoadedWorkload>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads and validates several Score files (one workload each), reporting all their problems.
pub fn load(paths: &[PathBuf]) -> Loaded {
    let mut loaded = Loaded::default();
    let mut documents = Vec::new();
    for path in paths {
        match load_one(path) {
            Ok((workload, warnings)) => {
                loaded.diagnostics.extend(warnings);
                documents.push(workload);
            }
            Err(diagnostics) => loaded.diagnostics.extend(diagnostics),
        }
        // Each file's problems are cut to what is shown (and counted) before the next is read.
        diagnostic::sort(&mut loaded.diagnostics);
    }
    loaded.diagnostics.extend(semantic::duplicate_names(
        documents.iter().map(|w| (&w.source, &w.document)),
    ));
    loaded.workloads = documents;
    diagnostic::sort(&mut loaded.diagnostics);
    loaded
}

/// One file: parse, schema, semantics. Errors include any warnings found alongside them.
fn load_one(path: &Path) -> Result<(LoadedWorkload, Vec<Diagnostic>), Vec<Diagnostic>> {
    let source = SourceFile::read(path).map_err(|d| vec![d])?;
    // Duplicate keys are reported with every other problem of the file, not instead of them.
    let yaml::Parsed {
        mut documents,
        duplicates,
    } = yaml::parse_keeping_duplicates(&source, yaml::Limits::default())?;
    let document = match documents.len() {
        1 => documents.remove(0),
        0 => {
            return Err(vec![source.error(Pos::START, "file holds no Score workload").with_help(
                "a Score file starts with `apiVersion: score.dev/v1b1`, then `metadata` and `containers`",
            )]);
        }
        n => {
            return Err(vec![
                source
                    .error(
                        documents[1].span.start,
                        format!("file holds {n} YAML documents; a Score file holds one workload"),
                    )
                    .with_help("put each workload in its own file and pass them all with -f"),
            ]);
        }
    };
    let workspace = Workspace::of(path).map_err(|e| {
        vec![source.error(Pos::START, format!("cannot resolve the file's folder: {e}"))]
    })?;
    let json = document.to_json();
    let mut diagnostics = duplicates;
    diagnostics.extend(schema::check(&source, &document, &json));
    // One message per node: where the schema already refused a value, semantic checks of the
    // same value would only repeat it.
    let refused: std::collections::HashSet<(usize, usize)> =
        diagnostics.iter().map(|d| (d.line, d.column)).collect();
    diagnostics.extend(
        semantic::check(&source, &document, &workspace)
            .into_iter()
            .filter(|d| !refused.contains(&(d.line, d.column))),
    );
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let workload: Workload = serde_json::from_value(json).map_err(|e| {
        vec![
            source
                .error(
                    Pos::START,
                    format!("internal error reading a schema-valid workload: {e}"),
                )
                .with_help("please report this with the file attached"),
        ]
    })?;
    Ok((
        LoadedWorkload {
            source,
            document,
            workload,
            workspace,
        },
        diagnostics,
    ))
}
