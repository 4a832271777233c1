//! What differs, object by object: what deploying now would change, two deployments of an app,
//! or two environments' current deployments of it.

use std::path::Path;

use super::delivery::Staged;
use super::environment::{self, app_in, current, open_environment};
use super::session::Session;
use crate::deploy::{self, Change, Entry, Files, Record, Revision, Side};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::render::Images;

/// A render set against what its environment holds now: staged for delivery, with the
/// record there now, the app folder's revision and the changes from it.
pub(super) struct Preview {
    pub staged: Staged,
    pub deployed: Option<Record>,
    pub revision: Revision,
    pub changes: Vec<Change>,
}

impl Session {
    /// What deploying now would change, object by object.
    pub fn diff(
        &self,
        images: &Images,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Vec<Change>, Error> {
        Ok(self.preview(images, warnings)?.changes)
    }

    /// Renders and compares with what the environment holds now (`diff` and `plan`).
    pub(super) fn preview(
        &self,
        images: &Images,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Preview, Error> {
        let mut staged = self.stage(images, None, warnings)?;
        let folder = staged.target.folder(&self.app);
        let current = staged.target.store.current(&folder)?;
        let revision = staged.target.store.revision(&folder)?;
        let empty = Files::new();
        let (before_record, before_files) = match &current {
            Some((r, f)) => (Some(r), f),
            None => (None, &empty),
        };
        let before = Side {
            files: before_files,
            record: before_record,
            label: "deployed".into(),
        };
        let after = Side {
            files: &staged.files,
            record: Some(&staged.record),
            label: "rendered".into(),
        };
        let changes = deploy::compare(&before, &after, false);
        Ok(Preview {
            deployed: current.map(|(record, _)| record),
            staged,
            revision,
            changes,
        })
    }
}

/// The changes between two deployments of an app (`to` defaults to the current one).
pub fn diff_records(
    platform: Option<&Path>,
    env: &str,
    app: Option<&str>,
    from: &str,
    to: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<Change>, Error> {
    let (_, mut target) = open_environment(platform, env, &environment::provenance(), warnings)?;
    let app = app_in(&mut target, app)?;
    let (old, old_files) = target.find(&app, Some(from))?;
    let (new, new_files) = match to {
        Some(to) => target.find(&app, Some(to))?,
        None => {
            let (record, files) = current(&mut target, &app)?;
            (
                Entry {
                    record,
                    revision: String::new(),
                },
                files,
            )
        }
    };
    let before = Side {
        files: &old_files,
        record: Some(&old.record),
        label: old.record.short_id().to_owned(),
    };
    let after = Side {
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
) -> Result<Vec<Change>, Error> {
    let run = environment::provenance();
    let (_, mut first) = open_environment(platform, env, &run, warnings)?;
    let (_, mut second) = open_environment(platform, other, &run, warnings)?;
    let app = app_in(&mut first, app)?;
    let (a, b) = (current(&mut first, &app)?, current(&mut second, &app)?);
    let before = Side {
        files: &a.1,
        record: Some(&a.0),
        label: env.to_owned(),
    };
    let after = Side {
        files: &b.1,
        record: Some(&b.0),
        label: other.to_owned(),
    };
    Ok(deploy::compare(&before, &after, true))
}
