//! The deployment record written beside each delivery (`FOLDER/.scoreline/record.json`): what
//! was deployed (the manifests' digest), from which inputs, by whom, and how. Never a secret:
//! Secret values appear only as keyed digests, so diffs can tell a change without showing it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ci::provenance::Provenance;

/// Where the record sits inside a delivered folder.
pub const RECORD_FILE: &str = ".scoreline/record.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// sha256 of the rendered manifests (before any encryption): equal ids, equal deployments.
    pub id: String,
    pub kind: Kind,
    pub app: String,
    pub environment: String,
    pub environment_type: String,
    pub namespace: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// For preview environments: when `scoreline gc` may remove it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The baseline revision rendered with.
    pub baseline: String,
    /// Where the deployed inputs come from: the source repository and commit, and the run that
    /// built and first deployed them. A rollback or promotion keeps the original's.
    pub provenance: Provenance,
    /// For rollbacks and promotions: the run that made this one (the `time` is its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// The Score files, so promotion can render the same inputs elsewhere.
    pub workloads: Vec<WorkloadInput>,
    /// Files the Score files read with `files.source`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceInput>,
    /// The image every container ran, digests included.
    pub images: Vec<ImageUse>,
    /// Secret name → key → keyed digest of the value (empty when no key was available).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// For rollbacks and promotions: the record this one reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Origin>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Deploy,
    Rollback,
    Promote,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadInput {
    pub name: String,
    /// The Score file's path inside its workspace (the source repository).
    pub file: String,
    pub sha256: String,
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInput {
    /// Inside the workspace, like `WorkloadInput::file`.
    pub path: String,
    /// Text, or base64 when `base64` is set.
    pub content: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base64: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUse {
    pub workload: String,
    pub container: String,
    pub image: String,
    /// Whether `image` names a digest (`@sha256:`): a tag may point elsewhere by the time the
    /// cluster pulls it or a promotion renders it again.
    #[serde(default)]
    pub pinned: bool,
}

/// Who made a rollback or promotion, and in which CI run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// `github`, `gitlab`, `jenkins` or `local`.
    pub system: String,
}

impl Run {
    pub fn of(current: &Provenance) -> Run {
        Run {
            actor: current.actor.clone(),
            run_url: current.run_url.clone(),
            system: current.system.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub environment: String,
    pub id: String,
}

impl Record {
    /// The id as people read it: `sha256:` and 12 hex digits.
    pub fn short_id(&self) -> &str {
        short(&self.id)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("records serialise");
        text.push('\n');
        text.into_bytes()
    }
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(19)]
}
