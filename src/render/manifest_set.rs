//! The rendered objects as a folder: one YAML file per object plus `kustomization.yaml`, in a
//! canonical order, written atomically — a failed write leaves the previous folder as it was.

use std::path::Path;

use hmac::Mac;
use serde_json::{Map, Value, json};

use crate::folder::{self, FolderError};
use crate::resolve::Key;
use crate::yaml;

/// The file that marks a folder as scoreline's render output (and says what it holds).
pub const MARKER: &str = ".scoreline-render";

#[derive(Debug, Clone)]
pub struct Object {
    pub body: Value,
    /// What produced it, for messages: "workload `shop`", "resource `db` (postgres-in-cluster)".
    pub origin: String,
}

impl Object {
    pub fn kind(&self) -> &str {
        self.body["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.body["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.body["metadata"]["namespace"].as_str()
    }

    /// `deployment-shop.yaml`; objects outside the environment's namespace carry theirs.
    pub fn file_name(&self, namespace: &str) -> String {
        let mut stem = format!("{}-{}", self.kind(), self.name());
        if let Some(ns) = self.namespace().filter(|ns| *ns != namespace) {
            stem = format!("{ns}-{stem}");
        }
        let stem: String = stem
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{stem}.yaml")
    }
}

#[derive(Debug, Clone, Default)]
pub struct ManifestSet {
    objects: Vec<Object>,
    namespace: String,
}

impl ManifestSet {
    /// Orders objects canonically. The same object produced twice (shared infrastructure, such
    /// as one broker for several topics) is kept once; two different objects with the same
    /// identity are an error naming both producers.
    pub fn new(objects: Vec<Object>, namespace: &str) -> Result<ManifestSet, String> {
        let mut objects: Vec<Object> = objects
            .into_iter()
            .map(|o| Object {
                body: canonical(&o.body, 0),
                origin: o.origin,
            })
            .collect();
        objects.sort_by(|a, b| {
            (a.kind(), a.namespace(), a.name()).cmp(&(b.kind(), b.namespace(), b.name()))
        });
        let identity = |o: &Object| {
            (
                o.body["apiVersion"].clone(),
                o.kind().to_owned(),
                o.namespace().map(str::to_owned),
                o.name().to_owned(),
            )
        };
        let mut unique: Vec<Object> = Vec::with_capacity(objects.len());
        for object in objects {
            match unique.last() {
                Some(last) if identity(last) == identity(&object) && last.body == object.body => {}
                Some(last) if identity(last) == identity(&object) => {
                    return Err(format!(
                        "{} `{}` is produced twice, differently: by {} and by {}",
                        object.kind(),
                        object.name(),
                        last.origin,
                        object.origin
                    ));
                }
                _ => unique.push(object),
            }
        }
        Ok(ManifestSet {
            objects: unique,
            namespace: namespace.to_owned(),
        })
    }

    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// Every file of the folder, by name, in order: objects, then kustomization.yaml.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .objects
            .iter()
            .map(|o| (o.file_name(&self.namespace), yaml::to_string(&o.body)))
            .collect();
        let resources: Vec<&String> = files.iter().map(|(name, _)| name).collect();
        let kustomization = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        });
        files.push(("kustomization.yaml".into(), yaml::to_string(&kustomization)));
        files
    }

    /// HMAC-SHA256 of every file's name and content under the platform key: the identity of
    /// this render. Keyed, because the files include Secret values and the id is written
    /// where the Secrets are not (a record, a render folder's marker).
    pub fn digest(&self, key: &Key) -> String {
        let mut mac = key.content_mac("scoreline-render-id-v1");
        for (name, content) in self.files() {
            mac.update(name.as_bytes());
            mac.update(&[0]);
            mac.update(content.as_bytes());
            mac.update(&[0]);
        }
        format!(
            "sha256:{}",
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    /// Writes the folder atomically, with the marker that says scoreline wrote it.
    pub fn write(&self, out: &Path, marker: &Value) -> Result<(), FolderError> {
        let mut files: Vec<(String, Vec<u8>)> = self
            .files()
            .into_iter()
            .map(|(n, c)| (n, c.into_bytes()))
            .collect();
        files.push((
            MARKER.into(),
            format!(
                "{}\n",
                serde_json::to_string_pretty(marker).unwrap_or_default()
            )
            .into_bytes(),
        ));
        folder::replace(out, &files, |dir| dir.join(MARKER).is_file())
    }
}

/// Keys sorted, with the conventional ones first (`apiVersion`, `kind`, `metadata` at the top,
/// `name` first in any mapping), so output never depends on how it was built.
fn canonical(value: &Value, depth: usize) -> Value {
    match value {
        Value::Object(map) => {
            let rank = |key: &str| -> (u8, String) {
                let first: &[&str] = if depth == 0 {
                    &["apiVersion", "kind", "metadata"]
                } else {
                    &["name", "namespace"]
                };
                (
                    first
                        .iter()
                        .position(|k| *k == key)
                        .map_or(u8::MAX, |p| p as u8),
                    key.to_owned(),
                )
            };
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| rank(k));
            let mut out = Map::new();
            for key in keys {
                out.insert(key.clone(), canonical(&map[key], depth + 1));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| canonical(v, depth + 1)).collect())
        }
        other => other.clone(),
    }
}
