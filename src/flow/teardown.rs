//! Removing deployments: a whole (preview) environment's, or every expired preview's.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::environment::{self, apps_in, open_environment};
use super::session::load_baseline;
use crate::deploy::Record;
use crate::diagnostic::Diagnostic;
use crate::error::Error;

/// Removes every app folder an environment owns (or one app's), in one change: the apps
/// removed, and where from.
pub fn destroy(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    force: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Vec<String>, String), Error> {
    let (_, mut target) = open_environment(platform, env, &environment::provenance(), warnings)?;
    if target.environment.pattern.is_none() && !force {
        return Err(Error::Usage(format!(
            "environment `{env}` is not a preview environment: add --force to remove its deployments anyway"
        )));
    }
    let apps = apps_in(&mut target, app)?;
    let removed = target.remove(&apps)?;
    Ok((removed, target.store.describe()))
}

/// Removes expired preview instances in every delivery of the baseline's preview patterns:
/// the (environment, app) of each.
pub fn gc(
    platform: Option<&Path>,
    older_than: Option<Duration>,
    dry_run: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<(String, String)>, Error> {
    let (baseline, _) = load_baseline(platform).map_err(Error::Invalid)?;
    let run = environment::provenance();
    let mut removed = Vec::new();
    let mut seen = Vec::new();
    for pattern in baseline.environments.iter().filter(|e| e.is_pattern()) {
        // Patterns sharing a delivery are collected once.
        if seen.contains(&pattern.delivery) {
            continue;
        }
        seen.push(pattern.delivery.clone());
        let mut target = environment::open(pattern, &run, warnings)?;
        let mut expired = target.expired(&baseline, older_than, SystemTime::now())?;
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
