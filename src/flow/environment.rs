//! An environment of the baseline with its delivery opened, and what it holds: its apps and
//! their deployments.

use std::path::Path;

use super::session::{app_name, choose_environment, load_baseline};
use crate::baseline::{Baseline, Environment};
use crate::ci::provenance::Provenance;
use crate::deploy::{self, Entry, Files, Record, Target};
use crate::diagnostic::Diagnostic;
use crate::error::Error;

/// An environment of the baseline, with its delivery opened to commit as `run`'s author; what
/// opening it says joins `warnings` (shown even when the command then fails).
pub(super) fn open_environment(
    platform: Option<&Path>,
    env: &str,
    run: &Provenance,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Baseline, Target), Error> {
    let (baseline, _) = load_baseline(platform).map_err(Error::Invalid)?;
    let environment = choose_environment(&baseline, Some(env))?;
    let target = open(&environment, run, warnings)?;
    Ok((baseline, target))
}

/// An environment's delivery, opened to commit as `run`'s author; a local folder delivery is
/// under the current folder.
pub(super) fn open(
    environment: &Environment,
    run: &Provenance,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Target, Error> {
    Ok(deploy::open(
        environment,
        Path::new("."),
        run.author(),
        warnings,
    )?)
}

/// This run's provenance, for commands that render nothing: the CI's variables, and git in the
/// current folder.
pub(super) fn provenance() -> Provenance {
    Provenance::detect(Path::new("."))
}

/// The named app, or the only app the environment holds.
pub(super) fn app_in(target: &mut Target, app: Option<&str>) -> Result<String, Error> {
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

/// The named app, or every app the environment holds.
pub(super) fn apps_in(target: &mut Target, app: Option<&str>) -> Result<Vec<String>, Error> {
    Ok(match app {
        Some(app) => vec![app_name(app)?],
        None => target.apps()?.into_iter().map(|(_, r)| r.app).collect(),
    })
}

/// The app's current deployment in the environment: its record and files.
pub(super) fn current(target: &mut Target, app: &str) -> Result<(Record, Files), Error> {
    let folder = target.folder(app);
    target.store.current(&folder)?.ok_or_else(|| {
        Error::Usage(format!(
            "`{app}` has no deployment in `{}`",
            target.environment.name
        ))
    })
}

/// Every deployment of the app (or of every app) in an environment, newest first.
pub fn history(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<(String, Vec<Entry>)>, Error> {
    let (_, mut target) = open_environment(platform, env, &provenance(), warnings)?;
    apps_in(&mut target, app)?
        .into_iter()
        .map(|app| {
            let folder = target.folder(&app);
            Ok((folder.clone(), target.store.history(&folder)?))
        })
        .collect()
}
