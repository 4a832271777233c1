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
#[derive(Clone)]
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
    /// The shadow run (see `resolve::shadow`): the context holds shadows of its secrets, and
    /// what the driver reads that is secret (`derive`, CI variables) it reads as shadows too.
    pub shadow: bool,
}

/// What a driver produced.
#[derive(Debug, Default)]
pub struct Provided {
    pub outputs: Map<String, Value>,
    pub secrets: Map<String, Value>,
    pub manifests: Vec<Value>,
    /// A secret was derived with the public development key.
    pub used_development_key: bool,
    /// It read a secret (`derive`, a CI variable), so what it made may hold one.
    pub read_secret: bool,
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
        Driver::Cmd(program) => cmd::run(invocation, program)?,
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

/// How a driver reads what is secret: in the real run each value is registered for masking
/// the moment it is read; in the shadow run it is read as its shadow.
#[derive(Clone, Default)]
struct SecretReads {
    shadow: bool,
    definition: String,
}

impl SecretReads {
    fn of(invocation: &Invocation<'_>) -> SecretReads {
        SecretReads {
            shadow: invocation.shadow,
            definition: invocation.definition.name.clone(),
        }
    }

    /// A CI variable a definition reads is a secret until shown otherwise.
    fn variable(&self, name: &str, value: String) -> String {
        self.read(value, || format!("CI variable `{name}`"))
    }

    fn derived(&self, purpose: &str, value: String) -> String {
        self.read(value, || {
            format!("derive(\"{purpose}\") of definition `{}`", self.definition)
        })
    }

    fn read(&self, value: String, origin: impl FnOnce() -> String) -> String {
        if self.shadow {
            super::shadow::shadow_text(&value)
        } else {
            crate::secret::register(&value, &origin());
            value
        }
    }
}

/// A refusal: what the definition made from a secret would be exposed.
pub fn secret_dependent(invocation: &Invocation<'_>, message: String) -> DriverError {
    DriverError::Refused(definition_error(invocation, message).with_help(
        "secrets may only go into a Secret's data (and outputs under `secrets`); if a param carries a secret, the Score file must not pass one there",
    ))
}

/// Refuses manifests in which something built from a secret lies outside a Secret's data:
/// the fields where the real and the shadow run differ (see `resolve::shadow`).
pub fn check_exposure(
    invocation: &Invocation<'_>,
    real: &[Value],
    shadow: &[Value],
) -> Result<(), DriverError> {
    let Some(exposed) = super::shadow::exposed(real, shadow) else {
        return Err(secret_dependent(
            invocation,
            "makes a different number of manifests when its secret inputs change".into(),
        ));
    };
    let Some((index, path)) = exposed.first() else {
        return Ok(());
    };
    let manifest = &real[*index];
    // A key built from a secret is part of the path: masked, as every message is when shown.
    let field = crate::secret::redact(&path.join(".")).into_owned();
    let value = path.iter().try_fold(manifest, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        Value::Object(map) => map.get(key),
        _ => None,
    });
    // The field's own name first: a key under a Secret's data may be what holds the secret.
    let known = crate::secret::global();
    let origin = path
        .last()
        .and_then(|key| known.find(key))
        .or_else(|| value.and_then(|v| known.find(&v.to_string())))
        .unwrap_or_else(|| "a secret it was given or derived".into());
    let also = match exposed.len() {
        1 => String::new(),
        n => format!(
            " (and {} more field{})",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
    Err(secret_dependent(
        invocation,
        format!(
            "puts a value built from a secret ({origin}) into {} `{}` field `{field}`{also}, where anyone who can read the manifests sees it",
            manifest["kind"].as_str().unwrap_or("object"),
            manifest["metadata"]["name"].as_str().unwrap_or_default(),
        ),
    ))
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
