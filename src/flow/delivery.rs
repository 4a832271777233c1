//! Delivering to an environment: a render of this run's inputs (deploy), another
//! environment's deployment rendered here (promote), or an earlier deployment again (rollback).

use std::path::Path;
use std::time::SystemTime;

use super::deployed::Deployed;
use super::environment::{self, app_in, open_environment};
use super::session::{Inputs, Session, load_for};
use super::talk::Talk;
use crate::baseline::DeliveryKind;
use crate::deploy::{self, Delivered, Files, Record, Rendering, Revision, Target};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;
use crate::render::Images;
use crate::resolve::Graph;

/// Where a promoted deployment comes from: its environment and its record.
pub(super) struct Promotion<'a> {
    from: &'a str,
    original: &'a Record,
}

/// A render ready for its environment's delivery: the delivery opened, the files prepared for
/// it, and their record.
pub(super) struct Staged {
    pub target: Target,
    pub files: Files,
    pub record: Record,
    /// The resources as provisioned for it.
    pub graph: Graph,
}

impl Session {
    /// Renders, prepares the Secrets for the delivery, records and delivers; `message` is more
    /// text for the change. What each step says joins `warnings`.
    pub fn deploy(
        &self,
        images: &Images,
        message: Option<&str>,
        talk: &Talk,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Deployed, Error> {
        self.deliver(images, None, message, talk, warnings)
    }

    fn deliver(
        &self,
        images: &Images,
        promotion: Option<Promotion<'_>>,
        message: Option<&str>,
        talk: &Talk,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Deployed, Error> {
        let mut staged = self.stage(images, promotion, warnings)?;
        if staged.target.kind == DeliveryKind::Git {
            warnings.extend(unpinned(&staged.record));
        }
        let terms = Terms {
            message,
            planned: None,
            talk,
        };
        deliver(
            &mut staged.target,
            &self.app,
            staged.files,
            staged.record,
            &terms,
            warnings,
        )
    }

    /// Opens the environment's delivery, renders, prepares the files for the delivery
    /// (Secrets as its policy says) and records them: a deployment of this run's inputs, or
    /// the `promotion`. What each step says joins `warnings`.
    pub(super) fn stage(
        &self,
        images: &Images,
        promotion: Option<Promotion<'_>>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Staged, Error> {
        let target = environment::open(&self.environment, self.provenance(), warnings)?;
        let now = SystemTime::now();
        let (graph, rendered) = self.render(images, warnings)?;
        let prepared = deploy::prepare(
            &rendered.manifests,
            &self.environment,
            target.kind,
            &self.app,
            self.key(),
            now,
            warnings,
        )?;
        let rendering = Rendering {
            request: self.request(),
            rendered: &rendered,
            secrets: prepared.digests,
        };
        let record = match promotion {
            None => Record::deployed(rendering, self.provenance().clone(), now)?,
            Some(p) => Record::promoted(rendering, p.from, p.original, self.provenance(), now)?,
        };
        Ok(Staged {
            target,
            files: prepared.files,
            record,
            graph,
        })
    }
}

/// What a delivery is asked beyond its files: the user's text for the change, the revision a
/// plan found the app folder at (delivered only while it is still there), what the forge is told.
#[derive(Clone, Copy)]
pub(super) struct Terms<'a> {
    pub message: Option<&'a str>,
    pub planned: Option<&'a Revision>,
    pub talk: &'a Talk,
}

/// Delivers a recorded deployment of `app` to `target` on `terms`.
pub(super) fn deliver(
    target: &mut Target,
    app: &str,
    files: Files,
    record: Record,
    terms: &Terms,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let Terms {
        message,
        planned,
        talk,
    } = *terms;
    let told = record.clone();
    let url = deploy::environment_url(&target.environment, app, &files);
    super::talk::around(target, &told, talk, warnings, |target| {
        let delivered = target.deliver(app, files, &record, message, planned)?;
        let revision = match &delivered {
            Delivered::Written { revision } => revision.clone(),
            Delivered::Unchanged => target.store.holding(&target.folder(app))?,
        };
        Ok(Deployed {
            store: target.location(app),
            folder: target.folder(app),
            url,
            record,
            delivered,
            revision,
            change: None,
        })
    })
}

/// A warning for each image of a git deployment that a tag, not a digest, names.
pub(super) fn unpinned(record: &Record) -> Vec<Diagnostic> {
    record
        .images
        .iter()
        .filter(|i| !i.pinned)
        .map(|i| {
            Diagnostic::general(
                Severity::Warning,
                format!(
                    "container `{}.{}` runs `{}`, which is not pinned by digest: the cluster, and `promote` later, will re-resolve this tag",
                    i.workload, i.container, i.image
                ),
            )
            .with_help("pass the build step's `name@sha256:…` output with --image")
        })
        .collect()
}

/// Promotion: the app's current deployment in one environment — its exact Score inputs and
/// image digests — rendered against another environment's baseline and delivered there.
pub fn promote(
    platform: Option<&Path>,
    from: &str,
    to: &str,
    app: Option<&str>,
    message: Option<&str>,
    talk: &Talk,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let run = environment::provenance();
    let (_, mut source) = open_environment(platform, from, &run, warnings)?;
    let app = app_in(&mut source, app)?;
    let (record, _) = source.store.current(&source.folder(&app))?.ok_or_else(|| {
        Error::Usage(format!(
            "app `{app}` has no deployment in environment `{from}`"
        ))
    })?;
    let workspace = crate::scratch::tempdir("promote")
        .map_err(|e| Error::Runtime(format!("temporary folder: {e}")))?;
    let inputs = Inputs {
        files: record.reconstruct(workspace.path())?,
        platform: platform.map(Path::to_path_buf),
        env: Some(to.to_owned()),
        app: Some(record.app.clone()),
    };
    let session = load_for(&inputs, Some(run), warnings)?;
    let pinned: Vec<String> = record
        .images
        .iter()
        .map(|i| format!("{}.{}={}", i.workload, i.container, i.image))
        .collect();
    let images = Images::parse(&pinned).map_err(|e| Error::Usage(e.to_string()))?;
    let promotion = Promotion {
        from,
        original: &record,
    };
    session.deliver(&images, Some(promotion), message, talk, warnings)
}

/// Redeploys an earlier deployment's files as a new change (history is never rewritten).
pub fn rollback(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    to: Option<&str>,
    message: Option<&str>,
    talk: &Talk,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let run = environment::provenance();
    let (_, mut target) = open_environment(platform, env, &run, warnings)?;
    let app = app_in(&mut target, app)?;
    let (entry, mut files) = target.find(&app, to)?;
    files.retain(|name, _| !name.starts_with(".scoreline/"));
    let record = Record::rolled_back(&entry.record, &target.environment, &run, SystemTime::now());
    let terms = Terms {
        message,
        planned: None,
        talk,
    };
    deliver(&mut target, &app, files, record, &terms, warnings)
}
