//! What differs between two deployments, object by object, as unified YAML diffs. Secret values
//! are never shown: each is replaced by the record's keyed digest, so a changed value shows as
//! a changed digest (SOPS-encrypted files are compared the same way). Without digests (no
//! platform key) values held in plain text on both sides are compared directly, a changed one
//! shown as `(hidden, changed)`; others cannot be compared: unless the deployments are the same,
//! their Secret "may have changed".

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
            let (old, new, unknown) =
                compared(a.get(name), b.get(name), before.record, after.record);
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
            let diff = TextDiff::from_lines(&old, &new)
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

/// One file as read, its object's values still in it (never shown: see `compared`).
struct View {
    /// The text of a file that is no object.
    text: String,
    /// The object, namespace left out when asked.
    value: Option<Value>,
    /// `Kind/name`, when the file is a Kubernetes object.
    object: Option<String>,
}

impl View {
    fn is_secret(&self) -> bool {
        self.value.as_ref().is_some_and(|v| v["kind"] == "Secret")
    }

    /// A Secret written in plain text (not encrypted by SOPS), whose values can be compared.
    fn plain_secret(&self) -> Option<Value> {
        let value = self.value.as_ref()?;
        (self.is_secret() && value.get("sops").is_none()).then(|| value.clone())
    }
}

/// The two sides' texts as compared, Secret values masked, and whether a Secret's values could
/// not be compared. A value is masked by its record's keyed digest; where a side has none (no
/// platform key) and both sides hold their values in plain text, the values are compared
/// directly and a changed one says so: no digest under a public key is ever shown.
fn compared(
    old: Option<&View>,
    new: Option<&View>,
    before: Option<&Record>,
    after: Option<&Record>,
) -> (String, String, bool) {
    let masked = [(old, before), (new, after)].map(|(view, record)| {
        let mut value = view.and_then(|v| v.value.clone());
        let undigested = match (view, value.as_mut()) {
            (Some(view), Some(value)) if view.is_secret() => mask(value, record),
            _ => false,
        };
        (value, undigested)
    });
    let [(mut a, a_unknown), (mut b, b_unknown)] = masked;
    let mut unknown = a_unknown || b_unknown;
    let plain = |view: Option<&View>| view.and_then(View::plain_secret);
    if let (true, Some(mut was), Some(mut is)) = (unknown, plain(old), plain(new)) {
        mask_compared(&mut was, &mut is);
        (a, b, unknown) = (Some(was), Some(is), false);
    }
    let text = |view: Option<&View>, value: Option<Value>| match (view, value) {
        (None, _) => String::new(),
        (Some(view), None) => view.text.clone(),
        (Some(_), Some(value)) => crate::yaml::to_string(&value),
    };
    (text(old, a), text(new, b), unknown)
}

/// The deployment's files by name.
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
                    value: None,
                    object: None,
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
            let view = View {
                text: String::new(),
                value: Some(value),
                object,
            };
            (name.clone(), view)
        })
        .collect()
}

/// Masks both Secrets' values, comparing them: each of `new`'s that differs from `old`'s is
/// `(hidden, changed)`.
fn mask_compared(old: &mut Value, new: &mut Value) {
    let hidden = |changed: bool| {
        Value::String(
            if changed {
                "(hidden, changed)"
            } else {
                "(hidden)"
            }
            .into(),
        )
    };
    for field in ["data", "stringData"] {
        let was = old.get(field).cloned();
        if let Some(value) = new.get_mut(field) {
            match value.as_object_mut() {
                Some(values) => {
                    for (key, value) in values.iter_mut() {
                        let before = was.as_ref().and_then(|w| w.get(key));
                        *value = hidden(before.is_some_and(|b| b != value));
                    }
                }
                None => *value = hidden(was.as_ref().is_some_and(|w| w != value)),
            }
        }
        if let Some(value) = old.get_mut(field) {
            match value.as_object_mut() {
                Some(values) => values.values_mut().for_each(|v| *v = hidden(false)),
                None => *value = hidden(false),
            }
        }
    }
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
