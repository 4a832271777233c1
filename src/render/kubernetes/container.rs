//! One Score container as a Kubernetes container: image, command and args, environment (secret
//! values by reference), files and volumes as mounts, compute resources, probes.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::data::Data;
use crate::baseline::WorkloadPolicy;
use crate::diagnostic::Diagnostic;
use crate::render::images::{ContainerImage, Images};
use crate::render::substitute::Substituter;
use crate::score::placeholder::{Reference, Template};
use crate::score::{Container, FileContent, Probe, ResourceLimits};
use crate::source::SourceFile;

/// What the containers of one workload build up together.
pub struct Pod<'a> {
    pub substituter: Substituter<'a>,
    /// The `--image` overrides.
    pub overrides: &'a Images,
    /// The image each container runs, as chosen.
    pub images: Vec<ContainerImage>,
    pub policy: &'a WorkloadPolicy,
    pub config: Data,
    pub secret: Data,
    /// (key, mode) of files in the ConfigMap and in the Secret, mounted by key.
    pub config_files: Vec<(String, Option<u32>)>,
    pub secret_files: Vec<(String, Option<u32>)>,
    /// Pod volumes for Score volumes.
    pub volumes: Vec<Value>,
    pub errors: Vec<Diagnostic>,
    /// Secrets that would land where anyone reading the pod spec sees them (exit 3).
    pub refused: Vec<Diagnostic>,
}

pub const FILES_VOLUME: &str = "files";
pub const SECRET_FILES_VOLUME: &str = "secret-files";

impl Pod<'_> {
    fn workload_name(&self) -> &str {
        &self.substituter.workload.workload.metadata.name
    }

    pub fn secret_name(&self) -> String {
        format!("{}-secrets", self.workload_name())
    }

    pub fn config_name(&self) -> String {
        format!("{}-files", self.workload_name())
    }

    pub fn container(&mut self, name: &str, c: &Container) -> Value {
        let workload = self.workload_name().to_owned();
        let mut out = Map::new();
        out.insert("name".into(), name.into());
        match self.overrides.for_container(&workload, name, &c.image) {
            Ok(image) => {
                out.insert("image".into(), image.clone().into());
                self.images.push(ContainerImage {
                    workload,
                    container: name.to_owned(),
                    reference: image,
                });
            }
            Err(e) => {
                let at = self.node_pos(&["containers", name, "image"]);
                self.errors.push(self.source().error(at, e.to_string()).with_help("pass the built image with --image (the build step prints it), e.g. --image ghcr.io/acme/app@sha256:…"));
            }
        }
        for (key, list) in [("command", &c.command), ("args", &c.args)] {
            if let Some(items) = list {
                let expanded: Vec<Value> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, text)| {
                        self.plain(text, &["containers", name, key, &i.to_string()])
                    })
                    .map(Value::String)
                    .collect();
                out.insert(key.into(), expanded.into());
            }
        }
        let env: Vec<Value> = c
            .variables
            .iter()
            .filter_map(|(var, text)| self.variable(name, var, text))
            .collect();
        if !env.is_empty() {
            out.insert("env".into(), env.into());
        }
        let mut mounts = Vec::new();
        for (i, (target, file)) in c.files.iter().enumerate() {
            if let Some(mount) = self.file(name, i, target, file) {
                mounts.push(mount);
            }
        }
        for (target, volume) in &c.volumes {
            if let Some(mount) = self.volume(name, target, volume) {
                mounts.push(mount);
            }
        }
        if !mounts.is_empty() {
            out.insert("volumeMounts".into(), mounts.into());
        }
        let resources = self.compute(c.resources.as_ref());
        if !resources.is_empty() {
            out.insert("resources".into(), resources.into());
        }
        for (key, probe) in [
            ("livenessProbe", &c.liveness_probe),
            ("readinessProbe", &c.readiness_probe),
        ] {
            if let Some(p) = probe {
                out.insert(key.into(), probe_json(p));
            }
        }
        if let Some(security) = &self.policy.security_context {
            out.insert("securityContext".into(), security.clone());
        }
        Value::Object(out)
    }

    fn source(&self) -> &SourceFile {
        &self.substituter.workload.source
    }

    fn node_pos(&self, path: &[&str]) -> crate::position::Pos {
        self.substituter
            .workload
            .document
            .lookup(path)
            .map_or(crate::position::Pos::START, |(_, n)| n.span.start)
    }

    /// command/args: expanded, and never secret (they are visible in the pod spec).
    fn plain(&mut self, text: &str, path: &[&str]) -> Option<String> {
        match self.substituter.field(text, path) {
            Ok(e) if e.secret => {
                let at = self
                    .substituter
                    .workload
                    .document
                    .lookup(path)
                    .map_or(crate::position::Pos::START, |(_, n)| {
                        n.position_at(self.source(), 0)
                    });
                self.refused.push(
                    self.source()
                        .error(at, format!("a secret output is used in `{}`, which is visible in the pod spec", path.join(".")))
                        .with_help("put it in a variable (kept in a Secret) and refer to it as $(VARIABLE) in args"),
                );
                None
            }
            Ok(e) => Some(e.text),
            Err(d) => {
                self.errors.push(d);
                None
            }
        }
    }

    fn variable(&mut self, container: &str, var: &str, text: &str) -> Option<Value> {
        let expanded = match self
            .substituter
            .field(text, &["containers", container, "variables", var])
        {
            Ok(e) => e,
            Err(d) => {
                self.errors.push(d);
                return None;
            }
        };
        if expanded.secret {
            let key = self.secret.add(
                &format!("{container}.{var}"),
                expanded.text.into_bytes(),
                false,
            );
            Some(
                json!({"name": var, "valueFrom": {"secretKeyRef": {"name": self.secret_name(), "key": key}}}),
            )
        } else {
            Some(json!({"name": var, "value": expanded.text}))
        }
    }

    fn file(
        &mut self,
        container: &str,
        index: usize,
        target: &str,
        file: &crate::score::File,
    ) -> Option<Value> {
        let path = ["containers", container, "files", target];
        let content = self.file_content(&path, file)?;
        let mode = file
            .mode
            .as_deref()
            .and_then(|m| u32::from_str_radix(m, 8).ok());
        let file_name = target.rsplit('/').next().unwrap_or("file");
        let hint = format!("{container}-{index}-{file_name}");
        let binary = matches!(file.content(), FileContent::Base64(_));
        let (key, volume) = if content.1 {
            let key = self.secret.add(&hint, content.0, binary);
            self.secret_files.push((key.clone(), mode));
            (key, SECRET_FILES_VOLUME)
        } else {
            let key = self.config.add(&hint, content.0, binary);
            self.config_files.push((key.clone(), mode));
            (key, FILES_VOLUME)
        };
        // subPath mounts exactly the file, never hiding what else is in its folder.
        Some(json!({"name": volume, "mountPath": target, "subPath": key, "readOnly": true}))
    }

    /// The file's bytes and whether they hold a secret.
    fn file_content(
        &mut self,
        path: &[&str],
        file: &crate::score::File,
    ) -> Option<(Vec<u8>, bool)> {
        let mut field = path.to_vec();
        let result = match file.content() {
            FileContent::Inline(text) if file.no_expand => Ok((text.as_bytes().to_vec(), false)),
            FileContent::Inline(text) => {
                field.push("content");
                self.substituter
                    .field(text, &field)
                    .map(|e| (e.text.into_bytes(), e.secret))
            }
            FileContent::Base64(encoded) => Ok((
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_default(),
                false,
            )),
            FileContent::Source(relative) => {
                field.push("source");
                self.source_file(relative, file.no_expand, &field)
            }
        };
        result.map_err(|d| self.errors.push(d)).ok()
    }

    fn source_file(
        &self,
        relative: &str,
        no_expand: bool,
        field: &[&str],
    ) -> Result<(Vec<u8>, bool), Diagnostic> {
        let workload = self.substituter.workload;
        let at = self.node_pos(field);
        let resolved = workload
            .workspace
            .resolve(relative)
            .map_err(|e| self.source().error(at, format!("file source {e}")))?;
        if no_expand {
            return std::fs::read(&resolved).map(|b| (b, false)).map_err(|e| {
                self.source()
                    .error(at, format!("cannot read file source `{relative}`: {e}"))
            });
        }
        let shown = workload
            .source
            .path
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join(relative);
        let mut text = SourceFile::read(&resolved)?;
        text.path = shown;
        self.substituter
            .file_text(&text.text, &text)
            .map(|e| (e.text.into_bytes(), e.secret))
    }

    fn volume(
        &mut self,
        container: &str,
        target: &str,
        volume: &crate::score::Volume,
    ) -> Option<Value> {
        let at = self.node_pos(&["containers", container, "volumes", target, "source"]);
        let template = Template::parse(&volume.source).ok()?;
        let source = match template.single_placeholder().map(|p| &p.reference) {
            Some(Reference::Resource { name, .. }) => match self
                .substituter
                .resource_outputs(name)
                .map(|p| (p, p.outputs.lookup(&["source".to_owned()])))
            {
                Some((_, Ok((Value::Object(source), false)))) => source.clone(),
                Some((provisioned, Ok((_, true)))) => {
                    self.refused.push(self.source().error(at, format!("the volume source of resource `{name}` (definition `{}`) is built from a secret, and would be visible in the pod spec", provisioned.definition)).with_help("do not pass secret outputs in the params of a volume resource"));
                    return None;
                }
                Some((provisioned, _)) => {
                    self.errors.push(self.source().error(at, format!("resource `{name}` (definition `{}`) has no `source` output, so it cannot be mounted", provisioned.definition)).with_help("a volume definition outputs `source`: a Kubernetes volume source such as {persistentVolumeClaim: {claimName: …}}"));
                    return None;
                }
                None => return None,
            },
            // A plain name is an existing claim.
            _ => {
                let mut map = Map::new();
                map.insert(
                    "persistentVolumeClaim".into(),
                    json!({"claimName": volume.source}),
                );
                map
            }
        };
        let name = format!("vol-{}", self.volumes.len());
        let mut pod_volume = source;
        pod_volume.insert("name".into(), name.clone().into());
        self.volumes.push(Value::Object(pod_volume));
        let mut mount = json!({"name": name, "mountPath": target});
        if let Some(sub) = volume
            .path
            .as_deref()
            .map(|p| p.trim_start_matches('/'))
            .filter(|p| !p.is_empty())
        {
            mount["subPath"] = sub.into();
        }
        if volume.read_only == Some(true) {
            mount["readOnly"] = true.into();
        }
        Some(mount)
    }

    /// Requests and limits from the Score file, each missing one from the policy's defaults.
    /// A default never contradicts what the Score file gives: a default limit below a given
    /// request (or a default request above a given limit) is left out, as the API server would
    /// refuse the pair.
    fn compute(&self, given: Option<&crate::score::ContainerResources>) -> Map<String, Value> {
        let defaults = &self.policy.resources;
        let empty = ResourceLimits::default();
        let given_requests = given.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
        let given_limits = given.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
        let mut requests = Map::new();
        let mut limits = Map::new();
        for kind in ["cpu", "memory"] {
            let of = |l: &ResourceLimits| match kind {
                "cpu" => l.cpu.clone(),
                _ => l.memory.clone(),
            };
            let (own_request, own_limit) = (of(given_requests), of(given_limits));
            let mut request = own_request.clone().or_else(|| of(&defaults.requests));
            let mut limit = own_limit.clone().or_else(|| of(&defaults.limits));
            let quantity = |v: &Option<String>| {
                v.as_deref()?
                    .parse::<crate::score::quantity::Quantity>()
                    .ok()
            };
            if let (Some(r), Some(l)) = (quantity(&request), quantity(&limit))
                && r.0 > l.0
            {
                // The Score file's own pair stays as written; otherwise the default yields.
                match (own_request.is_some(), own_limit.is_some()) {
                    (true, true) => {}
                    (_, true) => request = None,
                    _ => limit = None,
                }
            }
            for (values, value) in [(&mut requests, request), (&mut limits, limit)] {
                if let Some(v) = value {
                    values.insert(kind.into(), v.into());
                }
            }
        }
        let mut out = Map::new();
        for (key, values) in [("requests", requests), ("limits", limits)] {
            if !values.is_empty() {
                out.insert(key.into(), values.into());
            }
        }
        out
    }
}

/// A Kubernetes probe has one handler; Score prefers `exec` when both are given.
fn probe_json(probe: &Probe) -> Value {
    if let Some(exec) = &probe.exec {
        return json!({"exec": {"command": exec.command}});
    }
    let Some(http) = &probe.http_get else {
        return json!({});
    };
    let mut get = json!({"port": http.port, "path": http.path});
    if let Some(host) = &http.host {
        get["host"] = host.clone().into();
    }
    if let Some(scheme) = &http.scheme {
        get["scheme"] = scheme.clone().into();
    }
    if !http.http_headers.is_empty() {
        get["httpHeaders"] = http
            .http_headers
            .iter()
            .map(|h| json!({"name": h.name, "value": h.value}))
            .collect();
    }
    json!({"httpGet": get})
}
