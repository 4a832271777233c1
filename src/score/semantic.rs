//! Layer two of validation: what the JSON schema cannot express. Works on the located tree, so
//! it runs (and reports) even where the schema already found other problems in the same file.

use std::collections::{HashMap, HashSet};

use base64::Engine;

use super::placeholder::{self, Reference, Template};
use super::quantity::Quantity;
use super::workspace::{SourceError, Workspace};
use crate::diagnostic::{self, Diagnostic};
use crate::json_schema::display_path;
use crate::position::Pos;
use crate::source::SourceFile;
use crate::yaml::{Entry, Mapping, Node, Value};

/// "Did you mean" looks among at most this many names.
const SUGGESTED_AMONG: usize = 1000;

pub fn check(source: &SourceFile, document: &Node, workspace: &Workspace) -> Vec<Diagnostic> {
    let no_resources = Mapping::default();
    let resources = match document.get("resources").map(|r| &r.value) {
        Some(Value::Map(resources)) => resources,
        _ => &no_resources,
    };
    let mut checker = Checker {
        source,
        workspace,
        metadata: document
            .get("metadata")
            .map(Node::to_json)
            .unwrap_or_default(),
        resources,
        out: Vec::new(),
    };
    checker.document(document);
    checker.out
}

struct Checker<'a> {
    source: &'a SourceFile,
    workspace: &'a Workspace,
    metadata: serde_json::Value,
    /// The workload's resources, by name.
    resources: &'a Mapping,
    out: Vec<Diagnostic>,
}

/// Where a string sits, for messages: the node and its path in the document.
struct Field<'n> {
    node: &'n Node,
    path: Vec<String>,
}

impl Checker<'_> {
    fn document(&mut self, document: &Node) {
        for (name, container) in entries(document.get("containers")) {
            self.container(name, container, document);
        }
        for (name, resource) in entries(document.get("resources")) {
            if let Some(params) = resource.get("params") {
                let mut strings = Vec::new();
                collect_strings(
                    params,
                    vec!["resources".into(), name.into(), "params".into()],
                    &mut strings,
                );
                for field in strings {
                    self.placeholders(&field, |reference| match reference {
                        Reference::Resource { name: target, .. } if target == name => Some(
                            "a resource's params cannot refer to the resource itself".to_owned(),
                        ),
                        _ => None,
                    });
                }
            }
        }
        self.service_ports(document);
    }

    fn container(&mut self, name: &str, container: &Node, document: &Node) {
        let at = |key: &str| vec!["containers".to_owned(), name.to_owned(), key.to_owned()];
        for key in ["command", "args"] {
            for (i, item) in container
                .get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let mut path = at(key);
                path.push(i.to_string());
                self.expandable(&Field { node: item, path });
            }
        }
        for (var, value) in entries(container.get("variables")) {
            let mut path = at("variables");
            path.push(var.to_owned());
            self.expandable(&Field { node: value, path });
        }
        for (target, target_node, file) in self.targets(container.entry("files"), at("files")) {
            let mut path = at("files");
            path.push(target.clone());
            self.file(&target, target_node, file, path);
        }
        for (target, _, volume) in self.targets(container.entry("volumes"), at("volumes")) {
            let mut path = at("volumes");
            path.push(target);
            self.volume(volume, path);
        }
        if let Some(resources) = container.get("resources") {
            self.compute(resources, at("resources"));
        }
        for (other, entry) in entries(container.get("before")) {
            let key = container
                .get("before")
                .and_then(|b| b.entry(other))
                .map_or(entry.span.start, |e| e.key.span.start);
            if other == name {
                self.error(
                    key,
                    format!("container `{name}` cannot wait for itself in `before`"),
                    "name another container of this workload",
                );
            } else if document
                .get("containers")
                .and_then(|c| c.get(other))
                .is_none()
            {
                let total = document
                    .get("containers")
                    .and_then(Node::as_map)
                    .map_or(0, <[Entry]>::len);
                let known = entries(document.get("containers")).map(|(n, _)| n);
                self.error(
                    key,
                    format!("`before` names `{other}`, which is not a container of this workload"),
                    format!("containers: {}", diagnostic::listing(known, total)),
                );
            }
        }
    }

    /// Files or volumes in either form, as (target, node to point at for the target, spec).
    fn targets<'n>(
        &mut self,
        entry: Option<&'n Entry>,
        path: Vec<String>,
    ) -> Vec<(String, &'n Node, &'n Node)> {
        let Some(Entry { key, value: node }) = entry else {
            return Vec::new();
        };
        let kind = path.last().cloned().unwrap_or_default();
        let mut found = Vec::new();
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    found.push((e.key_str().to_owned(), &e.key, &e.value));
                }
            }
            Value::Seq(items) => {
                self.out.push(
                    self.source
                        .warning(
                            key.span.start,
                            format!(
                                "`{}` uses the deprecated list form",
                                display_path(&path, "the workload")
                            ),
                        )
                        .with_help(format!(
                            "write {kind} as a map keyed by target path, e.g. `{}`",
                            if kind == "files" {
                                "/etc/app.conf: { content: ... }"
                            } else {
                                "/data: { source: ... }"
                            }
                        )),
                );
                let mut seen: HashMap<String, usize> = HashMap::new();
                for item in items {
                    let Some(target) = item.get("target") else {
                        if item.as_map().is_some() {
                            self.error(
                                item.span.start,
                                format!(
                                    "an item of `{}` has no `target`",
                                    display_path(&path, "the workload")
                                ),
                                "the list form needs `target`: the absolute path in the container",
                            );
                        }
                        continue;
                    };
                    let Some(text) = target.as_str() else {
                        continue;
                    };
                    if let Some(line) = seen.insert(text.to_owned(), target.span.start.line) {
                        self.error(target.span.start, format!("target `{text}` appears twice in `{}`", display_path(&path, "the workload")), format!("it is already used at line {line}; each target path is mounted once"));
                    }
                    found.push((text.to_owned(), target, item));
                }
            }
            _ => {}
        }
        for (target, at, _) in &found {
            if !target.starts_with('/') {
                self.error(
                    at.span.start,
                    format!("target `{target}` is not an absolute path"),
                    format!(
                        "{kind} are mounted at absolute paths in the container, e.g. `/{}`",
                        target.trim_start_matches("./")
                    ),
                );
            }
        }
        found
    }

    fn file(&mut self, target: &str, target_node: &Node, file: &Node, path: Vec<String>) {
        if target.ends_with('/') {
            self.error(
                target_node.span.start,
                format!("file target `{target}` ends with `/`"),
                "a file target names a file, not a folder; mount folders as volumes",
            );
        }
        let no_expand = file
            .get("noExpand")
            .is_some_and(|n| n.value == Value::Bool(true));
        let child = |key: &str| {
            let mut p = path.clone();
            p.push(key.to_owned());
            p
        };
        if let Some(content) = file.get("content").filter(|_| !no_expand) {
            self.expandable(&Field {
                node: content,
                path: child("content"),
            });
        }
        if let Some(encoded) = file
            .get("binaryContent")
            .and_then(|n| n.as_str().map(|s| (n, s)))
            && base64::engine::general_purpose::STANDARD
                .decode(encoded.1)
                .is_err()
        {
            self.error(
                encoded.0.span.start,
                format!(
                    "`{}` is not valid standard base64",
                    display_path(&child("binaryContent"), "the workload")
                ),
                "encode the bytes with `base64 -w0 FILE` (standard alphabet, with padding)",
            );
        }
        if let Some(source_node) = file.get("source")
            && let Some(source) = source_node.as_str()
        {
            self.file_source(source_node, source, no_expand);
        }
    }

    fn file_source(&mut self, node: &Node, source: &str, no_expand: bool) {
        let resolved = match self.workspace.resolve(source) {
            Ok(resolved) => resolved,
            Err(e) => {
                let help = match &e {
                    SourceError::Missing(_) => format!("paths are relative to the Score file's folder ({})", self.workspace.base.display()),
                    SourceError::NotAFile(_) => "name a file; folders are mounted as volumes".to_owned(),
                    SourceError::Escapes { .. } => "sources must stay inside the workspace (the repository holding the Score file): move the file into it".to_owned(),
                };
                self.error(node.span.start, format!("file source {e}"), help);
                return;
            }
        };
        if no_expand {
            return;
        }
        // The file's own text is expanded at render: check its placeholders now, in that file.
        match SourceFile::read(&resolved) {
            Ok(text) => {
                let inner = SourceFile::new(self.workspace_relative(&resolved, source), text.text);
                match Template::parse(&inner.text) {
                    Err(errors) => {
                        for e in errors {
                            let pos = inner.position(e.offset);
                            self.out.push(inner.error(pos, e.message).with_help(e.help));
                        }
                    }
                    Ok(template) => {
                        for p in template.placeholders() {
                            if let Some((message, help)) =
                                self.reference_problem(&p.reference, true)
                            {
                                self.out.push(
                                    inner
                                        .error(inner.position(p.offset), message)
                                        .with_help(help),
                                );
                            }
                        }
                    }
                }
            }
            Err(e) if e.message.contains("UTF-8") || e.message.contains("NUL") => {
                self.error(
                    node.span.start,
                    format!(
                        "file source `{source}` is binary, so its placeholders cannot be expanded"
                    ),
                    "set `noExpand: true` on this file to mount it unchanged",
                );
            }
            Err(e) => self.out.push(e),
        }
    }

    fn workspace_relative(&self, resolved: &std::path::Path, fallback: &str) -> std::path::PathBuf {
        let score_dir = self
            .source
            .path
            .parent()
            .unwrap_or(std::path::Path::new(""));
        resolved
            .strip_prefix(&self.workspace.base)
            .map(|rel| score_dir.join(rel))
            .unwrap_or_else(|_| score_dir.join(fallback))
    }

    fn volume(&mut self, volume: &Node, path: Vec<String>) {
        if let Some(source) = volume.get("source").filter(|n| n.as_str().is_some()) {
            let text = source.as_str().unwrap_or_default();
            match Template::parse(text) {
                Err(errors) => self.template_errors(source, errors),
                Ok(template) if template.placeholders().next().is_none() => {}
                Ok(template) => match template.single_placeholder().map(|p| &p.reference) {
                    Some(Reference::Resource { name, keys }) if keys.is_empty() => {
                        if let Some((message, help)) = self.reference_problem(&Reference::Resource { name: name.clone(), keys: vec![] }, false) {
                            self.error(source.position_at(self.source, 2), message, help);
                        }
                    }
                    _ => self.error(source.span.start, format!("volume source `{text}` must be a whole resource reference"), "write `source: ${resources.NAME}` naming a resource of type volume, or a plain volume name"),
                },
            }
        }
        if let Some(sub) = volume.get("path").filter(|n| n.as_str().is_some()) {
            let text = sub.as_str().unwrap_or_default();
            // A leading `/` is read as the volume's root (the official sample writes it so);
            // `..` would leave the volume, which Kubernetes refuses.
            if text.split('/').any(|seg| seg == "..") {
                let mut p = path.clone();
                p.push("path".into());
                self.error(
                    sub.span.start,
                    format!(
                        "`{}` must stay inside the volume",
                        display_path(&p, "the workload")
                    ),
                    "remove the `..` segments: Kubernetes refuses sub paths that leave the volume",
                );
            }
        }
    }

    fn compute(&mut self, resources: &Node, path: Vec<String>) {
        let mut parsed: HashMap<(&str, &str), (Quantity, &Node)> = HashMap::new();
        for bound in ["requests", "limits"] {
            for kind in ["cpu", "memory"] {
                let Some(node) = resources.get(bound).and_then(|b| b.get(kind)) else {
                    continue;
                };
                let Some(text) = node.as_str() else { continue };
                match text.parse::<Quantity>() {
                    Ok(q) if q.0 < 0.0 => self.error(
                        node.span.start,
                        format!("{kind} {bound} `{text}` is negative"),
                        "use a positive quantity",
                    ),
                    Ok(q) => {
                        parsed.insert((bound, kind), (q, node));
                    }
                    Err(e) => {
                        let mut at = path.clone();
                        at.extend([bound.to_owned(), kind.to_owned()]);
                        self.error(
                            node.span.start,
                            format!("`{}`: {e}", display_path(&at, "the workload")),
                            e.help(),
                        );
                    }
                }
            }
        }
        for kind in ["cpu", "memory"] {
            if let (Some((request, node)), Some((limit, limit_node))) = (
                parsed.get(&("requests", kind)),
                parsed.get(&("limits", kind)),
            ) && request > limit
            {
                // A warning: Score is platform-neutral, but Kubernetes will refuse this pod.
                let text = |n: &Node| n.as_str().unwrap_or_default().to_owned();
                self.out.push(
                    self.source
                        .warning(node.span.start, format!("{kind} request `{}` is larger than its limit `{}`", text(node), text(limit_node)))
                        .with_help("Kubernetes refuses a request above the limit: lower the request or raise the limit"),
                );
            }
        }
    }

    fn service_ports(&mut self, document: &Node) {
        let mut seen: HashMap<(i64, String), String> = HashMap::new();
        for (name, port) in entries(document.get("service").and_then(|s| s.get("ports"))) {
            let Some(Value::Int(number)) = port.get("port").map(|p| &p.value) else {
                continue;
            };
            let protocol = port
                .get("protocol")
                .and_then(Node::as_str)
                .unwrap_or("TCP")
                .to_owned();
            if let Some(first) = seen.insert((*number, protocol.clone()), name.to_owned()) {
                let at = port.get("port").map_or(port.span.start, |p| p.span.start);
                self.error(at, format!("service port `{name}` uses {protocol} port {number}, already used by `{first}`"), "each port number and protocol pair can be published once");
            }
        }
    }

    /// Checks the placeholders of a string that is expanded at render time.
    fn expandable(&mut self, field: &Field<'_>) {
        self.placeholders(field, |_| None);
    }

    fn placeholders(&mut self, field: &Field<'_>, extra: impl Fn(&Reference) -> Option<String>) {
        let Some(text) = field.node.as_str() else {
            return;
        };
        match Template::parse(text) {
            Err(errors) => self.template_errors(field.node, errors),
            Ok(template) => {
                let locate = field.node.locator(self.source);
                for p in template.placeholders() {
                    let problem = extra(&p.reference)
                        .map(|m| (m, "refer to another resource's outputs".to_owned()))
                        .or_else(|| self.reference_problem(&p.reference, true));
                    if let Some((message, help)) = problem {
                        let at = locate.at(p.offset);
                        self.out.push(
                            self.source
                                .error(
                                    at,
                                    format!(
                                        "{message} (in `{}`)",
                                        display_path(&field.path, "the workload")
                                    ),
                                )
                                .with_help(help),
                        );
                    }
                }
            }
        }
    }

    fn template_errors(&mut self, node: &Node, errors: Vec<placeholder::PlaceholderError>) {
        let locate = node.locator(self.source);
        for e in errors {
            let at = locate.at(e.offset);
            self.out
                .push(self.source.error(at, e.message).with_help(e.help));
        }
    }

    /// Why a reference cannot resolve, if it cannot: a missing metadata key or an undeclared
    /// resource. (A resource's output keys are known only when it is provisioned.)
    fn reference_problem(
        &self,
        reference: &Reference,
        needs_output: bool,
    ) -> Option<(String, String)> {
        match reference {
            Reference::Metadata(keys) => {
                let missing = placeholder::lookup(&self.metadata, keys).err()?;
                Some((
                    format!("{reference} refers to missing metadata: {missing}"),
                    "add the key under `metadata`, or fix the name".into(),
                ))
            }
            // Score placeholders never parse to `${env.…}`.
            Reference::Env(_) => None,
            Reference::Resource { name, keys } => {
                if self.resources.get(name.as_str()).is_none() {
                    let mut help = if self.resources.is_empty() {
                        "declare it under `resources:` with a `type`".to_owned()
                    } else {
                        format!(
                            "declared resources: {}",
                            diagnostic::listing(
                                self.resources.iter().map(|e| e.key_str()),
                                self.resources.len()
                            )
                        )
                    };
                    // A suggestion among a few names; among very many it would cost more than
                    // it helps.
                    if let Some(close) = self
                        .resources
                        .iter()
                        .take(SUGGESTED_AMONG)
                        .map(|e| e.key_str())
                        .find(|r| strsim::jaro_winkler(r, name) > 0.85)
                    {
                        help = format!("did you mean `{close}`? {help}");
                    }
                    return Some((
                        format!("{reference} refers to resource `{name}`, which is not declared"),
                        help,
                    ));
                }
                if needs_output && keys.is_empty() {
                    return Some((
                        format!("{reference} names a whole resource, not one of its outputs"),
                        format!(
                            "name an output, e.g. ${{resources.{name}.host}}; whole-resource references are for volume sources"
                        ),
                    ));
                }
                None
            }
        }
    }

    fn error(&mut self, at: Pos, message: impl Into<String>, help: impl Into<String>) {
        self.out
            .push(self.source.error(at, message).with_help(help));
    }
}

/// The (key, value) pairs of a mapping node, or nothing.
fn entries(node: Option<&Node>) -> impl Iterator<Item = (&str, &Node)> {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.key_str(), &e.value))
}

fn collect_strings<'n>(node: &'n Node, path: Vec<String>, out: &mut Vec<Field<'n>>) {
    match &node.value {
        Value::String(_) => out.push(Field { node, path }),
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut p = path.clone();
                p.push(i.to_string());
                collect_strings(item, p, out);
            }
        }
        Value::Map(map) => {
            for e in map {
                let mut p = path.clone();
                p.push(e.key_str().to_owned());
                collect_strings(&e.value, p, out);
            }
        }
        _ => {}
    }
}

/// Names must be unique across the workloads of one run.
pub fn duplicate_names<'a>(
    workloads: impl Iterator<Item = (&'a SourceFile, &'a Node)>,
) -> Vec<Diagnostic> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    let mut reported = HashSet::new();
    for (source, document) in workloads {
        let Some(name_node) = document.lookup(&["metadata", "name"]).map(|(_, n)| n) else {
            continue;
        };
        let Some(name) = name_node.as_str() else {
            continue;
        };
        let file = source.path.display().to_string();
        if let Some(first) = seen.get(name) {
            if reported.insert((name.to_owned(), file.clone())) {
                out.push(
                    source
                        .error(
                            name_node.span.start,
                            format!("workload `{name}` is already defined in {first}"),
                        )
                        .with_help("every workload needs its own `metadata.name`"),
                );
            }
        } else {
            seen.insert(name.to_owned(), file);
        }
    }
    out
}
