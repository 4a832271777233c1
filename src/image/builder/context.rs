//! The build context: the folder COPY reads from, with `.dockerignore` applied (Docker's rules:
//! patterns relative to the context, `*` within a path segment, `**` across them, a matching
//! folder excludes everything in it but what a `!` exception re-includes below it, the last
//! matching pattern wins). Sources never leave the context, through `..` or a symlink.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

#[derive(Debug)]
pub struct Context {
    root: PathBuf,
    ignore: Vec<(GlobMatcher, bool)>,
    /// The `!` patterns segment by segment (`None` for a segment with `**`), to tell whether one
    /// may match below an excluded folder.
    exceptions: Vec<Vec<Option<GlobMatcher>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("the build context {0} is not a folder")]
    NotAFolder(String),
    #[error("COPY source `{0}` matches nothing in the build context")]
    NoMatch(String),
    #[error("COPY source `{0}` leaves the build context")]
    Escapes(String),
    #[error(".dockerignore pattern `{0}` is malformed: {1}")]
    Pattern(String, String),
    #[error("cannot read {0}: {1}")]
    Io(String, String),
}

/// A file or folder of the context, by its path relative to the root (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub relative: String,
    pub path: PathBuf,
}

impl Context {
    pub fn open(root: &Path) -> Result<Context, ContextError> {
        let root = root
            .canonicalize()
            .map_err(|_| ContextError::NotAFolder(root.display().to_string()))?;
        if !root.is_dir() {
            return Err(ContextError::NotAFolder(root.display().to_string()));
        }
        let mut ignore = Vec::new();
        let mut exceptions = Vec::new();
        if let Ok(text) = std::fs::read_to_string(root.join(".dockerignore")) {
            for line in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let (pattern, include) = match line.strip_prefix('!') {
                    Some(p) => (p.trim(), true),
                    None => (line, false),
                };
                let cleaned = clean(pattern);
                let glob =
                    matcher(&cleaned).map_err(|e| ContextError::Pattern(line.to_owned(), e))?;
                if include {
                    let segments = cleaned
                        .split('/')
                        .map(|segment| {
                            (!segment.contains("**"))
                                .then(|| matcher(segment))
                                .transpose()
                        })
                        .collect::<Result<_, _>>()
                        .map_err(|e| ContextError::Pattern(line.to_owned(), e))?;
                    exceptions.push(segments);
                }
                ignore.push((glob, include));
            }
        }
        Ok(Context {
            root,
            ignore,
            exceptions,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `.dockerignore` leaves this path (relative, `/`-separated) out.
    pub fn is_ignored(&self, relative: &str) -> bool {
        let mut ignored = false;
        for (glob, include) in &self.ignore {
            // A pattern matching a parent folder matches everything in it.
            let mut matches = false;
            let mut prefix = String::new();
            for part in relative.split('/') {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                if glob.is_match(&prefix) {
                    matches = true;
                    break;
                }
            }
            if matches {
                ignored = !include;
            }
        }
        ignored
    }

    /// Whether a `!` pattern may match something below this folder (relative, `/`-separated).
    fn may_reinclude_below(&self, folder: &str) -> bool {
        let parts: Vec<&str> = folder.split('/').collect();
        self.exceptions.iter().any(|segments| {
            for (i, part) in parts.iter().enumerate() {
                match segments.get(i) {
                    None => return false,
                    Some(None) => return true,
                    Some(Some(glob)) if !glob.is_match(part) => return false,
                    Some(Some(_)) => {}
                }
            }
            segments.len() > parts.len()
        })
    }

    /// The files and folders a COPY source names: a path or a glob, relative to the context
    /// (a leading `/` too). Ignored entries do not exist for COPY.
    pub fn sources(&self, source: &str) -> Result<Vec<Found>, ContextError> {
        let pattern = clean(source);
        if pattern == ".." || pattern.starts_with("../") {
            return Err(ContextError::Escapes(source.to_owned()));
        }
        let found: Vec<Found> = if pattern.contains(['*', '?', '[']) {
            let glob =
                matcher(&pattern).map_err(|e| ContextError::Pattern(source.to_owned(), e))?;
            let mut all = Vec::new();
            self.walk(&self.root, "", &mut |rel, path| {
                if glob.is_match(rel) {
                    all.push(Found {
                        relative: rel.to_owned(),
                        path: path.to_path_buf(),
                    });
                }
            })?;
            all
        } else if pattern == "." {
            vec![Found {
                relative: String::new(),
                path: self.root.clone(),
            }]
        } else {
            let path = self.root.join(&pattern);
            let kept = |meta: std::fs::Metadata| {
                !self.is_ignored(&pattern) || (meta.is_dir() && self.may_reinclude_below(&pattern))
            };
            if std::fs::symlink_metadata(&path).is_ok_and(kept) {
                vec![Found {
                    relative: pattern.clone(),
                    path,
                }]
            } else {
                Vec::new()
            }
        };
        if found.is_empty() {
            return Err(ContextError::NoMatch(source.to_owned()));
        }
        for f in &found {
            // An explicitly named symlink is followed: its target must be inside the context.
            let target = f
                .path
                .canonicalize()
                .map_err(|e| ContextError::Io(f.path.display().to_string(), e.to_string()))?;
            if !target.starts_with(&self.root) {
                return Err(ContextError::Escapes(source.to_owned()));
            }
        }
        Ok(found)
    }

    /// Every entry below `dir` (depth first, sorted), skipping ignored ones; symlinks are not
    /// followed.
    pub fn walk(
        &self,
        dir: &Path,
        relative: &str,
        visit: &mut dyn FnMut(&str, &Path),
    ) -> Result<(), ContextError> {
        self.walk_below(dir, relative, &mut Vec::new(), visit)
    }

    /// `held`: excluded folders being looked into, visited only once something in them is.
    fn walk_below(
        &self,
        dir: &Path,
        relative: &str,
        held: &mut Vec<(String, PathBuf)>,
        visit: &mut dyn FnMut(&str, &Path),
    ) -> Result<(), ContextError> {
        let io = |e: std::io::Error| ContextError::Io(dir.display().to_string(), e.to_string());
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let path = entry.path();
            let is_dir = entry.file_type().map_err(io)?.is_dir();
            if self.is_ignored(&rel) {
                // As Docker does: an excluded folder is still looked into when a `!` exception
                // may match below it, and comes in with what the exception re-includes.
                if is_dir && self.may_reinclude_below(&rel) {
                    let depth = held.len();
                    held.push((rel.clone(), path.clone()));
                    self.walk_below(&path, &rel, held, visit)?;
                    held.truncate(depth);
                }
                continue;
            }
            for (folder, folder_path) in held.drain(..) {
                visit(&folder, &folder_path);
            }
            visit(&rel, &path);
            if is_dir {
                self.walk_below(&path, &rel, held, visit)?;
            }
        }
        Ok(())
    }
}

/// A glob as Docker matches it: `*` and `?` stay within one path segment, `**` crosses them.
fn matcher(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Docker's `filepath.Clean` of a pattern or source, without a leading `/` or `./`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(files: &[&str], ignore: &str) -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, f).unwrap();
        }
        std::fs::write(dir.path().join(".dockerignore"), ignore).unwrap();
        let ctx = Context::open(dir.path()).unwrap();
        (dir, ctx)
    }

    #[test]
    fn dockerignore_follows_dockers_rules() {
        let (_d, ctx) = context(
            &[],
            "# comment\n*.log\n/secrets\n**/node_modules\ndocs\n!docs/keep.md\n",
        );
        assert!(ctx.is_ignored("debug.log"));
        assert!(
            !ctx.is_ignored("logs/debug.log"),
            "`*` stays within a segment"
        );
        assert!(
            ctx.is_ignored("secrets/key.pem"),
            "a matching folder excludes its contents"
        );
        assert!(ctx.is_ignored("a/b/node_modules/x/index.js"));
        assert!(ctx.is_ignored("docs/guide.md"));
        assert!(
            !ctx.is_ignored("docs/keep.md"),
            "`!` re-includes; the last match wins"
        );
    }

    #[test]
    fn sources_are_paths_or_globs_inside_the_context() {
        let (_d, ctx) = context(
            &[
                "bin/app-amd64",
                "bin/app-arm64",
                "bin/app.log",
                "conf/a.conf",
            ],
            "*.log\nbin/*.log\n",
        );
        let names = |s: &str| {
            ctx.sources(s)
                .unwrap()
                .into_iter()
                .map(|f| f.relative)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("bin/app-*"), vec!["bin/app-amd64", "bin/app-arm64"]);
        assert_eq!(names("/conf"), vec!["conf"]);
        assert_eq!(names("./conf/../conf/a.conf"), vec!["conf/a.conf"]);
        assert_eq!(
            ctx.sources("bin/app.log"),
            Err(ContextError::NoMatch("bin/app.log".into()))
        );
        assert_eq!(
            ctx.sources("../outside"),
            Err(ContextError::Escapes("../outside".into()))
        );
    }

    #[test]
    fn a_symlink_out_of_the_context_is_refused() {
        let (dir, _) = context(&["a"], "");
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let ctx = Context::open(dir.path()).unwrap();
        assert_eq!(
            ctx.sources("link"),
            Err(ContextError::Escapes("link".into()))
        );
    }
}
