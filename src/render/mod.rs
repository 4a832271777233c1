//! Rendering: workloads and their provisioned resources become Kubernetes manifests.
//! Placeholders are substituted here; secret values only ever reach Secret objects.

mod guard;
pub mod images;
pub mod kubernetes;
mod manifest_set;
mod substitute;

use std::collections::HashMap;

use serde_json::Value;

pub use images::{ContainerImage, ImageError, Images};
pub use manifest_set::{MARKER, ManifestSet, Object};

use crate::baseline::{Environment, WorkloadPolicy};
use crate::diagnostic::Diagnostic;
use crate::resolve::{Graph, Key};
use crate::score::LoadedWorkload;

pub struct Options<'a> {
    pub environment: &'a Environment,
    pub policy: &'a WorkloadPolicy,
    pub images: &'a Images,
    pub app: &'a str,
    /// Keys the pod config hash, which covers secret values.
    pub key: &'a Key,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the workloads could not be rendered")]
    Invalid(Vec<Diagnostic>),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{0}")]
    Conflict(String),
    /// A secret would land outside a Secret's data (exit 3).
    #[error("a secret value would be exposed")]
    Refused(Vec<Diagnostic>),
}

/// What a render made: the manifests, and the image it chose for each container (which a
/// deployment record keeps).
#[derive(Debug)]
pub struct Rendered {
    pub manifests: ManifestSet,
    pub images: Vec<ContainerImage>,
}

pub fn render(
    workloads: &[LoadedWorkload],
    graph: &Graph,
    options: &Options<'_>,
) -> Result<Rendered, Error> {
    options.images.check(workloads)?;
    let mut objects = Vec::new();
    let mut images = Vec::new();
    let (mut errors, mut refused) = (Vec::new(), Vec::new());
    for loaded in workloads {
        match kubernetes::workload_objects(loaded, graph, options) {
            Ok((bodies, chosen)) => {
                let origin = format!("workload `{}`", loaded.workload.metadata.name);
                objects.extend(bodies.into_iter().map(|body| Object {
                    body,
                    origin: origin.clone(),
                }));
                images.extend(chosen);
            }
            Err(Error::Refused(diagnostics)) => refused.extend(diagnostics),
            Err(Error::Invalid(diagnostics)) => errors.extend(diagnostics),
            Err(other) => return Err(other),
        }
    }
    // A refusal decides the exit code; every problem is reported.
    if !refused.is_empty() {
        refused.append(&mut errors);
        crate::diagnostic::sort(&mut refused);
        return Err(Error::Refused(refused));
    }
    if !errors.is_empty() {
        crate::diagnostic::sort(&mut errors);
        return Err(Error::Invalid(errors));
    }
    // Shared infrastructure (one broker for several topics) comes from several resources as the
    // same object: keep it once, saying every resource it serves.
    // Equal manifests have equal identities: only those that share one are compared.
    let mut manifests: Vec<(&Value, Vec<&str>, String)> = Vec::new();
    let mut by_identity: HashMap<ObjectIdentity<'_>, Vec<usize>> = HashMap::new();
    for provisioned in &graph.resources {
        let (workload, name) = &provisioned.declared_by[0];
        for manifest in &provisioned.manifests {
            let same = by_identity.entry(identity(manifest)).or_default();
            match same.iter().find(|&&i| manifests[i].0 == manifest) {
                Some(&i) => manifests[i].1.push(&provisioned.identity.uid),
                None => {
                    same.push(manifests.len());
                    manifests.push((
                        manifest,
                        vec![&provisioned.identity.uid],
                        format!(
                            "resource `{name}` of workload `{workload}` (definition `{}`)",
                            provisioned.definition
                        ),
                    ));
                }
            }
        }
    }
    for (manifest, uids, origin) in manifests {
        objects.push(Object {
            body: adopt(manifest.clone(), options, &uids.join(",")),
            origin,
        });
    }
    let exposed = guard::check(&objects, crate::secret::global());
    if !exposed.is_empty() {
        return Err(Error::Refused(exposed));
    }
    let manifests =
        ManifestSet::new(objects, &options.environment.namespace).map_err(Error::Conflict)?;
    Ok(Rendered { manifests, images })
}

/// apiVersion, kind, namespace and name, as a manifest gives them.
type ObjectIdentity<'v> = [Option<&'v str>; 4];

fn identity(manifest: &Value) -> ObjectIdentity<'_> {
    let metadata = &manifest["metadata"];
    [
        manifest["apiVersion"].as_str(),
        manifest["kind"].as_str(),
        metadata["namespace"].as_str(),
        metadata["name"].as_str(),
    ]
}

/// A driver's manifest joins the environment: its namespace (unless it names one) and labels
/// that say who manages it, and which resources (uids) it serves.
fn adopt(mut manifest: Value, options: &Options<'_>, uids: &str) -> Value {
    let metadata = &mut manifest["metadata"];
    if metadata["namespace"].is_null() {
        metadata["namespace"] = options.environment.namespace.clone().into();
    }
    for (key, value) in [
        (
            "app.kubernetes.io/managed-by",
            kubernetes::labels::MANAGED_BY,
        ),
        ("app.kubernetes.io/part-of", options.app),
    ] {
        if metadata["labels"][key].is_null() {
            metadata["labels"][key] = value.into();
        }
    }
    metadata["annotations"]["scoreline.dev/resource"] = uids.into();
    manifest
}
