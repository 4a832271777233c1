//! The steps every command that renders shares: load the Score files and the baseline, pick the
//! environment and app, resolve resources, render manifests.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::baseline::{self, Baseline, DeliveryKind, Environment};
use crate::ci::provenance::Provenance;
use crate::deploy::{self, Delivered, Files, ImageUse, Kind, Origin, Record, Run, Target};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;

use crate::render::{self, Images, ManifestSet};
use crate::resolve::{self, Graph, Key};
use crate::score::{self, LoadedWorkload};

/// What the user asked for (flags of `render`, `resources explain`, `deploy`).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub platform: Option<PathBuf>,
    pub env: Option<String>,
    pub app: Option<String>,
}

/// Valid workloads and baseline, the chosen environment and app, and the warnings so far.
pub struct Loaded {
    pub workloads: Vec<LoadedWorkload>,
    pub baseline: Baseline,
    pub environment: Environment,
    pub app: String,
    pub warnings: Vec<Diagnostic>,
}

/// The baseline of `--platform DIR`, or the embedded one.
pub fn load_baseline(platform: Option<&Path>) -> baseline::Outcome {
    match platform {
        Some(dir) => baseline::load_dir(dir),
        None => Ok((baseline::embedded(), Vec::new())),
    }
}

pub fn load(inputs: &Inputs) -> Result<Loaded, Error> {
    let files = if inputs.files.is_empty() {
        vec![PathBuf::from("score.yaml")]
    } else {
        inputs.files.clone()
    };
    let scores = score::load(&files);
    let baseline = load_baseline(inputs.platform.as_deref());
    // Report the problems of both inputs together.
    let mut diagnostics = scores.diagnostics.clone();
    let baseline = match baseline {
        Ok((baseline, warnings)) => {
            diagnostics.extend(warnings);
            Some(baseline)
        }
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    };
    crate::diagnostic::sort(&mut diagnostics);
    let baseline = match baseline {
        Some(b) if !scores.has_errors() => b,
        _ => return Err(Error::Invalid(diagnostics)),
    };
    let environment = choose_environment(&baseline, inputs.env.as_deref())?;
    let app = match &inputs.app {
        Some(app) => app_name(app)?,
        None => scores.workloads[0].workload.metadata.name.clone(),
    };
    Ok(Loaded {
        workloads: scores.workloads,
        baseline,
        environment,
        app,
        warnings: diagnostics,
    })
}

/// An app named on the command line: a DNS label, as app names are, and so never a path that
/// would lead outside the app's folder (`../staging/shop`).
fn app_name(app: &str) -> Result<String, Error> {
    if resolve::dns_label(app, app, 63) != app {
        return Err(Error::Usage(format!(
            "--app `{app}` must be lowercase letters, digits and '-' (at most 63 characters)"
        )));
    }
    Ok(app.to_owned())
}

pub fn choose_environment(baseline: &Baseline, wanted: Option<&str>) -> Result<Environment, Error> {
    let names = baseline.environment_names().join(", ");
    match wanted {
        Some(name) => baseline.environment(name).ok_or_else(|| {
            Error::Usage(format!(
                "environment `{name}` is not defined in {} (environments: {names})",
                baseline.origin
            ))
        }),
        None => baseline
            .environment("development")
            .or_else(|| {
                let only = &baseline.environments;
                (only.len() == 1 && !only[0].is_pattern()).then(|| only[0].clone())
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "name an environment with --env (environments: {names})"
                ))
            }),
    }
}

impl Loaded {
    pub fn request(&self) -> resolve::Request<'_> {
        resolve::Request {
            workloads: &self.workloads,
            baseline: &self.baseline,
            environment: &self.environment,
            app: &self.app,
            key: Key::from_env(),
        }
    }

    /// The identity of a render of these inputs (keyed: it covers Secret values).
    pub fn id(&self, set: &ManifestSet) -> String {
        set.digest(&Key::from_env())
    }

    /// Resolves and renders; warnings of both steps join `self.warnings`.
    pub fn render(&mut self, images: &Images) -> Result<(Graph, ManifestSet), Error> {
        let graph = resolve::resolve(&self.request())?;
        self.warnings.extend(graph.warnings.iter().cloned());
        let key = Key::from_env();
        let options = render::Options {
            environment: &self.environment,
            policy: &self.baseline.policy,
            images,
            app: &self.app,
            key: &key,
        };
        let set = render::render(&self.workloads, &graph, &options)?;
        Ok((graph, set))
    }
}

/// A delivered (or unchanged) deployment.
pub struct Deployed {
    pub record: Record,
    pub delivered: Delivered,
    pub folder: String,
    /// Where it went (repository and folder), for messages.
    pub store: String,
    /// Secret values that were rendered, for CI log masking.
    pub secrets: Vec<String>,
}

/// What a deployment is: how it came about and the message for its commit.
pub struct Deployment<'a> {
    pub kind: Kind,
    pub from: Option<Origin>,
    pub message: Option<&'a str>,
    /// For a promotion: where the promoted deployment's inputs came from (its record's
    /// provenance), kept instead of this run's.
    pub source: Option<Provenance>,
}

impl Loaded {
    /// Opens the chosen environment's delivery; a local folder delivery is under the current folder.
    /// The environment's delivery, opened; what opening it says joins `self.warnings`.
    fn target(&mut self) -> Result<Target, Error> {
        let mut target = deploy::open(
            &self.environment,
            Path::new("."),
            self.provenance().author(),
        )?;
        self.warnings.append(&mut target.warnings);
        Ok(target)
    }

    fn provenance(&self) -> Provenance {
        Provenance::detect(&self.workloads[0].workspace.root)
    }

    /// Renders, prepares the Secrets for the delivery, writes the record and delivers.
    pub fn deploy(
        &mut self,
        images: &Images,
        deployment: Deployment<'_>,
    ) -> Result<Deployed, Error> {
        let mut target = self.target()?;
        let (graph, set, prepared) = self.prepare(images, &target)?;
        let mut record = self.record(images, &set, prepared.digests.clone(), deployment.kind)?;
        record.from = deployment.from;
        if target.kind == DeliveryKind::Git {
            self.warnings.extend(unpinned(&record));
        }
        if let Some(original) = deployment.source {
            record.run = Some(Run::of(&record.provenance));
            record.provenance = original;
        }
        let message = deploy::message(&record, deployment.message);
        let delivered = target.deliver(&self.app, prepared.files, &record, &message)?;
        Ok(Deployed {
            store: target.store.location(&target.folder(&self.app)),
            folder: target.folder(&self.app),
            record,
            delivered,
            secrets: graph.secret_texts(),
        })
    }

    /// What deploying now would change, object by object.
    pub fn diff(&mut self, images: &Images) -> Result<(Vec<deploy::Change>, Vec<String>), Error> {
        let mut target = self.target()?;
        let (graph, set, prepared) = self.prepare(images, &target)?;
        let record = self.record(images, &set, prepared.digests, Kind::Deploy)?;
        let current = target.store.current(&target.folder(&self.app))?;
        let empty = Files::new();
        let (before_record, before_files) = match &current {
            Some((r, f)) => (Some(r), f),
            None => (None, &empty),
        };
        let before = deploy::Side {
            files: before_files,
            record: before_record,
            label: "deployed".into(),
        };
        let after = deploy::Side {
            files: &prepared.files,
            record: Some(&record),
            label: "rendered".into(),
        };
        Ok((
            deploy::compare(&before, &after, false),
            graph.secret_texts(),
        ))
    }

    fn prepare(
        &mut self,
        images: &Images,
        target: &Target,
    ) -> Result<(Graph, ManifestSet, deploy::Prepared), Error> {
        let (graph, set) = self.render(images)?;
        let now = deploy::timestamp(SystemTime::now());
        let prepared = deploy::prepare(
            &set,
            &self.environment,
            target.kind,
            &self.app,
            &Key::from_env(),
            &now,
        )?;
        self.warnings.extend(prepared.warnings.iter().cloned());
        Ok((graph, set, prepared))
    }

    fn record(
        &self,
        images: &Images,
        set: &ManifestSet,
        digests: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
        kind: Kind,
    ) -> Result<Record, Error> {
        let mut uses = Vec::new();
        for w in &self.workloads {
            for (name, container) in &w.workload.containers {
                let image = images
                    .for_container(&w.workload.metadata.name, name, &container.image)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                uses.push(ImageUse {
                    workload: w.workload.metadata.name.clone(),
                    container: name.clone(),
                    pinned: image.contains("@sha256:"),
                    image,
                });
            }
        }
        let inputs = deploy::Inputs {
            workloads: &self.workloads,
            images: uses,
            environment: &self.environment,
            app: &self.app,
            baseline: &self.baseline,
            id: self.id(set),
            digests,
        };
        Ok(deploy::record(inputs, kind, self.provenance())?)
    }
}

/// A warning for each image of a git deployment that a tag, not a digest, names.
fn unpinned(record: &Record) -> Vec<Diagnostic> {
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
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let (_, mut source) = open_environment(platform, from, warnings)?;
    let app = app_in(&mut source, app)?;
    let (record, _) = source.store.current(&source.folder(&app))?.ok_or_else(|| {
        Error::Usage(format!(
            "app `{app}` has no deployment in environment `{from}`"
        ))
    })?;
    let workspace =
        tempfile::tempdir().map_err(|e| Error::Runtime(format!("temporary folder: {e}")))?;
    let files = deploy::reconstruct(&record, workspace.path())?;
    let inputs = Inputs {
        files,
        platform: platform.map(Path::to_path_buf),
        env: Some(to.to_owned()),
        app: Some(record.app.clone()),
    };
    let mut loaded = load(&inputs)?;
    let pinned: Vec<String> = record
        .images
        .iter()
        .map(|i| format!("{}.{}={}", i.workload, i.container, i.image))
        .collect();
    let images = Images::parse(&pinned).map_err(|e| Error::Usage(e.to_string()))?;
    let from = Some(Origin {
        environment: from.to_owned(),
        id: record.id.clone(),
    });
    let deployed = loaded.deploy(
        &images,
        Deployment {
            kind: Kind::Promote,
            from,
            message,
            source: Some(record.provenance.clone()),
        },
    );
    warnings.append(&mut loaded.warnings);
    deployed
}

/// An environment of the baseline, with its delivery opened; what opening it says joins
/// `warnings` (shown even when the command then fails).
pub fn open_environment(
    platform: Option<&Path>,
    env: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Baseline, Target), Error> {
    let (baseline, _) = load_baseline(platform).map_err(Error::Invalid)?;
    let environment = choose_environment(&baseline, Some(env))?;
    let target = open_target(&environment, warnings)?;
    Ok((baseline, target))
}

fn open_target(environment: &Environment, warnings: &mut Vec<Diagnostic>) -> Result<Target, Error> {
    let mut target = deploy::open(
        environment,
        Path::new("."),
        Provenance::detect(Path::new(".")).author(),
    )?;
    warnings.append(&mut target.warnings);
    Ok(target)
}

/// The named app, or the only app the environment holds.
pub fn app_in(target: &mut Target, app: Option<&str>) -> Result<String, Error> {
    if let Some(app) = app {
        return app_name(app);
    }
    let env = target.environment.name.clone();
    match target.apps()?.as_slice() {
        [(_, record)] => Ok(record.app.clone()),
        [] => Err(Error::Usage(format!(
            "environment `{env}` holds no deployments"
        ))),
        many => {
            let apps: Vec<&str> = many.iter().map(|(_, r)| r.app.as_str()).collect();
            Err(Error::Usage(format!(
                "environment `{env}` holds several apps ({}): name one with --app",
                apps.join(", ")
            )))
        }
    }
}

/// Every deployment of the app (or of every app) in an environment, newest first.
pub fn history(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<(String, Vec<deploy::Entry>)>, Error> {
    let (_, mut target) = open_environment(platform, env, warnings)?;
    let apps: Vec<String> = match app {
        Some(app) => vec![app_name(app)?],
        None => target.apps()?.into_iter().map(|(_, r)| r.app).collect(),
    };
    apps.into_iter()
        .map(|app| {
            let folder = target.folder(&app);
            Ok((folder.clone(), target.store.history(&folder)?))
        })
        .collect()
}

/// Redeploys an earlier deployment's files as a new change (history is never rewritten).
pub fn rollback(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    to: Option<&str>,
    message: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let (_, mut target) = open_environment(platform, env, warnings)?;
    let app = app_in(&mut target, app)?;
    let (entry, mut files) = target.find(&app, to)?;
    files.retain(|name, _| !name.starts_with(".scoreline/"));
    let provenance = Provenance::detect(Path::new("."));
    let mut record = entry.record.clone();
    record.kind = Kind::Rollback;
    record.time = deploy::timestamp(SystemTime::now());
    record.expires = target
        .environment
        .ttl()
        .map(|ttl| deploy::timestamp(SystemTime::now() + ttl));
    record.from = Some(Origin {
        environment: env.to_owned(),
        id: entry.record.id.clone(),
    });
    // The deployed inputs are still the original's; this run only brought them back.
    record.run = Some(Run::of(&provenance));
    let text = deploy::message(&record, message);
    let delivered = target.deliver(&app, files, &record, &text)?;
    Ok(Deployed {
        store: target.store.location(&target.folder(&app)),
        folder: target.folder(&app),
        record,
        delivered,
        secrets: Vec::new(),
    })
}

/// The changes between two deployments of an app (`to` defaults to the current one).
pub fn diff_records(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    from: &str,
    to: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<deploy::Change>, Error> {
    let (_, mut target) = open_environment(platform, env, warnings)?;
    let app = app_in(&mut target, app)?;
    let (old, old_files) = target.find(&app, Some(from))?;
    let (new, new_files) = match to {
        Some(to) => target.find(&app, Some(to))?,
        None => {
            let folder = target.folder(&app);
            let (record, files) = target
                .store
                .current(&folder)?
                .ok_or_else(|| Error::Usage(format!("`{app}` has no deployment in `{env}`")))?;
            (
                deploy::Entry {
                    record,
                    revision: String::new(),
                },
                files,
            )
        }
    };
    let before = deploy::Side {
        files: &old_files,
        record: Some(&old.record),
        label: old.record.short_id().to_owned(),
    };
    let after = deploy::Side {
        files: &new_files,
        record: Some(&new.record),
        label: new.record.short_id().to_owned(),
    };
    Ok(deploy::compare(&before, &after, false))
}

/// The changes from one environment's current deployment of an app to another's, namespaces
/// left out.
pub fn diff_environments(
    platform: Option<&Path>,
    env: &str,
    other: &str,
    app: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<deploy::Change>, Error> {
    let (_, mut first) = open_environment(platform, env, warnings)?;
    let (_, mut second) = open_environment(platform, other, warnings)?;
    let app = app_in(&mut first, app)?;
    let current = |target: &mut Target| -> Result<(Record, Files), Error> {
        let folder = target.folder(&app);
        target.store.current(&folder)?.ok_or_else(|| {
            Error::Usage(format!(
                "`{app}` has no deployment in `{}`",
                target.environment.name
            ))
        })
    };
    let (a, b) = (current(&mut first)?, current(&mut second)?);
    let before = deploy::Side {
        files: &a.1,
        record: Some(&a.0),
        label: env.to_owned(),
    };
    let after = deploy::Side {
        files: &b.1,
        record: Some(&b.0),
        label: other.to_owned(),
    };
    Ok(deploy::compare(&before, &after, true))
}

/// Removes every app folder an environment owns (or one app's), in one change: the apps
/// removed, and where from.
pub fn destroy(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    force: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Vec<String>, String), Error> {
    let (_, mut target) = open_environment(platform, env, warnings)?;
    if target.environment.pattern.is_none() && !force {
        return Err(Error::Usage(format!(
            "environment `{env}` is not a preview environment: add --force to remove its deployments anyway"
        )));
    }
    let apps: Vec<String> = match app {
        Some(app) => vec![app_name(app)?],
        None => target.apps()?.into_iter().map(|(_, r)| r.app).collect(),
    };
    let removed = target.remove(&apps)?;
    Ok((removed, target.store.describe()))
}

/// Removes expired preview instances in every delivery of the baseline's preview patterns.
pub fn gc(
    platform: Option<&Path>,
    older_than: Option<std::time::Duration>,
    dry_run: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<(String, String)>, Error> {
    let (baseline, _) = load_baseline(platform).map_err(Error::Invalid)?;
    let mut removed = Vec::new();
    let mut seen = Vec::new();
    for pattern in baseline.environments.iter().filter(|e| e.is_pattern()) {
        // Patterns sharing a delivery are collected once.
        if seen.contains(&pattern.delivery) {
            continue;
        }
        seen.push(pattern.delivery.clone());
        let mut target = open_target(pattern, warnings)?;
        let mut expired = deploy::expired(&baseline, &mut target, older_than, SystemTime::now())?;
        if expired.is_empty() {
            continue;
        }
        if !dry_run {
            let folders: Vec<String> = expired.iter().map(|(f, _)| f.clone()).collect();
            // Only what was judged: a deploy that lands while gc pushes makes a new record.
            let judged = |folder: &str, record: &Record| {
                expired.iter().any(|(f, r)| f == folder && r == record)
            };
            let message = |gone: &[String]| {
                let names: Vec<String> = expired
                    .iter()
                    .filter(|(f, _)| gone.contains(f))
                    .map(|(_, r)| format!("{}/{}", r.environment, r.app))
                    .collect();
                format!("gc: remove expired previews {}", names.join(", "))
            };
            let gone = target.store.remove(&folders, &judged, &message)?;
            expired.retain(|(f, _)| gone.contains(f));
        }
        removed.extend(expired.into_iter().map(|(_, r)| (r.environment, r.app)));
    }
    Ok(removed)
}
