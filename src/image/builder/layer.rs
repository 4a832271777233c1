//! Layers: reproducible tar archives (entries sorted, mtimes fixed, owners as asked, modes kept,
//! no user or group names) compressed with gzip and written to a file while both the compressed
//! digest (the blob) and the uncompressed one (the diff id) are computed. Big layers are
//! compressed on every core: the tar stream is cut into 4 MiB pieces, each compressed as its own
//! gzip member (a multi-member gzip file is standard gzip; Go's, zlib's and Python's readers all
//! read it whole). The pieces are fixed, so the digest depends only on the content.
//!
//! The compressor is pinned: flate2 with the zlib-rs backend at level 6. Another compressor,
//! version or level gives other bytes, hence other digests, for the same files: `identity()`
//! names all of it, and the layer cache keys on it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use crate::image::blob::{Blob, hex_digest};

pub const COMPRESSION_LEVEL: u32 = 6;
/// Tar bytes per gzip member.
const PIECE: usize = 4 << 20;
/// The crates whose output the layer bytes are (Cargo.lock pins them; a test keeps these equal).
const TAR_VERSION: &str = "0.4.46";
const FLATE2_VERSION: &str = "1.1.11";
const ZLIB_RS_VERSION: &str = "0.6.8";
/// Bump when `write` changes the bytes it makes of the same entries.
const FORMAT: u32 = 1;

/// Everything besides the entries that the bytes of a layer depend on: a layer written with
/// another identity may differ for the same files.
pub fn identity() -> String {
    format!(
        "layer format {FORMAT}; tar {TAR_VERSION} GNU headers; flate2 {FLATE2_VERSION} with zlib-rs {ZLIB_RS_VERSION} at level {COMPRESSION_LEVEL}; gzip members of {PIECE} tar bytes, mtime 0, OS 255"
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path in the image, without a leading `/`.
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File(PathBuf),
    Symlink(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub blob: Blob,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    /// When asked for: the sha256 of each file's content as it went into the tar, in the order
    /// of `sorted` (for the layer cache).
    pub files: Vec<String>,
}

/// The entries as the layer holds them: sorted by path, a later entry for the same path winning.
pub fn sorted(entries: &[Entry]) -> Vec<&Entry> {
    let mut latest: std::collections::BTreeMap<&str, &Entry> = std::collections::BTreeMap::new();
    for entry in entries {
        latest.insert(&entry.path, entry);
    }
    latest.into_values().collect()
}

/// Writes the layer of `entries` (see `sorted`) into a new file in `dir`; with `hash_files`,
/// also the digest of each file's content, from the very bytes the tar got.
pub fn write(entries: &[Entry], mtime: u64, dir: &Path, hash_files: bool) -> io::Result<Layer> {
    let mut files = Vec::new();
    let file = tempfile::Builder::new().prefix("layer-").tempfile_in(dir)?;
    let (file, path) = file.keep().map_err(|e| e.error)?;
    let mut tar = tar::Builder::new(Members::new(BufWriter::new(file)));
    for entry in sorted(entries) {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(entry.uid);
        header.set_gid(entry.gid);
        header.set_mode(entry.mode);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, format!("{}/", entry.path), io::empty())?;
            }
            EntryKind::File(source) => {
                let file = File::open(source)?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(file.metadata()?.len());
                if hash_files {
                    let mut hashing = Hashing {
                        inner: file,
                        hash: Sha256::new(),
                    };
                    tar.append_data(&mut header, &entry.path, &mut hashing)?;
                    files.push(hex_digest(hashing.hash));
                } else {
                    tar.append_data(&mut header, &entry.path, file)?;
                }
            }
            EntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, &entry.path, target)?;
            }
        }
    }
    let (digest, size, diff_id) = tar.into_inner()?.finish()?;
    Ok(Layer {
        blob: Blob { path, digest, size },
        diff_id,
        files,
    })
}

/// A reader hashing what it reads.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer compressing its input as gzip members on worker threads, written in order.
struct Members<W: Write> {
    out: W,
    piece: Vec<u8>,
    in_flight: VecDeque<JoinHandle<Vec<u8>>>,
    workers: usize,
    tar_digest: Sha256,
    digest: Sha256,
    size: u64,
}

impl<W: Write> Members<W> {
    fn new(out: W) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        Members {
            out,
            piece: Vec::with_capacity(PIECE),
            in_flight: VecDeque::new(),
            workers,
            tar_digest: Sha256::new(),
            digest: Sha256::new(),
            size: 0,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE));
        self.in_flight
            .push_back(std::thread::spawn(move || compress(&piece)));
        while self.in_flight.len() > self.workers {
            self.write_oldest()?;
        }
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(handle) = self.in_flight.pop_front() {
            let member = handle
                .join()
                .map_err(|_| io::Error::other("a compression thread panicked"))?;
            self.digest.update(&member);
            self.size += member.len() as u64;
            self.out.write_all(&member)?;
        }
        Ok(())
    }

    /// Compresses what is left and returns (blob digest, blob size, diff id).
    fn finish(mut self) -> io::Result<(String, u64, String)> {
        if !self.piece.is_empty() || (self.size == 0 && self.in_flight.is_empty()) {
            self.send()?;
        }
        while !self.in_flight.is_empty() {
            self.write_oldest()?;
        }
        self.out.flush()?;
        Ok((
            hex_digest(self.digest),
            self.size,
            hex_digest(self.tar_digest),
        ))
    }
}

impl<W: Write> Write for Members<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.tar_digest.update(data);
        let mut rest = data;
        while !rest.is_empty() {
            let take = (PIECE - self.piece.len()).min(rest.len());
            self.piece.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.piece.len() == PIECE {
                self.send()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn compress(piece: &[u8]) -> Vec<u8> {
    // No name, time 0, OS "unknown": nothing about the machine enters the header.
    let mut encoder = GzBuilder::new().mtime(0).operating_system(255).write(
        Vec::with_capacity(piece.len() / 2),
        Compression::new(COMPRESSION_LEVEL),
    );
    encoder.write_all(piece).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entries(root: &Path) -> Vec<Entry> {
        let file = |name: &str, mode| Entry {
            path: format!("app/{name}"),
            kind: EntryKind::File(root.join(name)),
            mode,
            uid: 10,
            gid: 20,
        };
        vec![
            file("b.txt", 0o644),
            Entry {
                path: "app".into(),
                kind: EntryKind::Dir,
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
            file("a.bin", 0o755),
            Entry {
                path: "app/link".into(),
                kind: EntryKind::Symlink("a.bin".into()),
                mode: 0o777,
                uid: 0,
                gid: 0,
            },
        ]
    }

    #[test]
    fn the_same_content_gives_the_same_digest_whatever_the_file_times() {
        let out = tempfile::tempdir().unwrap();
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for (dir, stamp) in [(&one, 1_000_000_000), (&two, 1_500_000_000)] {
            std::fs::write(dir.path().join("a.bin"), vec![7u8; 9 << 20]).unwrap();
            std::fs::write(dir.path().join("b.txt"), "hello").unwrap();
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(stamp);
            File::options()
                .write(true)
                .open(dir.path().join("b.txt"))
                .unwrap()
                .set_modified(time)
                .unwrap();
        }
        let a = write(&entries(one.path()), 0, out.path(), false).unwrap();
        let b = write(&entries(two.path()), 0, out.path(), true).unwrap();
        assert_eq!(
            (a.blob.digest.clone(), a.diff_id.clone()),
            (b.blob.digest.clone(), b.diff_id.clone())
        );
        assert!(a.files.is_empty(), "files are hashed only when asked");
        let hash = |bytes: &[u8]| hex_digest(Sha256::new_with_prefix(bytes));
        assert_eq!(
            b.files,
            [hash(&vec![7u8; 9 << 20]), hash(b"hello")],
            "the files' digests, in the layer's order"
        );
        let c = write(&entries(two.path()), 1, out.path(), false).unwrap();
        assert_ne!(
            a.blob.digest, c.blob.digest,
            "the mtime is part of the content"
        );

        // Several gzip members, read back whole, in sorted order, with owners and modes.
        let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(
            File::open(&a.blob.path).unwrap(),
        ));
        let mut seen = Vec::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let h = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            seen.push((
                entry.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.mtime().unwrap(),
                data.len(),
            ));
        }
        assert_eq!(
            seen,
            vec![
                ("app/".into(), 0o755, 0, 0, 0),
                ("app/a.bin".into(), 0o755, 10, 0, 9 << 20),
                ("app/b.txt".into(), 0o644, 10, 0, 5),
                ("app/link".into(), 0o777, 0, 0, 0)
            ]
        );
        let bytes = std::fs::read(&a.blob.path).unwrap();
        assert_eq!(hex_digest(Sha256::new_with_prefix(&bytes)), a.blob.digest);
        assert_eq!(bytes.len() as u64, a.blob.size);
    }

    /// The layer cache trusts `identity()` to name the crates the bytes come from.
    #[test]
    fn the_identity_names_the_locked_versions_of_tar_flate2_and_zlib_rs() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
        for (name, version) in [
            ("tar", TAR_VERSION),
            ("flate2", FLATE2_VERSION),
            ("zlib-rs", ZLIB_RS_VERSION),
        ] {
            let locked: Vec<&str> = lock
                .split("[[package]]")
                .filter_map(|p| {
                    let mut lines = p.trim().lines();
                    (lines.next()? == format!("name = \"{name}\""))
                        .then(|| {
                            lines
                                .next()?
                                .strip_prefix("version = \"")?
                                .strip_suffix('"')
                        })
                        .flatten()
                })
                .collect();
            assert_eq!(
                locked,
                [version],
                "{name} changed: update its version in layer.rs (cached layers of the old one are then not reused)"
            );
        }
    }
}
