//! The layer cache: what earlier builds on this machine learnt of each COPY or ADD layer, so an
//! unchanged rebuild neither reads nor compresses its files.
//!
//! A layer's *slot* is the sha256 of everything besides the files' contents that its bytes
//! depend on: the compressor and tar writer (`layer::identity`), the entries' mtime
//! (SOURCE_DATE_EPOCH), the platform, the stage, the instruction as expanded (flags and ARGs
//! included), and every entry as it enters the tar (path, kind, mode, owner, link target) —
//! the files `.dockerignore` leaves in, and no others. The slot's file (`layers-v1/SLOT.json`)
//! remembers the last layer built there: its digest, diff id and size, and for each file its
//! source path, its stat (size, mtime and ctime to the nanosecond, inode, device) and the sha256
//! of its content as it went into the tar.
//!
//! A file whose stat is unchanged is taken as unchanged without being read (as make, ccache's
//! direct mode and git's index do); one whose stat changed (a fresh checkout, a touch, a copy of
//! the context) is read and hashed, not compressed, and the layer is reused when every content
//! is the same. A stat taken less than 2 s after the file's mtime or ctime is not recorded (the
//! file could change again within the same timestamp tick, git's "racy" case): that file is
//! hashed next time. Residual risk: a file rewritten with the same size, inode, mtime and ctime
//! (a clock set back, a file system that keeps no ctime) is taken as unchanged; `--no-cache`
//! builds without the cache.
//!
//! A known layer is not written at all: pushes HEAD-check every blob anyway, and one a
//! destination lacks is written then (`deferred`). Should it come out different (its files
//! changed in between), the build starts again without looking the cache up.
//!
//! Files are written atomically (a temporary file renamed): concurrent builds never corrupt one
//! and the last writer wins. An unreadable or corrupt file is a miss, never an error; a cache
//! folder that cannot be made turns the cache off. After a build that wrote to it, slots unused
//! for 30 days, and the least recently used beyond 1,000 slots or 256 MiB, are removed.

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::layer::{self, Entry, EntryKind, Layer};
use crate::image::blob::{Blob, hex_digest};
use crate::image::registry::Origin;

/// The folder of the slots, inside the cache folder; another format gets another name.
const SLOTS: &str = "layers-v1";
/// A stat this close to the file's last change is not trusted next time.
const RACY: Duration = Duration::from_secs(2);
const UNUSED: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_SLOTS: usize = 1000;
const MAX_BYTES: u64 = 256 << 20;
/// Temporary files older than this are left by a build that died: removed.
const ABANDONED: Duration = Duration::from_secs(3600);

pub struct LayerCache {
    /// The slots' folder; `None`: no cache.
    dir: Option<PathBuf>,
    /// Whether slots are looked up (else only written: a build again after a stale one).
    lookups: bool,
    /// A known layer came out different when written.
    stale: Arc<AtomicBool>,
    wrote: AtomicBool,
}

/// What a layer's bytes depend on besides its entries.
pub struct Slot<'a> {
    pub platform: &'a str,
    pub stage: &'a str,
    /// The COPY or ADD line as expanded.
    pub instruction: &'a str,
    /// The entries' mtime.
    pub mtime: u64,
}

enum Lookup {
    /// No cache.
    Off,
    Hit(Known),
    /// Write the layer (hashing its files) and `store` it.
    Miss(Pending),
}

/// A layer as the cache knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub digest: String,
    pub diff_id: String,
    pub size: u64,
}

/// A slot to fill once its layer is written: the files' stats, taken before they were read.
struct Pending {
    path: PathBuf,
    files: Vec<(String, Option<Stat>)>,
}

/// A slot's file.
#[derive(Serialize, Deserialize)]
struct Memo {
    layer: Known,
    /// Per file entry, in the layer's order: source path, stat (none: hash it), content sha256.
    files: Vec<(String, Option<Stat>, String)>,
}

/// Size, mtime (seconds, nanoseconds), ctime (seconds, nanoseconds), inode, device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat(u64, i64, i64, i64, i64, u64, u64);

impl LayerCache {
    /// The cache in `dir` (none: no cache); a folder that cannot be made means no cache.
    pub fn open(dir: Option<&Path>, lookups: bool) -> LayerCache {
        let dir = dir
            .map(|d| d.join(SLOTS))
            .filter(|d| std::fs::create_dir_all(d).is_ok());
        LayerCache {
            dir,
            lookups,
            stale: Arc::default(),
            wrote: AtomicBool::new(false),
        }
    }

    /// Whether a layer known from the cache came out different when it was written.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::SeqCst)
    }

    /// Looks up the layer of `entries` (as `layer::sorted` gives them).
    fn lookup(&self, slot: &Slot<'_>, entries: &[&Entry]) -> Lookup {
        let Some(dir) = &self.dir else {
            return Lookup::Off;
        };
        let path = dir.join(format!("{}.json", key(slot, entries)));
        let now = SystemTime::now();
        let files: Vec<(String, Option<Stat>)> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::File(source) => {
                    Some((source.to_string_lossy().into_owned(), stat(source, now)))
                }
                _ => None,
            })
            .collect();
        let pending = Pending { path, files };
        if !self.lookups {
            return Lookup::Miss(pending);
        }
        let Some(mut memo) = read(&pending.path) else {
            return Lookup::Miss(pending);
        };
        if memo.files.len() != pending.files.len() {
            return Lookup::Miss(pending);
        }
        let mut refreshed = false;
        for ((source, now_stat), (was_source, was_stat, content)) in
            pending.files.iter().zip(memo.files.iter_mut())
        {
            if was_stat.is_some() && source == was_source && now_stat == was_stat {
                continue;
            }
            // Changed, or not known well enough: its content decides.
            match hash(Path::new(source)) {
                Ok(digest) if digest == *content => {
                    (*was_source, *was_stat) = (source.clone(), *now_stat);
                    refreshed = true;
                }
                _ => return Lookup::Miss(pending),
            }
        }
        if refreshed {
            self.write(&pending.path, &memo);
        } else {
            // Used now: pruning goes by last use.
            let _ = std::fs::File::options()
                .append(true)
                .open(&pending.path)
                .and_then(|f| f.set_modified(now));
        }
        Lookup::Hit(memo.layer)
    }

    /// Records the layer written for a missed slot (written with its files hashed).
    fn store(&self, pending: Pending, layer: &Layer) {
        if layer.files.len() != pending.files.len() {
            return;
        }
        let memo = Memo {
            layer: Known {
                digest: layer.blob.digest.clone(),
                diff_id: layer.diff_id.clone(),
                size: layer.blob.size,
            },
            files: pending
                .files
                .into_iter()
                .zip(&layer.files)
                .map(|((source, stat), content)| (source, stat, content.clone()))
                .collect(),
        };
        self.write(&pending.path, &memo);
    }

    /// The layer of `entries` for `slot`: known from the cache (then written only when a
    /// destination lacks it), else written into `scratch` (and remembered).
    pub fn layer(
        &self,
        slot: &Slot<'_>,
        entries: &[Entry],
        scratch: &Path,
    ) -> io::Result<(Known, Origin)> {
        let pending = match self.lookup(slot, &layer::sorted(entries)) {
            Lookup::Hit(known) => {
                let origin = self.deferred(entries.to_vec(), slot.mtime, known.digest.clone());
                return Ok((known, origin));
            }
            Lookup::Miss(pending) => Some(pending),
            Lookup::Off => None,
        };
        let written = layer::write(entries, slot.mtime, scratch, pending.is_some())?;
        if let Some(pending) = pending {
            self.store(pending, &written);
        }
        let known = Known {
            digest: written.blob.digest.clone(),
            diff_id: written.diff_id,
            size: written.blob.size,
        };
        Ok((known, Origin::Local(written.blob)))
    }

    /// A known layer, written only when a destination lacks it: from `entries` as they are
    /// then, which must give `digest` again (else the cache is stale).
    fn deferred(&self, entries: Vec<Entry>, mtime: u64, digest: String) -> Origin {
        let stale = self.stale.clone();
        Origin::Deferred {
            write: Arc::new(move |dir: &Path| -> Result<Blob, String> {
                let layer = layer::write(&entries, mtime, dir, false)
                    .map_err(|e| format!("writing a layer: {e}"))?;
                if layer.blob.digest != digest {
                    stale.store(true, Ordering::SeqCst);
                    return Err(format!(
                        "the layer cache knew this layer as {digest}, but its files now make {}: they changed during the build",
                        layer.blob.digest
                    ));
                }
                Ok(layer.blob)
            }),
            written: Arc::default(),
        }
    }

    /// Writes a slot's file atomically; any failure leaves the cache as it was.
    fn write(&self, path: &Path, memo: &Memo) {
        let Some(dir) = path.parent() else { return };
        let written = (|| -> io::Result<()> {
            let mut file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
            file.write_all(&serde_json::to_vec(memo).map_err(io::Error::other)?)?;
            file.persist(path).map_err(|e| e.error)?;
            Ok(())
        })();
        if written.is_ok() {
            self.wrote.store(true, Ordering::SeqCst);
        }
    }

    /// After a build that wrote slots: removes those unused for long, then the least recently
    /// used beyond the bounds, and temporary files a dead build left.
    pub fn prune(&self) {
        let Some(dir) = &self.dir else { return };
        if !self.wrote.load(Ordering::SeqCst) {
            return;
        }
        prune(dir, SystemTime::now(), MAX_SLOTS, MAX_BYTES);
    }
}

fn prune(dir: &Path, now: SystemTime, max_slots: usize, max_bytes: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let age = |m: &std::fs::Metadata| {
        m.modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default()
    };
    let mut slots = Vec::new();
    for entry in listing.flatten() {
        let (path, Ok(meta)) = (entry.path(), entry.metadata()) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            if age(&meta) > ABANDONED {
                let _ = std::fs::remove_file(&path);
            }
        } else if name.ends_with(".json") {
            if age(&meta) > UNUSED {
                let _ = std::fs::remove_file(&path);
            } else {
                slots.push((age(&meta), meta.len(), path));
            }
        }
    }
    slots.sort();
    let mut bytes = 0;
    for (i, (_, size, path)) in slots.into_iter().enumerate() {
        bytes += size;
        if i >= max_slots || bytes > max_bytes {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The slot's name: the sha256 of what the layer's bytes depend on besides file contents.
fn key(slot: &Slot<'_>, entries: &[&Entry]) -> String {
    let entries: Vec<_> = entries
        .iter()
        .map(|e| {
            let (kind, link) = match &e.kind {
                EntryKind::Dir => ("dir", ""),
                EntryKind::File(_) => ("file", ""),
                EntryKind::Symlink(target) => ("symlink", target.as_str()),
            };
            json!([e.path, kind, e.mode, e.uid, e.gid, link])
        })
        .collect();
    let described = json!({
        "layer": layer::identity(),
        "mtime": slot.mtime,
        "platform": slot.platform,
        "stage": slot.stage,
        "instruction": slot.instruction,
        "entries": entries,
    });
    let digest = hex_digest(Sha256::new_with_prefix(
        serde_json::to_vec(&described).expect("JSON"),
    ));
    digest.trim_start_matches("sha256:").to_owned()
}

/// The file's stat, unless it changed too recently (or cannot be read) to be trusted next time.
fn stat(path: &Path, now: SystemTime) -> Option<Stat> {
    let m = std::fs::metadata(path).ok()?;
    let stat = Stat(
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.ino(),
        m.dev(),
    );
    let nanos = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    let settled = now
        .checked_sub(RACY)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    (nanos(stat.1, stat.2) < settled && nanos(stat.3, stat.4) < settled).then_some(stat)
}

fn hash(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut digest = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(hex_digest(digest)),
            n => digest.update(&buffer[..n]),
        }
    }
}

/// A slot's file, when it is one: anything unreadable or malformed is a miss.
fn read(path: &Path) -> Option<Memo> {
    let memo: Memo = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let digest = |d: &str| {
        d.strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    (digest(&memo.layer.digest)
        && digest(&memo.layer.diff_id)
        && memo.files.iter().all(|(_, _, content)| digest(content)))
    .then_some(memo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_entry(source: &Path, path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File(source.to_path_buf()),
            mode: 0o644,
            uid: 0,
            gid: 0,
        }
    }

    /// Sets a file's mtime in the past; its ctime stays now, so it is racy until 2 s pass.
    fn age(path: &Path) {
        std::fs::File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
    }

    #[test]
    fn a_layer_is_known_again_by_stat_or_by_content_and_missed_when_a_file_changed() {
        let (cache_dir, files, scratch) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let a = files.path().join("a.txt");
        std::fs::write(&a, "one").unwrap();
        age(&a);
        let entries = vec![file_entry(&a, "app/a.txt")];
        let slot = Slot {
            platform: "linux/amd64",
            stage: "0",
            instruction: "COPY a.txt /app/",
            mtime: 0,
        };
        let cache = LayerCache::open(Some(cache_dir.path()), true);
        let Lookup::Miss(pending) = cache.lookup(&slot, &layer::sorted(&entries)) else {
            panic!("an empty cache misses");
        };
        let layer = layer::write(&entries, 0, scratch.path(), true).unwrap();
        cache.store(pending, &layer);
        let known = Known {
            digest: layer.blob.digest.clone(),
            diff_id: layer.diff_id.clone(),
            size: layer.blob.size,
        };
        let hit = |cache: &LayerCache| match cache.lookup(&slot, &layer::sorted(&entries)) {
            Lookup::Hit(k) => Some(k),
            _ => None,
        };
        assert_eq!(
            hit(&cache),
            Some(known.clone()),
            "same stat or same content"
        );

        // Another slot (SOURCE_DATE_EPOCH, platform) is another layer.
        let other = Slot { mtime: 1, ..slot };
        assert!(matches!(
            cache.lookup(&other, &layer::sorted(&entries)),
            Lookup::Miss(_)
        ));

        // Same size, same mtime, other content: its content decides.
        std::fs::write(&a, "two").unwrap();
        age(&a);
        assert_eq!(hit(&cache), None, "a changed file misses");

        // A corrupt slot is a miss, and writing it again mends it.
        std::fs::write(&a, "one").unwrap();
        for slot_file in std::fs::read_dir(cache_dir.path().join(SLOTS)).unwrap() {
            std::fs::write(slot_file.unwrap().path(), "{\"layer\": 4").unwrap();
        }
        let Lookup::Miss(pending) = cache.lookup(&slot, &layer::sorted(&entries)) else {
            panic!("a corrupt slot misses");
        };
        cache.store(
            pending,
            &layer::write(&entries, 0, scratch.path(), true).unwrap(),
        );
        assert_eq!(hit(&cache), Some(known));

        // Without lookups, nothing is found; no folder, no cache.
        let writing = LayerCache::open(Some(cache_dir.path()), false);
        assert!(matches!(
            writing.lookup(&slot, &layer::sorted(&entries)),
            Lookup::Miss(_)
        ));
        let unwritable = LayerCache::open(Some(&a.join("below-a-file")), true);
        assert!(matches!(
            unwritable.lookup(&slot, &layer::sorted(&entries)),
            Lookup::Off
        ));
    }

    #[test]
    fn a_stat_is_trusted_only_when_the_file_changed_well_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        let now = SystemTime::now();
        assert_eq!(stat(&path, now), None, "just written: racy");
        assert!(stat(&path, now + Duration::from_secs(3)).is_some());
        assert_eq!(stat(&dir.path().join("missing"), now), None);
    }

    #[test]
    fn pruning_removes_unused_slots_then_the_least_recently_used_beyond_the_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        for (name, days) in [
            ("old.json", 31),
            ("a.json", 3),
            ("b.json", 2),
            ("c.json", 1),
            (".tmp-x", 1),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, "{}").unwrap();
            std::fs::File::options()
                .append(true)
                .open(&path)
                .unwrap()
                .set_modified(now - Duration::from_secs(days * 24 * 3600))
                .unwrap();
        }
        prune(dir.path(), now, 2, 1 << 20);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b.json", "c.json"]);
    }
}
