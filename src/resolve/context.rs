//! What a driver sees: the resource, the workload that declares it, every workload of the
//! render (for workload-to-workload resources), the environment, the app, and the outputs of the
//! resources its params read.
//!
//! The parts shared by every resource of a render (the workloads, the environment) are built
//! once per render and only referred to per resource: a render costs time linear in its
//! resources, however many workloads it has.

use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use minijinja::value::{Serde, Value as Jinja};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::baseline::Environment;
use crate::score::{LoadedWorkload, Workload};

/// Built once per render: every workload and the environment, as JSON (for `cmd` programs) and,
/// once a template first asks, as template values (whose clones are shared references).
pub struct Shared {
    /// Each workload as templates see it, in the order of the render's workloads.
    workloads: Vec<Value>,
    /// `{NAME: workload}` for every workload of the render.
    all: Arc<Value>,
    environment: Value,
    templates: OnceLock<TemplateValues>,
}

struct TemplateValues {
    workloads: Vec<Jinja>,
    all: Jinja,
    environment: Jinja,
}

impl Shared {
    pub fn new(workloads: &[LoadedWorkload], environment: &Environment) -> Shared {
        let each: Vec<Value> = workloads.iter().map(|w| workload(&w.workload)).collect();
        let mut all = Map::new();
        for (loaded, value) in workloads.iter().zip(&each) {
            all.insert(loaded.workload.metadata.name.clone(), value.clone());
        }
        Shared {
            workloads: each,
            all: Arc::new(Value::Object(all)),
            environment: json!({
                "name": environment.name,
                "type": environment.env_type,
                "namespace": environment.namespace,
                "values": environment.values,
            }),
            templates: OnceLock::new(),
        }
    }

    fn templates(&self) -> &TemplateValues {
        self.templates.get_or_init(|| TemplateValues {
            workloads: self
                .workloads
                .iter()
                .map(|w| Jinja::from(Serde(w)))
                .collect(),
            all: Jinja::from(Serde(&*self.all)),
            environment: Jinja::from(Serde(&self.environment)),
        })
    }
}

/// The context of one resource: its own parts, and references to the render's shared ones.
pub struct Context<'a> {
    pub shared: &'a Shared,
    /// The index of the declaring workload.
    pub workload: usize,
    /// `{type, class, id, uid, slug, name, params, metadata, requested}`.
    pub resource: Value,
    pub app: &'a str,
    /// The outputs of the resources its params read, by resource name.
    pub resources: Map<String, Value>,
}

impl Context<'_> {
    /// `{NAME: {name, annotations, service}}` for every workload of the render.
    pub fn workloads(&self) -> Arc<Value> {
        self.shared.all.clone()
    }

    /// `{resource, workload, workloads, environment, app, resources}` for templates.
    pub fn to_template_value(&self) -> Jinja {
        let shared = self.shared.templates();
        let entries: IndexMap<Jinja, Jinja> = [
            ("resource", Jinja::from(Serde(&self.resource))),
            ("workload", shared.workloads[self.workload].clone()),
            ("workloads", shared.all.clone()),
            ("environment", shared.environment.clone()),
            ("app", Jinja::from(self.app)),
            ("resources", Jinja::from(Serde(&self.resources))),
        ]
        .into_iter()
        .map(|(key, value)| (Jinja::from(key), value))
        .collect();
        Jinja::from_object(entries)
    }

    /// `{resource, context: {workload, workloads, environment, app, resources}}`, the JSON a
    /// `cmd` program reads (written from references: nothing is copied).
    pub fn to_cmd_input(&self) -> String {
        #[derive(Serialize)]
        struct Input<'c> {
            resource: &'c Value,
            context: Inner<'c>,
        }
        #[derive(Serialize)]
        struct Inner<'c> {
            workload: &'c Value,
            workloads: &'c Value,
            environment: &'c Value,
            app: &'c str,
            resources: &'c Map<String, Value>,
        }
        let input = Input {
            resource: &self.resource,
            context: Inner {
                workload: &self.shared.workloads[self.workload],
                workloads: &self.shared.all,
                environment: &self.shared.environment,
                app: self.app,
                resources: &self.resources,
            },
        };
        serde_json::to_string(&input).expect("JSON values serialise")
    }
}

/// A workload as templates see it; `service` is null when it publishes no ports. The Service
/// the renderer makes is named after the workload.
fn workload(workload: &Workload) -> Value {
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
