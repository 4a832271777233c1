//! The rendered objects as a folder: one YAML file per object plus `kustomization.yaml`, in a
//! canonical order, written atomically — a failed write leaves the previous folder as it was.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

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

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "refusing to replace {0}: it holds files scoreline did not write (no {MARKER} file); choose an empty or new --out folder"
    )]
    NotOurs(PathBuf),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
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

    /// sha256 of every file's name and content: the identity of this render.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, content) in self.files() {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(content.as_bytes());
            hasher.update([0]);
        }
        format!(
            "sha256:{}",
            hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    /// Writes the folder: everything into a sibling temporary folder first, then swapped in.
    pub fn write(&self, out: &Path, marker: &Value) -> Result<(), WriteError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e| WriteError::Io(path, e)
        };
        if out.exists() && !is_replaceable(out) {
            return Err(WriteError::NotOurs(out.to_path_buf()));
        }
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let stem = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "manifests".into());
        let unique = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let staging = parent.join(format!(".{stem}.new-{unique}"));
        let result = (|| {
            std::fs::create_dir(&staging).map_err(io(&staging))?;
            for (name, content) in self.files() {
                let path = staging.join(&name);
                std::fs::write(&path, content).map_err(io(&path))?;
            }
            let marker_path = staging.join(MARKER);
            std::fs::write(
                &marker_path,
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(marker).unwrap_or_default()
                ),
            )
            .map_err(io(&marker_path))?;
            if out.exists() {
                let retired = parent.join(format!(".{stem}.old-{unique}"));
                std::fs::rename(out, &retired).map_err(io(out))?;
                if let Err(e) = std::fs::rename(&staging, out) {
                    // Put the previous output back before reporting.
                    let _ = std::fs::rename(&retired, out);
                    return Err(WriteError::Io(out.to_path_buf(), e));
                }
                let _ = std::fs::remove_dir_all(&retired);
            } else {
                std::fs::rename(&staging, out).map_err(io(out))?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }
}

/// Empty, or a previous render (it has the marker): anything else may be someone's files.
fn is_replaceable(out: &Path) -> bool {
    out.is_dir()
        && (out.join(MARKER).is_file()
            || std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none()))
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
