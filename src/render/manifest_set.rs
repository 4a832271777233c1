//! The rendered objects as a folder: one YAML file per object plus `kustomization.yaml`, in a
//! canonical order, written atomically — a failed write leaves the previous folder as it was.

use std::path::Path;
use std::sync::OnceLock;

use hmac::Mac;
use serde_json::{Value, json};

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
    /// The files, written out once and kept: the render's id and its folder read the same text.
    files: OnceLock<Vec<(String, String)>>,
}

impl ManifestSet {
    /// Orders objects canonically. The same object produced twice (shared infrastructure, such
    /// as one broker for several topics) is kept once; two different objects with the same
    /// identity are an error naming both producers.
    pub fn new(mut objects: Vec<Object>, namespace: &str) -> Result<ManifestSet, String> {
        for object in &mut objects {
            canonicalize(&mut object.body, 0);
        }
        // A stable sort of positions by each object's key, read once: equal keys keep their
        // order. Then whether each object has the identity of the one before it.
        let mut order: Vec<usize> = (0..objects.len()).collect();
        let same_as_previous: Vec<bool> = {
            let keys: Vec<(&str, Option<&str>, &str)> = objects
                .iter()
                .map(|o| (o.kind(), o.namespace(), o.name()))
                .collect();
            order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
            let api_version = |i: usize| &objects[i].body["apiVersion"];
            std::iter::once(false)
                .chain(order.windows(2).map(|pair| {
                    keys[pair[0]] == keys[pair[1]] && api_version(pair[0]) == api_version(pair[1])
                }))
                .collect()
        };
        let mut slots: Vec<Option<Object>> = objects.into_iter().map(Some).collect();
        let mut unique: Vec<Object> = Vec::with_capacity(order.len());
        for (i, same) in order.into_iter().zip(same_as_previous) {
            let object = slots[i].take().expect("each position once");
            // The previous object was kept, or dropped as equal to the last one kept.
            match unique.last() {
                Some(last) if same && last.body == object.body => {}
                Some(last) if same => {
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
            files: OnceLock::new(),
        })
    }

    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// Every file of the folder, by name, in order: objects, then kustomization.yaml.
    pub fn files(&self) -> Vec<(String, String)> {
        self.written().to_vec()
    }

    /// The files, written out on first use.
    fn written(&self) -> &[(String, String)] {
        self.files.get_or_init(|| {
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
        })
    }

    /// HMAC-SHA256 of every file's name and content under the platform key: the identity of
    /// this render. Keyed, because the files include Secret values and the id is written
    /// where the Secrets are not (a record, a render folder's marker).
    pub fn digest(&self, key: &Key) -> String {
        let mut mac = key.content_mac("scoreline-render-id-v1");
        for (name, content) in self.written() {
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
        let marker = format!(
            "{}\n",
            serde_json::to_string_pretty(marker).unwrap_or_default()
        );
        let files = self
            .written()
            .iter()
            .map(|(name, content)| (name.as_str(), content.as_str()))
            .chain([(MARKER, marker.as_str())]);
        // File names are single path segments (see `Object::file_name`).
        folder::replace_with(
            out,
            |dir| dir.join(MARKER).is_file(),
            |staging| {
                for (name, content) in files {
                    let path = staging.join(name);
                    std::fs::write(&path, content).map_err(|e| FolderError::Io(path, e))?;
                }
                Ok(())
            },
        )
    }
}

/// Keys sorted, with the conventional ones first (`apiVersion`, `kind`, `metadata` at the top,
/// `name` first in any mapping), so output never depends on how it was built. In place: values
/// are moved, never copied.
fn canonicalize(value: &mut Value, depth: usize) {
    match value {
        Value::Object(map) => {
            let first: &[&str] = if depth == 0 {
                &["apiVersion", "kind", "metadata"]
            } else {
                &["name", "namespace"]
            };
            let in_order = map
                .keys()
                .zip(map.keys().skip(1))
                .all(|(a, b)| ranked(first, a) <= ranked(first, b));
            if !in_order {
                // Sorted where the entries are, then the conventional keys moved to the front.
                map.sort_keys();
                let mut front = 0;
                for key in first {
                    if let Some((key, item)) = map.shift_remove_entry(*key) {
                        map.shift_insert(front, key, item);
                        front += 1;
                    }
                }
            }
            for item in map.values_mut() {
                canonicalize(item, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items {
                canonicalize(item, depth + 1);
            }
        }
        _ => {}
    }
}

/// Where a key goes: the conventional ones first, in their order, then the rest by name.
fn ranked<'k>(first: &[&str], key: &'k str) -> (usize, &'k str) {
    let position = first.iter().position(|k| *k == key);
    (position.unwrap_or(first.len()), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(body: Value, origin: &str) -> Object {
        Object {
            body,
            origin: origin.into(),
        }
    }

    #[test]
    fn objects_are_ordered_and_keys_canonical() {
        let set = ManifestSet::new(
            vec![
                object(
                    json!({"spec": {"b": 1, "a": 2, "name": "port"}, "metadata": {"namespace": "ns", "name": "web"}, "kind": "Service", "apiVersion": "v1"}),
                    "one",
                ),
                object(
                    json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}, "data": {"z": "1", "name": "2"}}),
                    "two",
                ),
            ],
            "ns",
        )
        .unwrap();
        let files = set.files();
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["configmap-x.yaml", "service-web.yaml", "kustomization.yaml"]
        );
        assert_eq!(
            files[1].1,
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  name: port\n  a: 2\n  b: 1\n"
        );
        assert_eq!(set.files(), files, "the files are written once and kept");
    }

    #[test]
    fn the_same_object_twice_is_kept_once_and_a_different_one_refused() {
        let broker = |port: u16| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "broker"}, "spec": {"port": port}});
        let other = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other"}});
        let set = ManifestSet::new(
            vec![
                object(broker(1), "topic a"),
                object(other.clone(), "c"),
                object(broker(1), "topic b"),
                object(broker(1), "topic c"),
            ],
            "ns",
        )
        .unwrap();
        assert_eq!(set.objects().len(), 2);
        let error = ManifestSet::new(
            vec![
                object(broker(1), "topic a"),
                object(broker(1), "topic b"),
                object(broker(2), "topic c"),
            ],
            "ns",
        )
        .unwrap_err();
        assert_eq!(
            error,
            "Service `broker` is produced twice, differently: by topic a and by topic c"
        );
        // Another apiVersion is another object.
        let mut v2 = broker(2);
        v2["apiVersion"] = "v2".into();
        let set = ManifestSet::new(vec![object(broker(1), "a"), object(v2, "b")], "ns").unwrap();
        assert_eq!(set.objects().len(), 2);
    }
}
