//! Platform baselines: environments, resource definitions with their matching criteria, and
//! the workload policy; loaded from a folder (`--platform DIR`) or embedded in the binary.

mod criteria;
mod definition;
mod delivery;
mod embedded;
mod environment;
mod load;
mod policy;
pub mod schemas;
mod selection;
mod suggest;
pub mod template_syntax;

use std::path::PathBuf;

pub use criteria::{Rule, Specificity, Subject};
pub use definition::{Definition, Driver, Program, Templates};
pub use embedded::{ExportError, FILES as EMBEDDED_FILES, baseline as embedded, export};
pub use environment::{Delivery, DeliveryKind, DeliveryMode, Environment, SecretsPolicy};
pub use load::{Outcome, files, load_dir};
pub use policy::{DefaultResources, WorkloadPolicy};
pub use selection::{Candidate, Selection, Verdict, select};

#[derive(Debug, Clone)]
pub struct Baseline {
    /// "the embedded baseline" or the folder, as messages name it.
    pub origin: String,
    /// The folder (relative `cmd` programs start there); none when embedded.
    pub dir: Option<PathBuf>,
    pub environments: Vec<Environment>,
    pub definitions: Vec<Definition>,
    pub policy: WorkloadPolicy,
    /// `sha256:…` over every file of the baseline.
    pub revision: String,
}

impl Baseline {
    /// The environment of that name, or the instance of the preview pattern it matches.
    pub fn environment(&self, name: &str) -> Option<Environment> {
        self.environments
            .iter()
            .find(|e| e.name == name && !e.is_pattern())
            .cloned()
            .or_else(|| self.environments.iter().find_map(|e| e.instantiate(name)))
    }

    /// The resource types the baseline has definitions for, sorted, once each.
    pub fn resource_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self
            .definitions
            .iter()
            .map(|d| d.resource_type.as_str())
            .collect();
        types.sort();
        types.dedup();
        types
    }

    pub fn environment_names(&self) -> Vec<&str> {
        self.environments.iter().map(|e| e.name.as_str()).collect()
    }
}
