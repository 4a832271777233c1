//! Resolving a render's resources against an environment's baseline: choose each resource's
//! definition, provision resources in dependency order (shared ones once), and collect their
//! outputs (secret ones marked), manifests and warnings. Writes no files.

mod context;
mod derive;
mod driver;
mod graph;
mod identity;
mod outputs;
mod shadow;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

pub use derive::Key;
pub use graph::Plan;
pub use identity::{Identity, dns_label};
pub use outputs::Outputs;
use outputs::{Returned, Shadowed};

use crate::baseline::{self, Baseline, Environment, Selection, Subject};
use crate::diagnostic::Diagnostic;
use crate::score::LoadedWorkload;
use crate::score::placeholder::{self, Reference, Template};
use driver::{DriverError, Invocation};

/// What to resolve: the workloads of one render, for one environment of one app.
pub struct Request<'a> {
    pub workloads: &'a [LoadedWorkload],
    pub baseline: &'a Baseline,
    pub environment: &'a Environment,
    pub app: &'a str,
    pub key: Key,
}

/// A resource as provisioned.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub identity: Identity,
    pub resource_type: String,
    pub class: String,
    /// (workload, resource name) pairs that declare it.
    pub declared_by: Vec<(String, String)>,
    pub definition: String,
    pub outputs: Outputs,
    pub manifests: Vec<Value>,
}

/// Every resource of a render, provisioned, in dependency order.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub resources: Vec<Provisioned>,
    bindings: HashMap<(String, String), usize>,
    pub warnings: Vec<Diagnostic>,
}

impl Graph {
    /// The resource a workload's resource name refers to.
    pub fn resource(&self, workload: &str, name: &str) -> Option<&Provisioned> {
        self.bindings
            .get(&(workload.to_owned(), name.to_owned()))
            .map(|&i| &self.resources[i])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("resources could not be resolved")]
    Invalid(Vec<Diagnostic>),
    #[error("refused by policy")]
    Refused(Vec<Diagnostic>),
    #[error("a resource driver failed")]
    Failed(Vec<Diagnostic>),
}

/// How one resource of one workload is (or is not) provided.
pub struct Explanation<'b> {
    pub workload: String,
    pub resource: String,
    pub selection: Selection<'b>,
}

/// For every resource of every workload: the definitions considered and their verdicts; plus an
/// error, located at the resource, for each one no definition provides.
pub fn explain<'b>(
    request: &Request<'b>,
) -> Result<(Vec<Explanation<'b>>, Vec<Diagnostic>), Error> {
    let plan = graph::plan(request.workloads).map_err(Error::Invalid)?;
    let mut explanations = Vec::new();
    let mut unresolved = Vec::new();
    for (w, loaded) in request.workloads.iter().enumerate() {
        for name in loaded.workload.resources.keys() {
            let node = &plan.nodes[plan
                .node_of(w, name)
                .expect("every declared resource has a node")];
            let selection = selection_for(request, node);
            if selection.winner().is_none() {
                unresolved.push(
                    graph::declaration_error(
                        request.workloads,
                        w,
                        name,
                        no_definition_message(&selection),
                    )
                    .with_help(no_definition_help(&selection, request.baseline)),
                );
            }
            explanations.push(Explanation {
                workload: loaded.workload.metadata.name.clone(),
                resource: name.clone(),
                selection,
            });
        }
    }
    Ok((explanations, unresolved))
}

pub fn resolve(request: &Request<'_>) -> Result<Graph, Error> {
    let workloads = request.workloads;
    let plan = graph::plan(workloads).map_err(Error::Invalid)?;
    let shared = context::Shared::new(workloads, request.environment);
    let engines = driver::Engines::default();
    let mut done: Vec<Option<usize>> = vec![None; plan.nodes.len()];
    let mut graph = Graph::default();
    let (mut invalid, mut refused, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    let mut used_development_key = false;
    for &index in &plan.order {
        let node = &plan.nodes[index];
        if node.dependencies.iter().any(|d| done[*d].is_none()) {
            continue; // a dependency failed and was reported
        }
        let (w, name) = &node.declarations[0];
        let declaring = &workloads[*w];
        let workload_name = &declaring.workload.metadata.name;
        let selection = selection_for(request, node);
        let Some(definition) = selection.winner() else {
            invalid.push(
                graph::declaration_error(workloads, *w, name, no_definition_message(&selection))
                    .with_help(no_definition_help(&selection, request.baseline)),
            );
            continue;
        };
        let used: Vec<(&String, &Provisioned)> = declaring
            .workload
            .resources
            .keys()
            .filter_map(|dep| {
                let i = plan.node_of(*w, dep)?;
                let provisioned = &graph.resources[done[i]?];
                node.dependencies.contains(&i).then_some((dep, provisioned))
            })
            .collect();
        let params = match substitute_params(request, &plan, &graph, &done, *w, name, Side::Real) {
            Ok(p) => p,
            Err(d) => {
                invalid.push(d);
                continue;
            }
        };
        let shadow_params =
            substitute_params(request, &plan, &graph, &done, *w, name, Side::Shadow)
                .expect("the shadow looks up what the real run found");
        // Secrets among the inputs: what the driver makes from them is run again as shadows.
        let given_secrets =
            params != shadow_params || used.iter().any(|(_, p)| p.outputs.has_secrets());
        let context_of = |side: Side| {
            let (params, resources): (&Value, Map<String, Value>) = match side {
                Side::Real => (
                    &params,
                    used.iter()
                        .map(|(d, p)| ((*d).clone(), p.outputs.to_json()))
                        .collect(),
                ),
                Side::Shadow => (
                    &shadow_params,
                    used.iter()
                        .map(|(d, p)| ((*d).clone(), p.outputs.shadow_json()))
                        .collect(),
                ),
            };
            context::Context {
                shared: &shared,
                workload: *w,
                resource: json!({
                    "type": node.resource.kind,
                    "class": node.resource.class(),
                    "id": node.identity.res_id,
                    "uid": node.identity.uid,
                    "slug": node.identity.slug,
                    "name": name,
                    "params": params,
                    "metadata": node.resource.metadata.clone().unwrap_or_default(),
                    "requested": node.requested,
                }),
                app: request.app,
                resources,
            }
        };
        let context = context_of(Side::Real);
        let secret_texts = node
            .dependencies
            .iter()
            .filter_map(|d| done[*d])
            .flat_map(|i| graph.resources[i].outputs.secret_texts())
            .collect();
        let invocation = Invocation {
            definition,
            context: &context,
            engines: &engines,
            environment: request.environment,
            uid: &node.identity.uid,
            key: &request.key,
            subject: format!("resource `{name}` of workload `{workload_name}`"),
            secret_texts,
            shadow: false,
        };
        let provided = driver::run(&invocation).and_then(|provided| {
            if !(given_secrets || provided.read_secret) {
                return Ok((provided, Shadowed::Untouched));
            }
            if !definition.driver.is_pure() {
                return Ok((provided, Shadowed::Opaque));
            }
            let shadow_context = context_of(Side::Shadow);
            let shadow = driver::run(&Invocation {
                context: &shadow_context,
                shadow: true,
                ..invocation.clone()
            })
            .map_err(|_| driver::secret_dependent(&invocation, "fails when its secret inputs change, so what it makes depends on a secret's content".into()))?;
            driver::check_exposure(&invocation, &provided.manifests, &shadow.manifests)?;
            Ok((provided, Shadowed::Ran { outputs: shadow.outputs, secrets: shadow.secrets }))
        });
        match provided {
            Ok((provided, shadowed)) => {
                used_development_key |= provided.used_development_key;
                // A `cmd` program given secrets makes every output secret for routing, but which
                // of its values hold one is unknown: only what it declares secret is masked.
                let masked: Option<Vec<String>> = matches!(shadowed, Shadowed::Opaque)
                    .then(|| provided.secrets.keys().cloned().collect());
                let outputs = Outputs::new(Returned {
                    outputs: provided.outputs,
                    secrets: provided.secrets,
                    shadow: shadowed,
                });
                register_secrets(&outputs, masked.as_deref(), name, workload_name);
                done[index] = Some(graph.resources.len());
                for (dw, dname) in &node.declarations {
                    graph.bindings.insert(
                        (workloads[*dw].workload.metadata.name.clone(), dname.clone()),
                        graph.resources.len(),
                    );
                }
                graph.resources.push(Provisioned {
                    identity: node.identity.clone(),
                    resource_type: node.resource.kind.clone(),
                    class: node.resource.class().to_owned(),
                    declared_by: node
                        .declarations
                        .iter()
                        .map(|(dw, dn)| (workloads[*dw].workload.metadata.name.clone(), dn.clone()))
                        .collect(),
                    definition: definition.name.clone(),
                    outputs,
                    manifests: provided.manifests,
                });
            }
            Err(DriverError::Invalid(d)) => invalid.push(d),
            Err(DriverError::Refused(d)) => refused.push(d),
            Err(DriverError::Failed(d)) => failed.push(d),
        }
    }
    if used_development_key {
        graph.warnings.push(
            Diagnostic::general(crate::diagnostic::Severity::Warning, format!("SCORELINE_KEY is not set: secrets for environment `{}` are derived from the public development key", request.environment.name))
                .with_help("fine on a laptop; set SCORELINE_KEY from the CI secret store for shared environments"),
        );
    }
    // The most serious kind of failure decides the exit code; every problem is reported.
    let mut all: Vec<Diagnostic> = refused
        .iter()
        .chain(&failed)
        .chain(&invalid)
        .cloned()
        .collect();
    crate::diagnostic::sort(&mut all);
    if !refused.is_empty() {
        Err(Error::Refused(all))
    } else if !failed.is_empty() {
        Err(Error::Failed(all))
    } else if !invalid.is_empty() {
        Err(Error::Invalid(all))
    } else {
        Ok(graph)
    }
}

/// Every definition of the node's type, ranked for this environment and app.
fn selection_for<'b>(request: &Request<'b>, node: &graph::Node) -> Selection<'b> {
    let subject = Subject::new(
        &node.resource,
        node.identity.res_id.clone(),
        request.environment,
        request.app,
    );
    baseline::select(&request.baseline.definitions, &subject)
}

fn no_definition_message(selection: &Selection<'_>) -> String {
    let s = &selection.subject;
    let tied = selection.tied();
    if tied.len() > 1 {
        let names: Vec<String> = tied.iter().map(|d| d.describe()).collect();
        return format!(
            "resource definitions {} tie for {} (class {}, id {}) in environment `{}`",
            names.join(" and "),
            s.resource_type,
            s.class,
            s.res_id,
            s.env
        );
    }
    format!(
        "no resource definition matches {} (class {}, id {}) in environment `{}` (type {})",
        s.resource_type, s.class, s.res_id, s.env, s.env_type
    )
}

fn no_definition_help(selection: &Selection<'_>, baseline: &Baseline) -> String {
    if selection.tied().len() > 1 {
        return "make one rule more specific (res_id > env > app > env_type), or narrow the other's criteria".into();
    }
    if selection.candidates.is_empty() {
        return baseline.unknown_type(&selection.subject.resource_type);
    }
    let lines: Vec<String> = selection
        .candidates
        .iter()
        .map(|c| match &c.verdict {
            baseline::Verdict::NoMatch { reasons } => {
                format!("{}: {}", c.definition.describe(), reasons.join("; "))
            }
            _ => c.definition.describe(),
        })
        .collect();
    let class = selection.class_suggestion().map(|s| s + "\n  ");
    format!(
        "{}definitions of this type:\n    {}",
        class.unwrap_or_default(),
        lines.join("\n    ")
    )
}

/// Which values a run sees: the real ones, or their shadows (see `shadow`).
#[derive(Clone, Copy)]
enum Side {
    Real,
    Shadow,
}

/// Every string of a resource's secret outputs — declared secret, or shown by its shadow run to
/// be built from a secret — registered for masking under the placeholder that reads it; only
/// the keys in `only` when given.
fn register_secrets(outputs: &Outputs, only: Option<&[String]>, resource: &str, workload: &str) {
    for (key, texts) in outputs.secret_texts_by_key() {
        if only.is_some_and(|keys| !keys.contains(key)) {
            continue;
        }
        let origin = format!("${{resources.{resource}.{key}}} of workload `{workload}`");
        texts
            .iter()
            .for_each(|t| crate::secret::register(t, &origin));
    }
}

/// A resource's params with `${resources.…}` replaced by dependency outputs, or by their shadows.
/// A param that is exactly one placeholder keeps the output's type.
fn substitute_params(
    request: &Request<'_>,
    plan: &Plan,
    graph: &Graph,
    done: &[Option<usize>],
    w: usize,
    name: &str,
    side: Side,
) -> Result<Value, Diagnostic> {
    let loaded = &request.workloads[w];
    let Some(params) = &loaded.workload.resources[name].params else {
        return Ok(Value::Object(Map::new()));
    };
    let mut substitute = |text: &str, path: &[String]| -> Result<Value, Diagnostic> {
        let template = Template::parse(text).expect("validated Score strings parse");
        let lookup = |reference: &Reference| -> Result<Value, String> {
            let Reference::Resource { name: dep, keys } = reference else {
                return Err("only ${resources.…} placeholders are expanded in params".into());
            };
            let node = plan
                .node_of(w, dep)
                .ok_or_else(|| format!("no resource `{dep}`"))?;
            let provisioned = &graph.resources[done[node].ok_or("its dependency failed")?];
            match side {
                Side::Real => provisioned.outputs.lookup(keys).map(|(v, _)| v.clone()),
                Side::Shadow => provisioned.outputs.shadow_lookup(keys).cloned(),
            }
            .map_err(|e| {
                format!(
                    "resource `{dep}` ({}) has no such output: {e}",
                    provisioned.definition
                )
            })
        };
        let locate = |offset: usize, message: String| {
            let (_, node) = loaded
                .document
                .lookup(path)
                .expect("params strings come from the document");
            loaded
                .source
                .error(node.position_at(&loaded.source, offset), message)
                .with_help("name an output the resource's definition provides")
        };
        if let Some(p) = template.single_placeholder() {
            return lookup(&p.reference)
                .map_err(|m| locate(p.offset, format!("{}: {m}", p.reference)));
        }
        let text = template.substitute(|p| {
            let value = lookup(&p.reference)
                .map_err(|m| locate(p.offset, format!("{}: {m}", p.reference)))?;
            Ok(placeholder::to_text(&value))
        })?;
        Ok(Value::String(text))
    };
    let root = vec!["resources".to_owned(), name.to_owned(), "params".to_owned()];
    map_strings(&Value::Object(params.clone()), &root, &mut substitute)
}

fn map_strings<E>(
    value: &Value,
    path: &[String],
    f: &mut impl FnMut(&str, &[String]) -> Result<Value, E>,
) -> Result<Value, E> {
    let child = |key: String| {
        let mut p = path.to_vec();
        p.push(key);
        p
    };
    Ok(match value {
        Value::String(s) => f(s, path)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| map_strings(v, &child(i.to_string()), f))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), map_strings(v, &child(k.clone()), f)?)))
                .collect::<Result<_, E>>()?,
        ),
        other => other.clone(),
    })
}
