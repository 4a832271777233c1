//! A local folder (the embedded `development` environment's delivery): each app folder is
//! replaced atomically, and keeps its own history as snapshots under `.scoreline/history/`.
//! Deploys of one folder from separate processes take turns (a lock file beside it), so each
//! reads the history the one before it wrote and none is lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{Delivered, Entry, Files, Revision, Store, parse_record, read_folder};
use crate::deploy::error::Error;
use crate::deploy::layout::Layout;
use crate::deploy::record::{RECORD_FILE, Record};
use crate::folder;

const HISTORY: &str = ".scoreline/history";

pub struct DirStore {
    root: PathBuf,
}

/// One deployment as kept in the history: the record and the files (base64).
#[derive(Serialize, Deserialize)]
struct Snapshot {
    record: Record,
    files: BTreeMap<String, String>,
}

impl DirStore {
    pub fn new(root: &Path) -> DirStore {
        DirStore {
            root: root.to_path_buf(),
        }
    }

    /// Waits for, and holds until the file is dropped, the exclusive lock of `folder`: the
    /// advisory lock of `.NAME.lock` beside it (not inside: the folder is replaced whole). The
    /// operating system releases it when a process ends, however it ends.
    fn lock(&self, folder: &str) -> Result<std::fs::File, Error> {
        let dir = self.root.join(folder);
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(Error::Io(format!(
                "{}: not a folder to deliver to",
                dir.display()
            )));
        };
        let path = parent.join(format!(".{}.lock", name.to_string_lossy()));
        let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(parent).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }
}

impl Store for DirStore {
    fn describe(&self) -> String {
        "local folders".into()
    }

    fn location(&self, folder: &str) -> String {
        self.root.join(folder).display().to_string()
    }

    fn current(&mut self, folder: &str) -> Result<Option<(Record, Files)>, Error> {
        let found = read_folder(&self.root.join(folder), &self.location(folder))?;
        Ok(found.map(|(record, files)| {
            (
                record,
                files
                    .into_iter()
                    .filter(|(name, _)| !name.starts_with(HISTORY))
                    .collect(),
            )
        }))
    }

    fn history(&mut self, folder: &str) -> Result<Vec<Entry>, Error> {
        let dir = self.root.join(folder).join(HISTORY);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort_by(|a, b| b.cmp(a));
        names
            .into_iter()
            .map(|name| {
                let snapshot = read_snapshot(&dir.join(&name))?;
                Ok(Entry {
                    record: snapshot.record,
                    revision: name,
                })
            })
            .collect()
    }

    /// A local folder's revision is its newest snapshot: each delivery adds one.
    fn revision(&mut self, folder: &str) -> Result<Revision, Error> {
        Ok(Revision {
            tip: None,
            folder: self.history(folder)?.into_iter().next().map(|e| e.revision),
        })
    }

    fn files_at(&mut self, folder: &str, entry: &Entry) -> Result<Files, Error> {
        let snapshot = read_snapshot(&self.root.join(folder).join(HISTORY).join(&entry.revision))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        snapshot
            .files
            .into_iter()
            .map(|(name, content)| {
                Ok((
                    name,
                    b64.decode(content)
                        .map_err(|e| Error::Corrupt(format!("{}: {e}", entry.revision)))?,
                ))
            })
            .collect()
    }

    fn deliver(
        &mut self,
        folder: &str,
        files: &Files,
        id: &str,
        _message: &str,
        planned: Option<&Revision>,
    ) -> Result<Delivered, Error> {
        let _turn = self.lock(folder)?;
        if let Some(planned) = planned {
            let now = self.revision(folder)?;
            if now.folder != planned.folder {
                return Err(Error::Moved {
                    environment: String::new(),
                    location: self.location(folder),
                    planned: Box::new(planned.clone()),
                    now: Box::new(now),
                });
            }
        }
        let dir = self.root.join(folder);
        let previous = read_folder(&dir, &self.location(folder))?;
        if previous.as_ref().is_some_and(|(record, _)| record.id == id) {
            return Ok(Delivered::Unchanged);
        }
        let record = parse_record(
            files
                .get(RECORD_FILE)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            RECORD_FILE,
        )?;
        let mut contents: Vec<(String, Vec<u8>)> =
            files.iter().map(|(n, c)| (n.clone(), c.clone())).collect();
        // The history travels with the folder; this deployment joins it.
        let kept: Vec<(String, Vec<u8>)> = previous
            .map(|(_, f)| {
                f.into_iter()
                    .filter(|(n, _)| n.starts_with(HISTORY))
                    .collect()
            })
            .unwrap_or_default();
        let revision = format!("{:06}.json", kept.len() + 1);
        let b64 = base64::engine::general_purpose::STANDARD;
        let snapshot = Snapshot {
            record,
            files: files
                .iter()
                .filter(|(n, _)| !n.starts_with(".scoreline/"))
                .map(|(n, c)| (n.clone(), b64.encode(c)))
                .collect(),
        };
        contents.extend(kept);
        contents.push((
            format!("{HISTORY}/{revision}"),
            serde_json::to_vec_pretty(&snapshot).expect("snapshots serialise"),
        ));
        folder::replace(&dir, &contents, |d| d.join(RECORD_FILE).is_file())
            .map_err(|e| Error::Io(e.to_string()))?;
        Ok(Delivered::Written { revision })
    }

    fn remove(
        &mut self,
        folders: &[String],
        still: &dyn Fn(&str, &Record) -> bool,
        _message: &dyn Fn(&[String]) -> String,
    ) -> Result<Vec<String>, Error> {
        let mut removed = Vec::new();
        for folder in folders {
            let dir = self.root.join(folder);
            if !dir.is_dir() {
                continue;
            }
            let _turn = self.lock(folder)?;
            if read_folder(&dir, &self.location(folder))?
                .is_some_and(|(record, _)| still(folder, &record))
            {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
                removed.push(folder.clone());
            }
        }
        Ok(removed)
    }

    fn folders(&mut self, layout: &Layout) -> Result<Vec<(String, Record)>, Error> {
        let mut out = Vec::new();
        for folder in layout.find(&self.root) {
            if let Some((record, _)) =
                read_folder(&self.root.join(&folder), &self.location(&folder))?
            {
                out.push((folder, record));
            }
        }
        Ok(out)
    }
}

fn read_snapshot(path: &Path) -> Result<Snapshot, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))
}
