//! The workspace a Score file may read `files.source` from: the git repository that holds it,
//! or its own folder outside a repository. Nothing outside (a CI runner's own files, a
//! `~/.ssh` reached by `..` or a symlink) may be read into manifests.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Canonical root; every source must resolve inside it.
    pub root: PathBuf,
    /// Canonical folder of the Score file; relative sources start here.
    pub base: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("`{0}` does not exist")]
    Missing(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(String),
    #[error("`{path}` resolves to {resolved}, outside the workspace {root}")]
    Escapes {
        path: String,
        resolved: String,
        root: String,
    },
}

impl Workspace {
    /// The workspace of the Score file at `score_file`.
    pub fn of(score_file: &Path) -> std::io::Result<Workspace> {
        let parent = score_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = parent.canonicalize()?;
        let root = base
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .unwrap_or(&base)
            .to_path_buf();
        Ok(Workspace { root, base })
    }

    /// Resolves a `files.source` path, refusing anything that leaves the workspace.
    pub fn resolve(&self, source: &str) -> Result<PathBuf, SourceError> {
        let joined = self.base.join(source);
        let escapes = |resolved: &Path| SourceError::Escapes {
            path: source.to_owned(),
            resolved: resolved.display().to_string(),
            root: self.root.display().to_string(),
        };
        // Judged on the written path first, so a path outside never learns whether its
        // target exists; then again after symlinks are followed.
        let lexical = lexically_normal(&joined);
        if !lexical.starts_with(&self.root) {
            return Err(escapes(&lexical));
        }
        let resolved = joined
            .canonicalize()
            .map_err(|_| SourceError::Missing(source.to_owned()))?;
        if !resolved.starts_with(&self.root) {
            return Err(escapes(&resolved));
        }
        if !resolved.is_file() {
            return Err(SourceError::NotAFile(source.to_owned()));
        }
        Ok(resolved)
    }
}

/// `a/b/../c` as `a/c`, without asking the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_stay_inside_the_repository() {
        let outer = tempfile::tempdir().unwrap();
        let repo = outer.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("app/conf")).unwrap();
        std::fs::write(repo.join("shared.txt"), "x").unwrap();
        std::fs::write(repo.join("app/conf/a.txt"), "x").unwrap();
        std::fs::write(outer.path().join("secret.txt"), "x").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret.txt"), repo.join("app/link.txt"))
            .unwrap();

        let ws = Workspace::of(&repo.join("app/score.yaml")).unwrap();
        assert_eq!(ws.root, repo.canonicalize().unwrap());
        assert!(ws.resolve("conf/a.txt").is_ok());
        assert!(
            ws.resolve("../shared.txt").is_ok(),
            "`..` inside the repository is fine"
        );
        assert!(matches!(
            ws.resolve("../../secret.txt"),
            Err(SourceError::Escapes { .. })
        ));
        assert!(matches!(
            ws.resolve("link.txt"),
            Err(SourceError::Escapes { .. })
        ));
        assert!(matches!(
            ws.resolve("/etc/hostname"),
            Err(SourceError::Escapes { .. })
        ));
        assert!(
            matches!(
                ws.resolve("../../no-such-file"),
                Err(SourceError::Escapes { .. })
            ),
            "outside paths never reveal whether they exist"
        );
        assert!(matches!(ws.resolve("conf"), Err(SourceError::NotAFile(_))));
        assert!(matches!(
            ws.resolve("nope.txt"),
            Err(SourceError::Missing(_))
        ));
    }

    #[test]
    fn outside_a_repository_the_folder_is_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("w")).unwrap();
        std::fs::write(dir.path().join("up.txt"), "x").unwrap();
        let ws = Workspace::of(&dir.path().join("w/score.yaml")).unwrap();
        assert!(matches!(
            ws.resolve("../up.txt"),
            Err(SourceError::Escapes { .. })
        ));
    }
}
