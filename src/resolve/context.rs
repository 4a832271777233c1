//! What a driver sees: the resource, the workload that declares it, every workload of the
//! render (for workload-to-workload resources), the environment, the app, and the outputs of the
//! resources its params read.

use serde_json::{Map, Value, json};

use crate::baseline::Environment;
use crate::score::{LoadedWorkload, Workload};

/// `{NAME: {name, annotations, service}}` for every workload of the render.
pub fn workloads(workloads: &[LoadedWorkload]) -> Value {
    let mut map = Map::new();
    for loaded in workloads {
        map.insert(
            loaded.workload.metadata.name.clone(),
            workload(&loaded.workload),
        );
    }
    Value::Object(map)
}

/// A workload as templates see it; `service` is null when it publishes no ports. The Service
/// the renderer makes is named after the workload.
pub fn workload(workload: &Workload) -> Value {
    let service = workload.service.as_ref().filter(|s| !s.ports.is_empty()).map(|s| {
        let ports: Map<String, Value> = s
            .ports
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    json!({"port": p.port, "targetPort": p.target_port(), "protocol": p.protocol()}),
                )
            })
            .collect();
        json!({"name": workload.metadata.name, "ports": ports})
    });
    json!({
        "name": workload.metadata.name,
        "annotations": workload.metadata.annotations,
        "service": service,
    })
}

pub fn environment(environment: &Environment) -> Value {
    json!({
        "name": environment.name,
        "type": environment.env_type,
        "namespace": environment.namespace,
        "values": environment.values,
    })
}
