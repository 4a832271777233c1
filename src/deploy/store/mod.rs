//! Where deployments are kept: a git environment repository or a local folder. Both keep the
//! current manifests per app folder with their record, and their history.

mod dir;
mod git;

use std::collections::BTreeMap;

pub use dir::DirStore;
pub use git::GitStore;

use super::error::Error;
use super::layout::Layout;
use super::record::{RECORD_FILE, Record};
pub use super::revision::Revision;

/// An app folder's files: path inside the folder → bytes.
pub type Files = BTreeMap<String, Vec<u8>>;

/// One past deployment of a folder.
#[derive(Debug, Clone)]
pub struct Entry {
    pub record: Record,
    /// The commit (git) or snapshot (dir) holding it.
    pub revision: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// The folder already held this deployment: nothing was written.
    Unchanged,
    /// Written; the commit (git) or snapshot (dir).
    Written { revision: String },
}

pub trait Store {
    /// "https://…/env.git (main)" or "local folders", for messages.
    fn describe(&self) -> String;

    /// Where a folder is, for messages.
    fn location(&self, folder: &str) -> String {
        format!("{} {folder}", self.describe())
    }

    /// The record and files currently in `folder`.
    fn current(&mut self, folder: &str) -> Result<Option<(Record, Files)>, Error>;

    /// Every deployment of `folder`, newest first.
    fn history(&mut self, folder: &str) -> Result<Vec<Entry>, Error>;

    /// The revision that holds `folder`'s current deployment (after `deliver` answered
    /// `Unchanged`): its newest entry here; the git store answers with the tip it compared.
    fn holding(&mut self, folder: &str) -> Result<String, Error> {
        Ok(self
            .history(folder)?
            .into_iter()
            .next()
            .map(|e| e.revision)
            .unwrap_or_default())
    }

    /// What `folder` holds now, as a plan binds it.
    fn revision(&mut self, folder: &str) -> Result<Revision, Error>;

    /// The files of a past deployment.
    fn files_at(&mut self, folder: &str, entry: &Entry) -> Result<Files, Error>;

    /// Replaces `folder` with `files` (which include the record), unless it already holds the
    /// deployment `id`. Other folders are never touched. With `planned`, the folder must still
    /// be at that revision where the change is applied (on every attempt, a retry's new tip
    /// included), or nothing is written and the answer is `Error::Moved`.
    fn deliver(
        &mut self,
        folder: &str,
        files: &Files,
        id: &str,
        message: &str,
        planned: Option<&Revision>,
    ) -> Result<Delivered, Error>;

    /// As `deliver`, but the change goes to `branch` (made anew from the delivery's branch,
    /// replacing what it held) instead of the delivery's branch, to be proposed for merging;
    /// unchanged when the delivery's branch already holds the deployment. `planned` as for
    /// `deliver`.
    fn propose(
        &mut self,
        folder: &str,
        files: &Files,
        id: &str,
        message: &str,
        branch: &str,
        planned: Option<&Revision>,
    ) -> Result<Delivered, Error> {
        let _ = (folder, files, id, message, branch, planned);
        Err(Error::NotFound(
            "`mode: pull-request` needs a git delivery (`kind: git`)".into(),
        ))
    }

    /// Removes the folders, all in one change, each only if `still` holds for the record it
    /// holds then (checked again on the new tip when a push loses a race, so a deploy that
    /// landed meanwhile is not removed unseen); the folders removed. `message` is the change's
    /// description, given the folders it removes.
    fn remove(
        &mut self,
        folders: &[String],
        still: &dyn Fn(&str, &Record) -> bool,
        message: &dyn Fn(&[String]) -> String,
    ) -> Result<Vec<String>, Error>;

    /// Every folder matching the layout, with its current record.
    fn folders(&mut self, layout: &Layout) -> Result<Vec<(String, Record)>, Error>;
}

/// Reads a folder from disk (a checkout or a delivery folder): the record and every file.
/// `shown` is the folder as messages name it (not a temporary checkout's path).
fn read_folder(dir: &std::path::Path, shown: &str) -> Result<Option<(Record, Files)>, Error> {
    let record_path = dir.join(RECORD_FILE);
    if !record_path.is_file() {
        return Ok(None);
    }
    let at = format!("{shown}/{}", RECORD_FILE);
    let record = parse_record(
        &std::fs::read(&record_path).map_err(|e| Error::Io(format!("{at}: {e}")))?,
        &at,
    )?;
    let mut files = Files::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)
            .map_err(|e| Error::Io(format!("{}: {e}", d.display())))?
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("below the folder")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(
                    rel,
                    std::fs::read(&path)
                        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?,
                );
            }
        }
    }
    Ok(Some((record, files)))
}

fn parse_record(bytes: &[u8], at: &str) -> Result<Record, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Corrupt(format!("{at}: not a scoreline deployment record ({e})")))
}
