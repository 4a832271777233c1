//! An environment's delivery, opened: where its app folders are (the layout) and the store
//! that keeps them, with what a command does to them — deliver, find, list, remove.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::error::Error;
use super::git_cli;
use super::layout::Layout;
use super::message::commit_message;
use super::record::{RECORD_FILE, Record};
use super::store::{self, Delivered, Entry, Files, Revision, Store};
use crate::baseline::{Baseline, DeliveryKind, DeliveryMode, Environment};
use crate::diagnostic::{Diagnostic, Severity};

/// An environment's delivery, opened.
pub struct Target {
    pub environment: Environment,
    pub kind: DeliveryKind,
    /// The environment repository (git deliveries).
    pub url: Option<String>,
    pub layout: Layout,
    pub store: Box<dyn Store>,
}

/// Opens where an environment delivers to; a local folder delivery is relative to `root`. What
/// opening says (a token withheld from a plain-http repository) joins `warnings`.
pub fn open(
    environment: &Environment,
    root: &Path,
    author: (String, String),
    warnings: &mut Vec<Diagnostic>,
) -> Result<Target, Error> {
    let delivery = environment.delivery.as_ref().ok_or_else(|| {
        Error::NotFound(format!("environment `{}` has no `delivery` in environments.yaml: add `delivery: {{kind: git, repo: …, path: \"{{env}}/{{app}}\"}}` or `{{kind: dir, path: …}}`", environment.name))
    })?;
    let layout = Layout::new(&delivery.path)?;
    let mut repository = None;
    let store: Box<dyn Store> = match delivery.kind {
        DeliveryKind::Dir => Box::new(store::DirStore::new(root)),
        DeliveryKind::Git => {
            let repo = delivery
                .repo
                .as_deref()
                .expect("the schema requires repo for git delivery");
            let url = repository_url(repo, root);
            repository = Some(url.clone());
            // Where the repository URL is written in environments.yaml, for messages.
            let repo_at = environment
                .repo_location
                .as_ref()
                .or(environment.location.as_ref());
            if let Some(variable) = git_cli::withheld_token(&url) {
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
        url: repository,
        layout,
        store,
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

    /// Where an app's folder is, for messages.
    pub fn location(&self, app: &str) -> String {
        self.store.location(&self.folder(app))
    }

    /// Delivers prepared files with their record, in a change described by the record and
    /// `extra` (the user's text); a no-op when the folder already holds it. With `planned`,
    /// only while the app's folder is still at that revision.
    pub fn deliver(
        &mut self,
        app: &str,
        mut files: Files,
        record: &Record,
        extra: Option<&str>,
        planned: Option<&Revision>,
    ) -> Result<Delivered, Error> {
        files.insert(RECORD_FILE.into(), record.to_bytes());
        let folder = self.folder(app);
        let message = commit_message(record, extra);
        let delivered = match self.proposal_branch(app) {
            Some(branch) => self
                .store
                .propose(&folder, &files, &record.id, &message, &branch, planned),
            None => self
                .store
                .deliver(&folder, &files, &record.id, &message, planned),
        };
        delivered.map_err(|e| match e {
            Error::Moved {
                location,
                planned,
                now,
                ..
            } => Error::Moved {
                environment: self.environment.name.clone(),
                location,
                planned,
                now,
            },
            e => e,
        })
    }

    /// With `mode: pull-request`, the branch an app's deploys are proposed from.
    pub fn proposal_branch(&self, app: &str) -> Option<String> {
        let delivery = self.environment.delivery.as_ref()?;
        (delivery.mode == DeliveryMode::PullRequest)
            .then(|| format!("scoreline/{}/{app}", self.environment.name))
    }

    /// The branch deliveries go to (or are proposed against).
    pub fn branch(&self) -> String {
        self.environment
            .delivery
            .as_ref()
            .and_then(|d| d.branch.clone())
            .unwrap_or_else(|| "main".into())
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

    /// Preview instances (of any pattern of the baseline) whose last deployment is older than
    /// `older_than` (or, without it, than their pattern's ttl): their folders and records.
    pub fn expired(
        &mut self,
        baseline: &Baseline,
        older_than: Option<Duration>,
        now: SystemTime,
    ) -> Result<Vec<(String, Record)>, Error> {
        let mut out = Vec::new();
        for (folder, record) in self.deployments()? {
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
}
