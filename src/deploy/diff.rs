//! What differs between two deployments, object by object, as unified YAML diffs. Secret values
//! are never shown: each is replaced by the record's keyed digest, so a changed value shows as
//! a changed digest (SOPS-encrypted files are compared the same way). A value without a digest
//! (no platform key) cannot be compared: unless the deployments are the same, its Secret "may
//! have changed".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use similar::TextDiff;

use super::record::Record;
use super::store::Files;
use crate::ci::summary::Markdown;
use crate::source::SourceFile;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub file: String,
    /// The object's kind and name (`Deployment/shop`; the file name for a file that is no
    /// Kubernetes object).
    pub object: String,
    pub change: ChangeKind,
    /// The unified diff, after a `# OBJECT (CHANGE)` line.
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    #[serde(rename = "added")]
    Added,
    #[serde(rename = "changed")]
    Changed,
    #[serde(rename = "removed")]
    Removed,
    /// A Secret whose values have no digests to compare.
    #[serde(rename = "may have changed")]
    MayHaveChanged,
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
            ChangeKind::MayHaveChanged => "may have changed",
        })
    }
}

/// The changes as a table of objects, and their diff collapsed under `title`.
pub fn summarise(doc: &mut Markdown, changes: &[Change], title: &str) {
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| vec![c.object.clone(), c.change.to_string(), c.file.clone()])
        .collect();
    doc.table(&["object", "change", "file"], &rows);
    if !changes.is_empty() {
        let diff: String = changes.iter().map(|c| c.diff.as_str()).collect();
        doc.details(title, "diff", &diff);
    }
}

/// One side of a comparison: a deployment's files and its record (for the Secrets' digests).
pub struct Side<'a> {
    pub files: &'a Files,
    pub record: Option<&'a Record>,
    pub label: String,
}

/// The changes from `before` to `after`. With `ignore_namespace`, namespaces are left out (to
/// compare two environments).
pub fn compare(before: &Side<'_>, after: &Side<'_>, ignore_namespace: bool) -> Vec<Change> {
    let (a, b) = (
        view(before, ignore_namespace),
        view(after, ignore_namespace),
    );
    // Equal ids are equal manifests, Secret values included.
    let same = matches!((before.record, after.record), (Some(x), Some(y)) if x.id == y.id);
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (
                a.get(name).map(|v| v.text.as_str()).unwrap_or(""),
                b.get(name).map(|v| v.text.as_str()).unwrap_or(""),
            );
            let unknown = [&a, &b]
                .iter()
                .any(|side| side.get(name).is_some_and(|v| v.undigested));
            let object = b
                .get(name)
                .or_else(|| a.get(name))
                .and_then(|v| v.object.clone())
                .unwrap_or_else(|| name.clone());
            if old == new && unknown && !same {
                return Some(Change {
                    file: name.clone(),
                    diff: format!(
                        "# {object} (may have changed): the Secret values of {name} have no digests (no SCORELINE_KEY) and cannot be compared\n"
                    ),
                    object,
                    change: ChangeKind::MayHaveChanged,
                });
            }
            if old == new {
                return None;
            }
            let change = match (a.contains_key(name), b.contains_key(name)) {
                (false, _) => ChangeKind::Added,
                (_, false) => ChangeKind::Removed,
                _ => ChangeKind::Changed,
            };
            let diff = TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("{}/{name}", before.label),
                    &format!("{}/{name}", after.label),
                )
                .to_string();
            Some(Change {
                file: name.clone(),
                // Text before `---` is commentary to patch and git apply.
                diff: format!("# {object} ({change})\n{diff}"),
                object,
                change,
            })
        })
        .collect()
}

/// One object as compared.
struct View {
    text: String,
    /// `Kind/name`, when the file is a Kubernetes object.
    object: Option<String>,
    /// A Secret with values that have no digest to compare.
    undigested: bool,
}

/// The deployment's objects as comparable YAML, Secret values masked.
fn view(side: &Side<'_>, ignore_namespace: bool) -> BTreeMap<String, View> {
    side.files
        .iter()
        .filter(|(name, _)| {
            !name.starts_with(".scoreline/") && (name.ends_with(".yaml") || name.ends_with(".yml"))
        })
        .map(|(name, bytes)| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let parsed =
                crate::yaml::parse(&SourceFile::new(name, text.clone()), Default::default()).ok();
            let Some(mut value) = parsed.and_then(|docs| docs.first().map(|d| d.to_json())) else {
                let opaque = View {
                    text,
                    object: None,
                    undigested: false,
                };
                return (name.clone(), opaque);
            };
            let object = match (value["kind"].as_str(), value["metadata"]["name"].as_str()) {
                (Some(kind), Some(object)) => Some(format!("{kind}/{object}")),
                _ => None,
            };
            if ignore_namespace
                && let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut)
            {
                metadata.remove("namespace");
            }
            let undigested = value["kind"] == "Secret" && mask(&mut value, side.record);
            let text = crate::yaml::to_string(&value);
            (
                name.clone(),
                View {
                    text,
                    object,
                    undigested,
                },
            )
        })
        .collect()
}

/// Replaces each value by its digest; true when some value has none.
fn mask(secret: &mut Value, record: Option<&Record>) -> bool {
    let name = secret["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(map) = secret.as_object_mut() {
        map.remove("sops");
    }
    let mut undigested = false;
    for field in ["data", "stringData"] {
        // Anything but a map (a string, a list) is masked whole: there are no values to tell.
        if let Some(value) = secret.get_mut(field)
            && !value.is_object()
        {
            *value = Value::String("(hidden)".into());
            undigested = true;
        }
        if let Some(values) = secret.get_mut(field).and_then(Value::as_object_mut) {
            for (key, value) in values.iter_mut() {
                let digest = record
                    .and_then(|r| r.secrets.get(&name))
                    .and_then(|s| s.get(key));
                *value = Value::String(match digest {
                    Some(d) => format!("(hidden, digest {d})"),
                    None => {
                        undigested = true;
                        "(hidden)".into()
                    }
                });
            }
        }
    }
    undigested
}
