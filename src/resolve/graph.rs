//! The resources of a render as a graph: one node per uid (shared resources are provisioned
//! once), edges from `${resources.…}` references in params, a deterministic dependency order,
//! and a cycle reported as the cycle.

use std::collections::{BTreeSet, HashMap};

use super::identity::Identity;
use crate::diagnostic::Diagnostic;
use crate::position::Pos;
use crate::score::placeholder::{Reference, Template};
use crate::score::{FileContent, LoadedWorkload, Resource};

/// One unique resource.
#[derive(Debug, Clone)]
pub struct Node {
    pub identity: Identity,
    /// As first declared.
    pub resource: Resource,
    /// Every (workload index, resource name) that declares it, in declaration order.
    pub declarations: Vec<(usize, String)>,
    /// Nodes whose outputs its params read.
    pub dependencies: BTreeSet<usize>,
    /// Top-level output keys the workloads (and other resources' params) read from it.
    pub requested: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub nodes: Vec<Node>,
    /// Node indexes, each after the nodes it depends on.
    pub order: Vec<usize>,
    bindings: HashMap<(usize, String), usize>,
}

impl Plan {
    /// The node a workload's resource name refers to.
    pub fn node_of(&self, workload: usize, name: &str) -> Option<usize> {
        self.bindings.get(&(workload, name.to_owned())).copied()
    }
}

/// Where a resource is declared, for errors: its key under `resources:` in the Score file.
pub fn declaration_error(
    workloads: &[LoadedWorkload],
    workload: usize,
    name: &str,
    message: String,
) -> Diagnostic {
    let w = &workloads[workload];
    let at = w
        .document
        .lookup(&["resources", name])
        .and_then(|(key, _)| key)
        .map_or(Pos::START, |k| k.span.start);
    w.source.error(at, message)
}

pub fn plan(workloads: &[LoadedWorkload]) -> Result<Plan, Vec<Diagnostic>> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_uid: HashMap<String, usize> = HashMap::new();
    let mut bindings = HashMap::new();
    let mut errors = Vec::new();
    for (w, loaded) in workloads.iter().enumerate() {
        let workload = &loaded.workload;
        for (name, resource) in &workload.resources {
            let identity = Identity::of(&workload.metadata.name, name, resource);
            let index = match by_uid.get(&identity.uid) {
                Some(&existing) => {
                    let first = &nodes[existing];
                    if first.resource.params != resource.params {
                        let (fw, fname) = &first.declarations[0];
                        errors.push(
                            declaration_error(workloads, w, name, format!("resource `{name}` shares id `{}` with `{fname}` of workload `{}`, but its params differ", identity.res_id, workloads[*fw].workload.metadata.name))
                                .with_help("a shared resource is provisioned once: give both declarations the same params, or different ids"),
                        );
                    }
                    existing
                }
                None => {
                    by_uid.insert(identity.uid.clone(), nodes.len());
                    nodes.push(Node {
                        identity,
                        resource: resource.clone(),
                        declarations: Vec::new(),
                        dependencies: BTreeSet::new(),
                        requested: BTreeSet::new(),
                    });
                    nodes.len() - 1
                }
            };
            nodes[index].declarations.push((w, name.clone()));
            bindings.insert((w, name.clone()), index);
        }
    }
    // What each shared resource's params read, per declaring workload: identical params text
    // must also mean the same resources, or the resource would depend on whichever workload
    // happened to be read first.
    let mut read_by_params: HashMap<(usize, String), (usize, usize)> = HashMap::new();
    for (w, loaded) in workloads.iter().enumerate() {
        for (text, from) in expanded_strings(loaded) {
            let Ok(template) = Template::parse(&text) else {
                continue;
            };
            for placeholder in template.placeholders() {
                let Reference::Resource { name, keys } = &placeholder.reference else {
                    continue;
                };
                let Some(&target) = bindings.get(&(w, name.clone())) else {
                    continue;
                };
                if let Some(key) = keys.first() {
                    nodes[target].requested.insert(key.clone());
                }
                if let Some(from) = &from
                    && let Some(&source) = bindings.get(&(w, from.clone()))
                    && source != target
                {
                    nodes[source].dependencies.insert(target);
                    let (first_w, first_target) = *read_by_params
                        .entry((source, name.clone()))
                        .or_insert((w, target));
                    if first_target != target {
                        errors.push(
                            declaration_error(workloads, w, from, format!(
                                "shared resource `{from}` reads `${{resources.{name}}}` in its params, which is {} here but {} in workload `{}`",
                                describe(workloads, &nodes[target]),
                                describe(workloads, &nodes[first_target]),
                                workloads[first_w].workload.metadata.name,
                            ))
                            .with_help(format!("a shared resource is provisioned once, from one set of params: give `{name}` the same id in both workloads, or give `{from}` different ids")),
                        );
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let order = order(&nodes).map_err(|cycle| {
        let names: Vec<String> = cycle.iter().map(|&i| describe(workloads, &nodes[i])).collect();
        let (w, name) = &nodes[cycle[0]].declarations[0];
        vec![declaration_error(workloads, *w, name, format!("resources depend on each other in a cycle: {}", names.join(" → ")))
            .with_help("a resource's params may read other resources' outputs only if those do not read it back")]
    })?;
    Ok(Plan {
        nodes,
        order,
        bindings,
    })
}

/// `dns (shop)`: a node as messages name it.
pub fn describe(workloads: &[LoadedWorkload], node: &Node) -> String {
    let (w, name) = &node.declarations[0];
    format!("{name} ({})", workloads[*w].workload.metadata.name)
}

/// Every string of a workload that placeholders are expanded in, with the resource whose params
/// hold it (`None` for container fields).
fn expanded_strings(loaded: &LoadedWorkload) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for container in loaded.workload.containers.values() {
        let texts = container
            .command
            .iter()
            .chain(&container.args)
            .flatten()
            .cloned();
        out.extend(texts.map(|t| (t, None)));
        out.extend(container.variables.values().map(|v| (v.clone(), None)));
        out.extend(container.volumes.values().map(|v| (v.source.clone(), None)));
        for file in container.files.values().filter(|f| !f.no_expand) {
            match file.content() {
                FileContent::Inline(text) => out.push((text.to_owned(), None)),
                FileContent::Source(path) => {
                    if let Some(text) = loaded
                        .workspace
                        .resolve(path)
                        .ok()
                        .and_then(|p| std::fs::read_to_string(p).ok())
                    {
                        out.push((text, None));
                    }
                }
                FileContent::Base64(_) => {}
            }
        }
    }
    for (name, resource) in &loaded.workload.resources {
        let mut strings = Vec::new();
        if let Some(params) = &resource.params {
            collect_strings(&serde_json::Value::Object(params.clone()), &mut strings);
        }
        out.extend(strings.into_iter().map(|s| (s, Some(name.clone()))));
    }
    out
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Kahn's algorithm, taking ready nodes in declaration order so the order is deterministic.
/// On a cycle, returns the nodes of one cycle in order.
fn order(nodes: &[Node]) -> Result<Vec<usize>, Vec<usize>> {
    let mut waiting: Vec<usize> = nodes.iter().map(|n| n.dependencies.len()).collect();
    // Who depends on each node, in declaration order: releasing a node touches only those.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (j, node) in nodes.iter().enumerate() {
        for &d in &node.dependencies {
            dependents[d].push(j);
        }
    }
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.insert(j);
            }
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    // Every node left waits on another node left: walking dependencies must revisit one.
    let mut ordered = vec![false; nodes.len()];
    for &i in &order {
        ordered[i] = true;
    }
    let left: BTreeSet<usize> = (0..nodes.len()).filter(|&i| !ordered[i]).collect();
    let mut path = vec![*left.first().expect("some node is left")];
    let mut on_path = vec![false; nodes.len()];
    on_path[path[0]] = true;
    loop {
        let last = *path.last().expect("path is never empty");
        let next = *nodes[last]
            .dependencies
            .iter()
            .find(|d| left.contains(d))
            .expect("a waiting node has a waiting dependency");
        if on_path[next] {
            let start = path.iter().position(|&p| p == next).expect("on the path");
            let mut cycle = path[start..].to_vec();
            cycle.push(next);
            return Err(cycle);
        }
        on_path[next] = true;
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(dependencies: &[&[usize]]) -> Vec<Node> {
        dependencies
            .iter()
            .enumerate()
            .map(|(i, deps)| {
                let resource: Resource =
                    serde_json::from_value(serde_json::json!({"type": "t"})).unwrap();
                Node {
                    identity: Identity::of("w", &format!("r{i}"), &resource),
                    resource,
                    declarations: vec![(0, format!("r{i}"))],
                    dependencies: deps.iter().copied().collect(),
                    requested: BTreeSet::new(),
                }
            })
            .collect()
    }

    #[test]
    fn dependencies_come_first_and_ties_keep_declaration_order() {
        // 0 reads 3, 3 reads 1; 2 and 4 read nothing.
        let order = order(&nodes(&[&[3], &[], &[], &[1], &[]])).unwrap();
        assert_eq!(order, [1, 2, 3, 0, 4]);
    }

    #[test]
    fn a_long_chain_is_ordered_and_a_cycle_is_named() {
        let chain: Vec<Vec<usize>> = (0..5000).map(|i| vec![(i + 1) % 5000]).collect();
        let mut deps: Vec<&[usize]> = chain.iter().map(Vec::as_slice).collect();
        let last = deps.len() - 1;
        deps[last] = &[];
        assert_eq!(
            order(&nodes(&deps)).unwrap(),
            (0..5000).rev().collect::<Vec<_>>()
        );
        let cycle = order(&nodes(&[&[], &[2], &[3], &[1]])).unwrap_err();
        assert_eq!(cycle, [1, 2, 3, 1]);
    }
}
