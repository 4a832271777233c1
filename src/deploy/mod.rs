//! Delivering rendered manifests and keeping their history: a git environment repository or a
//! local folder per environment, a deployment record beside every delivery, and diff, rollback,
//! promotion inputs and preview teardown on top. Renders nothing itself.

mod diff;
mod git;
mod layout;
pub mod record;
mod secrets;
mod sops;
pub mod store;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use sha2::{Digest, Sha256};

pub use diff::{Change, Side, compare};
pub use git::GitError;
pub use layout::{Layout, LayoutError};
pub use record::{ImageUse, Kind, Origin, RECORD_FILE, Record, Run, SourceInput, WorkloadInput};
pub use secrets::{Prepared, prepare};
pub use store::{Delivered, Entry, Files, Store};

use crate::baseline::{Baseline, DeliveryKind, Environment};
use crate::ci::provenance::Provenance;
use crate::diagnostic::{Diagnostic, Severity};
use crate::score::LoadedWorkload;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused by policy (exit 3).
    #[error("refused by policy")]
    Refused(Diagnostic),
    #[error("environment repository {repository}: {error}")]
    Git { repository: String, error: GitError },
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Corrupt(String),
    /// Something named does not exist: an environment without delivery, an unknown record.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// An environment's delivery, opened.
pub struct Target {
    pub environment: Environment,
    pub kind: DeliveryKind,
    pub layout: Layout,
    pub store: Box<dyn Store>,
    /// Said while opening (a token withheld from a plain-http repository).
    pub warnings: Vec<Diagnostic>,
}

/// Opens where an environment delivers to; a local folder delivery is relative to `root`.
pub fn open(
    environment: &Environment,
    root: &Path,
    author: (String, String),
) -> Result<Target, Error> {
    let delivery = environment.delivery.as_ref().ok_or_else(|| {
        Error::NotFound(format!("environment `{}` has no `delivery` in environments.yaml: add `delivery: {{kind: git, repo: …, path: \"{{env}}/{{app}}\"}}` or `{{kind: dir, path: …}}`", environment.name))
    })?;
    let layout = Layout::new(&delivery.path)?;
    let mut warnings = Vec::new();
    let store: Box<dyn Store> = match delivery.kind {
        DeliveryKind::Dir => Box::new(store::DirStore::new(root)),
        DeliveryKind::Git => {
            let repo = delivery
                .repo
                .as_deref()
                .expect("the schema requires repo for git delivery");
            let url = repository_url(repo, root);
            // Where the repository URL is written in environments.yaml, for messages.
            let repo_at = environment
                .repo_location
                .as_ref()
                .or(environment.location.as_ref());
            if let Some(variable) = git::withheld_token(&url) {
                let message = format!(
                    "{variable} is set but not sent to {}: credentials go only over https, where nobody on the network can read them",
                    crate::ci::provenance::without_credentials(&url)
                );
                let warning = match repo_at {
                    Some(at) => at.source.warning(at.node.span.start, message),
                    None => Diagnostic::general(Severity::Warning, message),
                };
                warnings.push(warning.with_help(format!(
                    "give environment `{}` an https:// repository URL",
                    environment.name
                )));
            }
            let at = repo_at
                .map(|at| {
                    let pos = at.node.span.start;
                    format!(
                        " ({}:{}:{})",
                        at.source.path.display(),
                        pos.line,
                        pos.column
                    )
                })
                .unwrap_or_default();
            Box::new(store::GitStore::new(
                &url,
                delivery.branch.as_deref().unwrap_or("main"),
                author,
                format!("`delivery.repo` of environment `{}`{at}", environment.name),
            )?)
        }
    };
    Ok(Target {
        environment: environment.clone(),
        kind: delivery.kind,
        layout,
        store,
        warnings,
    })
}

/// A local repository path is taken relative to `root`; URLs as they are.
fn repository_url(repo: &str, root: &Path) -> String {
    if repo.contains("://") || repo.contains('@') || Path::new(repo).is_absolute() {
        repo.to_owned()
    } else {
        let path = root.join(repo);
        path.canonicalize()
            .or_else(|_| std::path::absolute(&path))
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

impl Target {
    pub fn folder(&self, app: &str) -> String {
        self.layout.folder(&self.environment.name, app)
    }

    /// The app folders of this environment (for `history` without `--app`, and teardown).
    pub fn apps(&mut self) -> Result<Vec<(String, Record)>, Error> {
        let env = self.environment.name.clone();
        let mut found = self.deployments()?;
        found.retain(|(_, record)| record.environment == env);
        Ok(found)
    }

    /// Every folder of the delivery holding a record of the environment and app its path
    /// names: a record's names are used to find its folder again (to remove it), so one that
    /// claims another folder's, or a path (`../x`), is not taken for a deployment.
    pub fn deployments(&mut self) -> Result<Vec<(String, Record)>, Error> {
        let mut found = self.store.folders(&self.layout)?;
        found.retain(|(folder, record)| {
            self.layout.folder(&record.environment, &record.app) == *folder
        });
        Ok(found)
    }

    /// Delivers prepared files with their record; a no-op when the folder already holds it.
    pub fn deliver(
        &mut self,
        app: &str,
        mut files: Files,
        record: &Record,
        message: &str,
    ) -> Result<Delivered, Error> {
        files.insert(RECORD_FILE.into(), record.to_bytes());
        let folder = self.folder(app);
        self.store.deliver(&folder, &files, &record.id, message)
    }

    /// The deployment a record id (or a unique prefix of it) names, or the one before the
    /// current one when `id` is none.
    pub fn find(&mut self, app: &str, id: Option<&str>) -> Result<(Entry, Files), Error> {
        let folder = self.folder(app);
        let history = self.store.history(&folder)?;
        let current = history.first().map(|e| e.record.id.clone());
        let entry = match id {
            Some(id) => {
                let wanted = if id.starts_with("sha256:") {
                    id.to_owned()
                } else {
                    format!("sha256:{id}")
                };
                let matching: Vec<&Entry> = history
                    .iter()
                    .filter(|e| e.record.id.starts_with(&wanted))
                    .collect();
                let unique: Vec<&String> = {
                    let mut ids: Vec<&String> = matching.iter().map(|e| &e.record.id).collect();
                    ids.dedup();
                    ids
                };
                match unique.len() {
                    0 => {
                        return Err(Error::NotFound(format!(
                            "no deployment {id} of `{app}` in `{}`; see `scoreline history`",
                            self.environment.name
                        )));
                    }
                    1 => matching[0].clone(),
                    _ => {
                        return Err(Error::NotFound(format!(
                            "{id} matches several deployments of `{app}`; give more of the id"
                        )));
                    }
                }
            }
            None => history
                .iter()
                .find(|e| Some(&e.record.id) != current.as_ref())
                .cloned()
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "`{app}` in `{}` has no earlier deployment to roll back to",
                        self.environment.name
                    ))
                })?,
        };
        let files = self.store.files_at(&folder, &entry)?;
        Ok((entry, files))
    }

    /// Removes app folders of this environment in one change (`destroy ENV: remove APPS`);
    /// the apps removed.
    pub fn remove(&mut self, apps: &[String]) -> Result<Vec<String>, Error> {
        let folders: Vec<String> = apps.iter().map(|a| self.folder(a)).collect();
        let apps_in = |removed: &[String]| -> Vec<String> {
            apps.iter()
                .zip(&folders)
                .filter(|(_, f)| removed.contains(f))
                .map(|(a, _)| a.clone())
                .collect()
        };
        let env = self.environment.name.clone();
        let message =
            |removed: &[String]| format!("destroy {env}: remove {}", apps_in(removed).join(", "));
        let removed = self.store.remove(&folders, &|_, _| true, &message)?;
        Ok(apps_in(&removed))
    }
}

/// The commit message of a deployment: what, where, and where from.
pub fn message(record: &Record, extra: Option<&str>) -> String {
    let verb = match record.kind {
        Kind::Deploy => "deploy",
        Kind::Rollback => "roll back",
        Kind::Promote => "promote",
    };
    let mut text = format!(
        "{verb} {} to {} ({})\n\n",
        record.app,
        record.environment,
        record.short_id()
    );
    let p = &record.provenance;
    if let Some(repo) = &p.repository {
        text.push_str(&format!(
            "source: {repo}{}\n",
            p.commit
                .as_deref()
                .map(|c| format!(" @ {c}"))
                .unwrap_or_default()
        ));
    }
    // The run making this commit: a rollback's or promotion's own, else the deploying one.
    let run = match &record.run {
        Some(run) => run.run_url.as_ref(),
        None => p.run_url.as_ref(),
    };
    if let Some(run) = run {
        text.push_str(&format!("run: {run}\n"));
    }
    if let Some(from) = &record.from {
        text.push_str(&format!("from: {} {}\n", from.environment, from.id));
    }
    text.push_str(&format!("record: {}\n", record.id));
    if let Some(extra) = extra {
        text.push_str(&format!("\n{extra}\n"));
    }
    text
}

/// Everything a record says about the inputs of a render.
pub struct Inputs<'a> {
    pub workloads: &'a [LoadedWorkload],
    pub images: Vec<ImageUse>,
    pub environment: &'a Environment,
    pub app: &'a str,
    pub baseline: &'a Baseline,
    pub id: String,
    pub digests: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// A new record of this run's inputs (no `from`, no `run`: a promotion sets them).
pub fn record(inputs: Inputs<'_>, kind: Kind, provenance: Provenance) -> Result<Record, Error> {
    let now = SystemTime::now();
    let expires = inputs.environment.ttl().map(|ttl| timestamp(now + ttl));
    let mut workloads = Vec::new();
    let mut sources = Vec::new();
    for loaded in inputs.workloads {
        let root = &loaded.workspace.root;
        let file = relative(
            &std::path::absolute(&loaded.source.path)
                .unwrap_or_else(|_| loaded.source.path.clone()),
            root,
        );
        workloads.push(WorkloadInput {
            name: loaded.workload.metadata.name.clone(),
            file,
            sha256: format!(
                "sha256:{}",
                hex(&Sha256::digest(loaded.source.text.as_bytes()))
            ),
            score: loaded.source.text.clone(),
        });
        for f in loaded
            .workload
            .containers
            .values()
            .flat_map(|c| c.files.values())
        {
            if let Some(path) = &f.source {
                let resolved = loaded
                    .workspace
                    .resolve(path)
                    .map_err(|e| Error::Io(e.to_string()))?;
                let bytes = std::fs::read(&resolved)
                    .map_err(|e| Error::Io(format!("{}: {e}", resolved.display())))?;
                let (content, base64) = match String::from_utf8(bytes) {
                    Ok(text) => (text, false),
                    Err(e) => (
                        base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                        true,
                    ),
                };
                let input = SourceInput {
                    path: relative(&resolved, root),
                    content,
                    base64,
                };
                if !sources.contains(&input) {
                    sources.push(input);
                }
            }
        }
    }
    Ok(Record {
        id: inputs.id,
        kind,
        app: inputs.app.to_owned(),
        environment: inputs.environment.name.clone(),
        environment_type: inputs.environment.env_type.clone(),
        namespace: inputs.environment.namespace.clone(),
        time: timestamp(now),
        expires,
        baseline: inputs.baseline.revision.clone(),
        provenance,
        run: None,
        workloads,
        sources,
        images: inputs.images,
        secrets: inputs.digests,
        from: None,
    })
}

/// Writes a record's inputs (Score files and their source files) into `dir` as a workspace of
/// its own, so they can be rendered again elsewhere; returns the Score files.
pub fn reconstruct(record: &Record, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    // A record comes from a repository: its paths must stay inside the new workspace.
    let place = |path: &str| -> Result<PathBuf, Error> {
        let p = Path::new(path);
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(Error::Corrupt(format!(
                "record {}: path `{path}` leaves the workspace",
                record.short_id()
            )));
        }
        Ok(dir.join(p))
    };
    let write = |path: &Path, bytes: &[u8]| -> Result<(), Error> {
        std::fs::create_dir_all(path.parent().unwrap_or(dir))
            .map_err(|e| Error::Io(e.to_string()))?;
        std::fs::write(path, bytes).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
    };
    // A `.git` marks the workspace root, as the source repository's did.
    std::fs::create_dir_all(dir.join(".git")).map_err(|e| Error::Io(e.to_string()))?;
    for source in &record.sources {
        let bytes = if source.base64 {
            base64::engine::general_purpose::STANDARD
                .decode(&source.content)
                .map_err(|e| Error::Corrupt(e.to_string()))?
        } else {
            source.content.clone().into_bytes()
        };
        write(&place(&source.path)?, &bytes)?;
    }
    let mut files = Vec::new();
    for w in &record.workloads {
        let path = place(&w.file)?;
        write(&path, w.score.as_bytes())?;
        files.push(path);
    }
    Ok(files)
}

/// Preview instances (of any pattern of the baseline) whose last deployment is older than
/// `older_than` (or, without it, than their pattern's ttl): their folders and records.
pub fn expired(
    baseline: &Baseline,
    target: &mut Target,
    older_than: Option<Duration>,
    now: SystemTime,
) -> Result<Vec<(String, Record)>, Error> {
    let mut out = Vec::new();
    for (folder, record) in target.deployments()? {
        let Some(instance) = baseline
            .environment(&record.environment)
            .filter(|e| e.pattern.is_some())
        else {
            continue;
        };
        let Some(limit) = older_than.or_else(|| instance.ttl()) else {
            continue;
        };
        let deployed = humantime::parse_rfc3339(&record.time).map_err(|e| {
            Error::Corrupt(format!(
                "record {}: time `{}`: {e}",
                record.short_id(),
                record.time
            ))
        })?;
        if now.duration_since(deployed).unwrap_or_default() >= limit {
            out.push((folder, record));
        }
    }
    Ok(out)
}

pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

fn relative(path: &Path, root: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical
        .strip_prefix(root)
        .unwrap_or(&canonical)
        .to_string_lossy()
        .replace('\\', "/")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
