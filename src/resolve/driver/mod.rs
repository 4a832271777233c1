//! Drivers turn a resource and its context into outputs, secret outputs and extra manifests.

mod cmd;
mod static_values;
mod template;

use serde_json::{Map, Value};

pub use template::Engines;

use super::context::Context;
use super::derive::Key;
use crate::baseline::{Definition, Driver, Environment};
use crate::diagnostic::Diagnostic;

/// Everything a driver needs for one resource.
pub struct Invocation<'a> {
    pub definition: &'a Definition,
    /// `{resource, workload, workloads, environment, app, resources}` (see `resolve::context`).
    pub context: &'a Context<'a>,
    /// The render's template engines, shared by its resources.
    pub engines: &'a Engines,
    pub environment: &'a Environment,
    pub uid: &'a str,
    pub key: &'a Key,
    /// "resource `db` of workload `shop`", for messages.
    pub subject: String,
    /// Secret values in the context (dependencies' secrets), blanked out of anything we print.
    pub secret_texts: Vec<String>,
}

/// What a driver produced.
#[derive(Debug, Default)]
pub struct Provided {
    pub outputs: Map<String, Value>,
    pub secrets: Map<String, Value>,
    pub manifests: Vec<Value>,
    /// A secret was derived with the public development key.
    pub used_development_key: bool,
}

#[derive(Debug)]
pub enum DriverError {
    /// The definition or its output is wrong (exit 2).
    Invalid(Diagnostic),
    /// Policy forbids it, e.g. deriving without the platform key in production (exit 3).
    Refused(Diagnostic),
    /// The driver failed at run time, e.g. a `cmd` program exited non-zero (exit 1).
    Failed(Diagnostic),
}

pub fn run(invocation: &Invocation<'_>) -> Result<Provided, DriverError> {
    let provided = match &invocation.definition.driver {
        Driver::Static { outputs, secrets } => {
            static_values::run(invocation, outputs.as_ref(), secrets.as_ref())?
        }
        Driver::Template(templates) => template::run(invocation, templates)?,
        Driver::Cmd {
            command,
            dir,
            timeout,
        } => cmd::run(invocation, command, dir.as_deref(), *timeout)?,
    };
    check(invocation, &provided)?;
    Ok(provided)
}

/// Output keys are unique across outputs and secrets; manifests are Kubernetes objects.
fn check(invocation: &Invocation<'_>, provided: &Provided) -> Result<(), DriverError> {
    let invalid = |message: String, help: &str| {
        DriverError::Invalid(definition_error(invocation, message).with_help(help))
    };
    if let Some(key) = provided
        .outputs
        .keys()
        .find(|k| provided.secrets.contains_key(*k))
    {
        return Err(invalid(
            format!("output `{key}` is both an output and a secret"),
            "return each key once, under `secrets` if it is secret",
        ));
    }
    for (i, manifest) in provided.manifests.iter().enumerate() {
        let ok = ["apiVersion", "kind"]
            .iter()
            .all(|k| manifest[*k].is_string())
            && manifest["metadata"]["name"].is_string();
        if !ok {
            return Err(invalid(
                format!(
                    "manifest {} is not a Kubernetes object (it needs apiVersion, kind and metadata.name)",
                    i + 1
                ),
                "return a list of complete Kubernetes objects",
            ));
        }
    }
    Ok(())
}

/// An error located at the definition, naming the resource it was run for.
fn definition_error(invocation: &Invocation<'_>, message: String) -> Diagnostic {
    let at = &invocation.definition.location;
    at.source.error(
        at.node.span.start,
        format!(
            "definition `{}` ({}, for {}): {message}",
            invocation.definition.name,
            invocation.definition.driver.name(),
            invocation.subject
        ),
    )
}
