//! The entries a COPY or ADD puts in its layer, following Docker's rules: a folder's contents
//! are copied, several sources need a destination folder (ending in `/`), a relative
//! destination is relative to WORKDIR, new files belong to 0:0 unless `--chown`.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use super::context::{Context, ContextError, Found};
use super::dockerfile::Copy;
use super::filesystem::{Filesystem, join};
use super::layer::{Entry, EntryKind};
use super::stage_error::{StageError, wrong};

/// What COPY reads from: the build context, or another stage's (or image's) files.
pub enum Source<'a> {
    Context(&'a Context),
    Files(&'a Filesystem),
}

/// The entries of the layer, `workdir` being the stage's WORKDIR.
pub fn entries(
    copy: &Copy,
    source: Source<'_>,
    workdir: &str,
    scratch: &Path,
) -> Result<Vec<Entry>, StageError> {
    let mut target = Target::new(copy, workdir)?;
    for text in &copy.sources {
        match &source {
            Source::Context(context) => from_context(&mut target, context, text, scratch)?,
            Source::Files(files) => from_files(&mut target, files, text)?,
        }
    }
    if target.matched_many && !target.into_dir {
        return Err(target.several_sources());
    }
    Ok(target.with_parents())
}

/// Where the copied files go and as whom, and the entries found so far.
struct Target<'a> {
    copy: &'a Copy,
    keyword: &'static str,
    /// The destination, without its leading and trailing `/` (empty for `/`).
    base: String,
    /// The destination is a folder: what is copied goes into it under its own name.
    into_dir: bool,
    uid: u64,
    gid: u64,
    chmod: Option<u32>,
    /// A source matched several files: the destination must be a folder.
    matched_many: bool,
    entries: Vec<Entry>,
}

impl Target<'_> {
    fn new<'a>(copy: &'a Copy, workdir: &str) -> Result<Target<'a>, StageError> {
        let (uid, gid) = owner(copy.chown.as_deref())?;
        let chmod = mode(copy.chmod.as_deref())?;
        let into_dir =
            copy.destination.ends_with('/') || copy.destination == "." || copy.destination == "..";
        let target = Target {
            copy,
            keyword: if copy.add { "ADD" } else { "COPY" },
            base: join(workdir, &copy.destination)
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_owned(),
            into_dir,
            uid,
            gid,
            chmod,
            matched_many: false,
            entries: Vec::new(),
        };
        if copy.sources.len() > 1 && !into_dir {
            return Err(target.several_sources());
        }
        Ok(target)
    }

    fn several_sources(&self) -> StageError {
        let destination = &self.copy.destination;
        wrong(
            format!(
                "{} of several sources needs a destination folder ending in `/`, not `{destination}`",
                self.keyword
            ),
            format!("write `{}/`", destination.trim_end_matches('/')),
        )
    }

    fn add(&mut self, path: String, kind: EntryKind, mode: u32) {
        let mode = match (&kind, self.chmod) {
            (EntryKind::Symlink(_), _) => 0o777,
            (_, Some(m)) => m,
            _ => mode,
        };
        self.entries.push(Entry {
            path,
            kind,
            mode,
            uid: self.uid,
            gid: self.gid,
        });
    }

    /// The path of `name` (relative) inside the destination.
    fn at(&self, name: &str) -> String {
        if self.base.is_empty() {
            name.to_owned()
        } else if name.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{name}", self.base)
        }
    }

    /// Where a file a source names goes: into the destination folder, or the destination itself.
    fn file_at(&self, name: &str) -> String {
        if self.into_dir || self.matched_many {
            self.at(name)
        } else {
            self.base.clone()
        }
    }

    /// The entries, with the folders on the way to them, created as Docker creates them.
    fn with_parents(self) -> Vec<Entry> {
        let Target {
            base,
            uid,
            gid,
            mut entries,
            ..
        } = self;
        let listed: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        let mut parents: BTreeSet<String> = BTreeSet::new();
        for e in &entries {
            let mut path = e.path.as_str();
            while let Some((parent, _)) = path.rsplit_once('/') {
                if !listed.contains(parent) && !parents.insert(parent.to_owned()) {
                    break; // seen before, and so were its parents
                }
                path = parent;
            }
        }
        // Folders above the destination keep root's ownership (a `--chown` must not hand `/usr`
        // to the app user); the destination and what is inside it get the asked owner.
        let owned =
            |path: &str| base.is_empty() || path == base || path.starts_with(&format!("{base}/"));
        entries.extend(parents.into_iter().map(|path| {
            let (uid, gid) = if owned(&path) { (uid, gid) } else { (0, 0) };
            Entry {
                path,
                kind: EntryKind::Dir,
                mode: 0o755,
                uid,
                gid,
            }
        }));
        entries
    }
}

/// A source in the build context: files, folders (their contents), and for ADD tar archives
/// (unpacked).
fn from_context(
    target: &mut Target<'_>,
    context: &Context,
    source: &str,
    scratch: &Path,
) -> Result<(), StageError> {
    let found = context
        .sources(source)
        .map_err(|e| context_error(target.keyword, e))?;
    target.matched_many |= found.len() > 1;
    for f in found {
        let meta = std::fs::metadata(&f.path)
            .map_err(|e| StageError::Io(format!("{}: {e}", f.path.display())))?;
        if meta.is_dir() {
            context_folder(target, context, &f)?;
        } else if target.copy.add && is_tar(&f.path) {
            let mut unpacked = Filesystem::default();
            unpacked
                .unpack(&f.path, scratch)
                .map_err(|e| StageError::Io(format!("unpacking {}: {e}", f.relative)))?;
            for e in unpacked.subtree("") {
                target.add(target.at(&e.path), e.kind.clone(), e.mode);
            }
        } else {
            let name = f.relative.rsplit('/').next().unwrap_or("");
            target.add(
                target.file_at(name),
                EntryKind::File(f.path.canonicalize().unwrap_or(f.path.clone())),
                permissions(&meta),
            );
        }
    }
    Ok(())
}

/// What a folder of the context holds (not the folder itself), `.dockerignore` applied.
fn context_folder(
    target: &mut Target<'_>,
    context: &Context,
    folder: &Found,
) -> Result<(), StageError> {
    let keyword = target.keyword;
    let mut error = None;
    context
        .walk(
            &folder.path.canonicalize().unwrap_or(folder.path.clone()),
            &folder.relative,
            &mut |rel, path| {
                let inner = rel
                    .strip_prefix(&folder.relative)
                    .unwrap_or(rel)
                    .trim_start_matches('/');
                match std::fs::symlink_metadata(path) {
                    Ok(m) if m.file_type().is_symlink() => target.add(
                        target.at(inner),
                        EntryKind::Symlink(
                            std::fs::read_link(path)
                                .map(|t| t.to_string_lossy().into_owned())
                                .unwrap_or_default(),
                        ),
                        0o777,
                    ),
                    Ok(m) if m.is_dir() => {
                        target.add(target.at(inner), EntryKind::Dir, permissions(&m))
                    }
                    Ok(m) => target.add(
                        target.at(inner),
                        EntryKind::File(path.to_path_buf()),
                        permissions(&m),
                    ),
                    Err(e) => error = Some(StageError::Io(format!("{}: {e}", path.display()))),
                }
            },
        )
        .map_err(|e| context_error(keyword, e))?;
    error.map_or(Ok(()), Err)
}

/// A source in another stage's (or image's) files: a path or a glob.
fn from_files(target: &mut Target<'_>, files: &Filesystem, source: &str) -> Result<(), StageError> {
    let roots = roots(files, source)?;
    if roots.is_empty() {
        return Err(wrong(
            format!(
                "{} --from={}: `{source}` does not exist in that stage",
                target.keyword,
                target.copy.from.as_deref().unwrap_or("")
            ),
            "name a path the stage's files include",
        ));
    }
    target.matched_many |= roots.len() > 1;
    for root in roots {
        let is_dir =
            root.is_empty() || matches!(files.get(&root).map(|e| &e.kind), Some(EntryKind::Dir));
        if is_dir {
            for e in files.subtree(&root).into_iter().filter(|e| e.path != root) {
                let inner = if root.is_empty() {
                    e.path.clone()
                } else {
                    e.path[root.len() + 1..].to_owned()
                };
                target.add(target.at(&inner), e.kind.clone(), e.mode);
            }
        } else if let Some(e) = files.get(&root) {
            let name = root.rsplit('/').next().unwrap_or("");
            target.add(target.file_at(name), e.kind.clone(), e.mode);
        }
    }
    Ok(())
}

/// The paths of `files` a `COPY --from` source names (none when it names nothing there).
fn roots(files: &Filesystem, source: &str) -> Result<Vec<String>, StageError> {
    let wanted = source
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned();
    if wanted.contains(['*', '?', '[']) {
        let glob = globset::GlobBuilder::new(&wanted)
            .literal_separator(true)
            .build()
            .map_err(|e| wrong(format!("`{source}`: {}", e.kind()), "fix the pattern"))?
            .compile_matcher();
        Ok(files
            .paths()
            .filter(|p| glob.is_match(p))
            .cloned()
            .collect())
    } else if wanted.is_empty() || files.get(&wanted).is_some() {
        Ok(vec![wanted])
    } else {
        Ok(Vec::new())
    }
}

fn context_error(keyword: &str, e: ContextError) -> StageError {
    let help = match &e {
        ContextError::NoMatch(_) => {
            "paths are relative to the build context; check .dockerignore too".to_owned()
        }
        ContextError::Escapes(_) => "only files inside the build context can be copied".to_owned(),
        _ => "check the build context".to_owned(),
    };
    wrong(format!("{keyword}: {e}"), help)
}

/// `--chown=UID[:GID]`: numeric, since there is no /etc/passwd to look names up in.
fn owner(chown: Option<&str>) -> Result<(u64, u64), StageError> {
    let Some(text) = chown else { return Ok((0, 0)) };
    let (user, group) = text.split_once(':').unwrap_or((text, text));
    match (user.parse::<u64>(), group.parse::<u64>()) {
        (Ok(u), Ok(g)) => Ok((u, g)),
        _ => Err(wrong(
            format!("--chown={text} must be numeric (UID or UID:GID)"),
            "the daemonless builder cannot read the image's /etc/passwd: write e.g. --chown=1000:1000",
        )),
    }
}

/// `--chmod=MODE`: octal, up to 7777.
fn mode(chmod: Option<&str>) -> Result<Option<u32>, StageError> {
    chmod
        .map(|text| {
            u32::from_str_radix(text, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    wrong(
                        format!("--chmod={text} is not an octal mode"),
                        "write e.g. --chmod=0755",
                    )
                })
        })
        .transpose()
}

fn permissions(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

/// Whether ADD should unpack the file: a tar archive, plain or gzip-compressed.
fn is_tar(path: &Path) -> bool {
    use std::io::{Read, Seek};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 2];
    if file.read_exact(&mut head).is_err() || file.rewind().is_err() {
        return false;
    }
    let mut reader: Box<dyn Read> = if head == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut block = [0u8; 512];
    reader.read_exact(&mut block).is_ok() && &block[257..262] == b"ustar"
}
