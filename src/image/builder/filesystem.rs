//! The files of a built stage, for `COPY --from`: our own layers' entries, over the base image's
//! layers unpacked (with whiteouts applied) into a scratch folder; and how paths in an image
//! join (WORKDIR, COPY destinations).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::layer::{Entry, EntryKind};

#[derive(Debug, Default, Clone)]
pub struct Filesystem {
    /// Path (no leading `/`) → entry, files pointing at content on disk.
    entries: BTreeMap<String, Entry>,
}

impl Filesystem {
    /// Adds a layer's entries (ours): later ones replace earlier ones.
    pub fn add(&mut self, entries: &[Entry]) {
        for entry in entries {
            self.entries.insert(entry.path.clone(), entry.clone());
        }
    }

    /// Unpacks a gzip or plain tar layer into `scratch`, applying whiteouts.
    pub fn unpack(&mut self, layer: &Path, scratch: &Path) -> std::io::Result<()> {
        let file = File::open(layer)?;
        let mut magic = [0u8; 2];
        File::open(layer)?.read_exact(&mut magic).ok();
        let reader: Box<dyn Read> = if magic == [0x1f, 0x8b] {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut archive = tar::Archive::new(reader);
        for (n, entry) in archive.entries()?.enumerate() {
            let mut entry = entry?;
            let raw = entry.path()?.to_string_lossy().into_owned();
            let path = raw
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned();
            if path.is_empty() || path.split('/').any(|s| s == "..") {
                continue;
            }
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
            if name == ".wh..wh..opq" {
                let prefix = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                self.entries
                    .retain(|p, _| !(p.starts_with(&prefix) && p.len() > prefix.len()));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let target = if dir.is_empty() {
                    hidden.to_owned()
                } else {
                    format!("{dir}/{hidden}")
                };
                self.entries
                    .retain(|p, _| p != &target && !p.starts_with(&format!("{target}/")));
                continue;
            }
            let header = entry.header().clone();
            let kind = match header.entry_type() {
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink(
                    entry
                        .link_name()?
                        .map(|l| l.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let stored: PathBuf = scratch.join(format!(
                        "{}-{n}",
                        layer
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ));
                    let mut out = File::create(&stored)?;
                    std::io::copy(&mut entry, &mut out)?;
                    EntryKind::File(stored)
                }
                tar::EntryType::Link => {
                    let target = entry
                        .link_name()?
                        .map(|l| l.to_string_lossy().trim_start_matches("./").to_owned())
                        .unwrap_or_default();
                    match self.entries.get(&target) {
                        Some(linked) => linked.kind.clone(),
                        None => continue,
                    }
                }
                _ => continue,
            };
            let entry = Entry {
                path: path.clone(),
                kind,
                mode: header.mode()? & 0o7777,
                uid: header.uid()?,
                gid: header.gid()?,
            };
            self.entries.insert(path, entry);
        }
        Ok(())
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// The entry and everything below it.
    pub fn subtree(&self, path: &str) -> Vec<&Entry> {
        let prefix = format!("{path}/");
        self.entries
            .iter()
            .filter(|(p, _)| *p == path || p.starts_with(&prefix) || path.is_empty())
            .map(|(_, e)| e)
            .collect()
    }

    /// Every path, for globbing.
    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }
}

/// A path joined to a folder, cleaned (`.`, `..`, doubled slashes), absolute.
pub fn join(dir: &str, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{dir}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = format!("/{}", parts.join("/"));
    if path.ends_with('/') && joined != "/" {
        format!("{joined}/")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_workdir() {
        assert_eq!(join("/srv", "app"), "/srv/app");
        assert_eq!(join("/srv", "/etc/x"), "/etc/x");
        assert_eq!(join("/srv/a", "../b/./c/"), "/srv/b/c/");
        assert_eq!(join("/", "."), "/");
    }
}
