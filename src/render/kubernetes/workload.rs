//! A workload's own objects: Deployment, Service (when it publishes ports), and the ConfigMap
//! and Secret holding its files and secret values.

use hmac::Mac;
use serde_json::{Map, Value, json};

use super::container::{FILES_VOLUME, Pod, SECRET_FILES_VOLUME};
use super::data::Data;
use super::labels;
use crate::render::Options;
use crate::render::images::ContainerImage;
use crate::render::substitute::Substituter;
use crate::resolve::Graph;
use crate::score::{LoadedWorkload, Readiness};

/// The workload's objects, and the image each of its containers runs.
pub fn objects(
    loaded: &LoadedWorkload,
    graph: &Graph,
    options: &Options<'_>,
) -> Result<(Vec<Value>, Vec<ContainerImage>), crate::render::Error> {
    let workload = &loaded.workload;
    let name = workload.metadata.name.as_str();
    let mut pod = Pod {
        substituter: Substituter::new(loaded, graph),
        overrides: options.images,
        images: Vec::new(),
        policy: options.policy,
        config: Data::default(),
        secret: Data::default(),
        config_files: Vec::new(),
        secret_files: Vec::new(),
        volumes: Vec::new(),
        errors: Vec::new(),
        refused: Vec::new(),
    };
    let built: Vec<(String, Value)> = workload
        .containers
        .iter()
        .map(|(c, spec)| (c.clone(), pod.container(c, spec)))
        .collect();
    if !pod.refused.is_empty() {
        pod.refused.append(&mut pod.errors);
        return Err(crate::render::Error::Refused(pod.refused));
    }
    if !pod.errors.is_empty() {
        return Err(crate::render::Error::Invalid(pod.errors));
    }
    let (init, main) = split_init_containers(loaded, built);
    let labels = labels::workload(name, options.app, &options.policy.labels);
    let metadata = |object: &str| {
        let mut m = object_of([
            ("name", object.into()),
            ("namespace", options.environment.namespace.as_str().into()),
            ("labels", Value::Object(labels.clone())),
        ]);
        if !options.policy.annotations.is_empty() {
            m["annotations"] = json!(options.policy.annotations);
        }
        m
    };
    let mut volumes = pod.volumes.clone();
    for (volume, object, files, is_secret) in [
        (FILES_VOLUME, pod.config_name(), &pod.config_files, false),
        (
            SECRET_FILES_VOLUME,
            pod.secret_name(),
            &pod.secret_files,
            true,
        ),
    ] {
        if files.is_empty() {
            continue;
        }
        let items: Vec<Value> = files
            .iter()
            .map(|(key, mode)| {
                let mut item = json!({"key": key, "path": key});
                if let Some(mode) = mode {
                    item["mode"] = (*mode).into();
                }
                item
            })
            .collect();
        volumes.push(if is_secret {
            json!({"name": volume, "secret": {"secretName": object, "items": items}})
        } else {
            json!({"name": volume, "configMap": {"name": object, "items": items}})
        });
    }
    let mut pod_spec = object_of([("containers", Value::Array(main))]);
    if !init.is_empty() {
        pod_spec["initContainers"] = init.into();
    }
    if !volumes.is_empty() {
        pod_spec["volumes"] = volumes.into();
    }
    if let Some(security) = &options.policy.pod_security_context {
        pod_spec["securityContext"] = security.clone();
    }
    let mut template_metadata = object_of([("labels", Value::Object(labels.clone()))]);
    let mut annotations: Map<String, Value> = options
        .policy
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    if !pod.config.is_empty() || !pod.secret.is_empty() {
        // Pods roll when their files or secret values change, though the object names do not.
        annotations.insert(
            "scoreline.dev/config-hash".into(),
            config_hash(&pod.config, &pod.secret, options.key).into(),
        );
    }
    if !annotations.is_empty() {
        template_metadata["annotations"] = Value::Object(annotations);
    }
    let selector = || Value::Object(labels::selector(name));
    let mut objects = vec![object_of([
        ("apiVersion", "apps/v1".into()),
        ("kind", "Deployment".into()),
        ("metadata", metadata(name)),
        (
            "spec",
            object_of([
                ("selector", object_of([("matchLabels", selector())])),
                (
                    "template",
                    object_of([("metadata", template_metadata), ("spec", pod_spec)]),
                ),
            ]),
        ),
    ])];
    if let Some(service) = workload.service.as_ref().filter(|s| !s.ports.is_empty()) {
        let ports: Vec<Value> = service
            .ports
            .iter()
            .map(|(port_name, p)| {
                let protocol = serde_json::to_value(p.protocol()).unwrap_or_default();
                json!({"name": port_name, "port": p.port, "targetPort": p.target_port(), "protocol": protocol})
            })
            .collect();
        objects.push(object_of([
            ("apiVersion", "v1".into()),
            ("kind", "Service".into()),
            ("metadata", metadata(name)),
            (
                "spec",
                object_of([("selector", selector()), ("ports", Value::Array(ports))]),
            ),
        ]));
    }
    if !pod.config.is_empty() {
        let mut config = object_of([
            ("apiVersion", "v1".into()),
            ("kind", "ConfigMap".into()),
            ("metadata", metadata(&pod.config_name())),
        ]);
        config
            .as_object_mut()
            .expect("object")
            .extend(pod.config.config_map_fields());
        objects.push(config);
    }
    if !pod.secret.is_empty() {
        objects.push(object_of([
            ("apiVersion", "v1".into()),
            ("kind", "Secret".into()),
            ("metadata", metadata(&pod.secret_name())),
            ("type", "Opaque".into()),
            ("data", Value::Object(pod.secret.secret_data())),
        ]));
    }
    Ok((objects, pod.images))
}

/// A JSON object of these entries, moved in (the `json!` macro would copy each value).
fn object_of<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// Containers other containers wait for (`before`) start first, as init containers: to
/// completion for `complete`, as native sidecars for `started` and `healthy` (the latter gated
/// by its readiness probe used as startup probe).
fn split_init_containers(
    loaded: &LoadedWorkload,
    built: Vec<(String, Value)>,
) -> (Vec<Value>, Vec<Value>) {
    let mut readiness: Vec<(String, Readiness)> = Vec::new();
    for container in loaded.workload.containers.values() {
        for (other, before) in &container.before {
            if !readiness.iter().any(|(n, _)| n == other) {
                readiness.push((other.clone(), before.ready));
            }
        }
    }
    let (mut init, mut main) = (Vec::new(), Vec::new());
    for (name, mut container) in built {
        match readiness.iter().find(|(n, _)| *n == name).map(|(_, r)| *r) {
            None => main.push(container),
            Some(Readiness::Complete) => init.push(container),
            Some(ready) => {
                container["restartPolicy"] = "Always".into();
                if ready == Readiness::Healthy
                    && let Some(probe) = container.get("readinessProbe").cloned()
                {
                    container["startupProbe"] = probe;
                }
                init.push(container);
            }
        }
    }
    (init, main)
}

fn config_hash(config: &Data, secret: &Data, key: &crate::resolve::Key) -> String {
    let mut mac = key.content_mac("scoreline-config-hash-v1");
    mac.update(
        Value::Object(config.config_map_fields())
            .to_string()
            .as_bytes(),
    );
    // Without the platform key, pods roll on config changes only (see `Key::covers_secrets`).
    if key.covers_secrets() {
        mac.update(&[0]);
        mac.update(Value::Object(secret.secret_data()).to_string().as_bytes());
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
