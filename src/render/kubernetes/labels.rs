//! Kubernetes recommended labels (app.kubernetes.io/*) for a workload's objects.

use serde_json::{Map, Value, json};

pub const MANAGED_BY: &str = "scoreline";

/// The labels that select a workload's pods; they never change, since selectors are immutable.
pub fn selector(workload: &str) -> Map<String, Value> {
    let Value::Object(map) = json!({
        "app.kubernetes.io/name": workload,
        "app.kubernetes.io/instance": workload,
    }) else {
        unreachable!("a literal object")
    };
    map
}

/// Every label of a workload's objects: the selector, part-of, managed-by, and the policy's.
pub fn workload(
    workload: &str,
    app: &str,
    policy: &std::collections::BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut labels = selector(workload);
    labels.insert("app.kubernetes.io/part-of".into(), app.into());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    for (k, v) in policy {
        labels.entry(k.clone()).or_insert_with(|| v.clone().into());
    }
    labels
}
