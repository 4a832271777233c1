//! The deployment record written beside each delivery (`FOLDER/.scoreline/record.json`): what
//! was deployed (the manifests' digest), from which inputs, by whom, and how. Never a secret:
//! Secret values appear only as keyed digests, so diffs can tell a change without showing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::error::Error;
use super::inputs::{self, SourceInput, WorkloadInput};
use crate::baseline::Environment;
use crate::ci::provenance::Provenance;
use crate::render::{ContainerImage, Rendered};
use crate::resolve::Request;

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
    pub secrets: SecretDigests,
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

/// Secret name → key → keyed digest of the value.
pub type SecretDigests = BTreeMap<String, BTreeMap<String, String>>;

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
    fn of(current: &Provenance) -> Run {
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

/// A render as its record tells it: what was asked for, what came of it, and the digests of
/// its Secret values.
pub struct Rendering<'a> {
    pub request: Request<'a>,
    pub rendered: &'a Rendered,
    pub secrets: SecretDigests,
}

impl Record {
    /// A deployment of this run's inputs, from where `provenance` says they come from.
    pub fn deployed(
        rendering: Rendering<'_>,
        provenance: Provenance,
        now: SystemTime,
    ) -> Result<Record, Error> {
        let Rendering {
            request,
            rendered,
            secrets,
        } = rendering;
        let (workloads, sources) = inputs::read(request.workloads)?;
        let environment = request.environment;
        Ok(Record {
            id: rendered.manifests.digest(&request.key),
            kind: Kind::Deploy,
            app: request.app.to_owned(),
            environment: environment.name.clone(),
            environment_type: environment.env_type.clone(),
            namespace: environment.namespace.clone(),
            time: timestamp(now),
            expires: expiry(environment, now),
            baseline: request.baseline.revision.clone(),
            provenance,
            run: None,
            workloads,
            sources,
            images: rendered.images.iter().map(ImageUse::of).collect(),
            secrets,
            from: None,
        })
    }

    /// Another environment's deployment (`original`, found in `from`) rendered here by this
    /// run: the deployed inputs are still the original's.
    pub fn promoted(
        rendering: Rendering<'_>,
        from: &str,
        original: &Record,
        run: &Provenance,
        now: SystemTime,
    ) -> Result<Record, Error> {
        Ok(Record {
            kind: Kind::Promote,
            run: Some(Run::of(run)),
            from: Some(Origin {
                environment: from.to_owned(),
                id: original.id.clone(),
            }),
            ..Record::deployed(rendering, original.provenance.clone(), now)?
        })
    }

    /// An earlier deployment of `environment` brought back by this run: its files and inputs,
    /// with this run's time.
    pub fn rolled_back(
        earlier: &Record,
        environment: &Environment,
        run: &Provenance,
        now: SystemTime,
    ) -> Record {
        Record {
            kind: Kind::Rollback,
            time: timestamp(now),
            expires: expiry(environment, now),
            run: Some(Run::of(run)),
            from: Some(Origin {
                environment: environment.name.clone(),
                id: earlier.id.clone(),
            }),
            ..earlier.clone()
        }
    }

    /// Writes the record's inputs (Score files and their source files) into `dir` as a
    /// workspace of its own, so they can be rendered again elsewhere; returns the Score files.
    pub fn reconstruct(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        inputs::write(&self.workloads, &self.sources, dir, self.short_id())
    }

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

impl ImageUse {
    fn of(image: &ContainerImage) -> ImageUse {
        ImageUse {
            workload: image.workload.clone(),
            container: image.container.clone(),
            pinned: crate::render::images::is_pinned(&image.reference),
            image: image.reference.clone(),
        }
    }
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(19)]
}

/// A record's time: RFC 3339, UTC, in seconds.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// When a deployment made `now` in a preview environment may be collected.
fn expiry(environment: &Environment, now: SystemTime) -> Option<String> {
    environment.ttl().map(|ttl| timestamp(now + ttl))
}
