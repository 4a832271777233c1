//! An environment repository: a shallow clone for delivering (history only when asked for),
//! each app folder replaced whole, one commit per change, and a push that, when someone else
//! pushed first, fetches the new tip, re-applies the change and tries again with jittered
//! backoff — so no deploy is lost and none overwrites another app's folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Delivered, Entry, Files, Revision, Store, parse_record, read_folder};
use crate::deploy::error::Error;
use crate::deploy::git_cli::{Git, GitError};
use crate::deploy::layout::Layout;
use crate::deploy::record::{RECORD_FILE, Record};

/// Pushes tried before giving up on a busy repository.
const ATTEMPTS: u32 = 40;

pub struct GitStore {
    url: String,
    branch: String,
    author: (String, String),
    work: tempfile::TempDir,
    git: Option<Git>,
    /// Whether the clone has full history (history, rollback) or only the tip.
    full: bool,
    /// Where the repository's URL is set, for the message when it redirects.
    configured: String,
}

impl GitStore {
    pub fn new(
        url: &str,
        branch: &str,
        author: (String, String),
        configured: String,
    ) -> Result<GitStore, Error> {
        // Swept by a later run if this one is killed.
        let work = crate::scratch::tempdir("env")
            .map_err(|e| Error::Io(format!("temporary folder: {e}")))?;
        Ok(GitStore {
            url: url.to_owned(),
            branch: branch.to_owned(),
            author,
            work,
            git: None,
            full: false,
            configured,
        })
    }

    fn repo(&self) -> PathBuf {
        self.work.path().join("repo")
    }

    /// The clone, made on first use: the tip only, or with full history when `full`.
    fn checkout(&mut self, full: bool) -> Result<&Git, Error> {
        if self.git.is_none() || (full && !self.full) {
            self.clone_repo(full)?;
        }
        Ok(self.git.as_ref().expect("cloned above"))
    }

    fn clone_repo(&mut self, full: bool) -> Result<(), Error> {
        let _ = std::fs::remove_dir_all(self.repo());
        let outside = Git::new(self.work.path(), &self.url, &self.author);
        let depth: &[&str] = if full {
            &["--filter=blob:none"]
        } else {
            &["--depth", "1"]
        };
        let mut args = vec![
            "clone",
            "--quiet",
            "--no-tags",
            "--single-branch",
            "--branch",
            &self.branch,
        ];
        args.extend_from_slice(depth);
        args.extend([self.url.as_str(), "repo"]);
        let git = Git::new(&self.repo(), &self.url, &self.author);
        match outside.run(&args) {
            Ok(_) => {}
            Err(e) if missing_branch(&e) => {
                // A new repository or branch: start it; the first push creates the branch.
                let _ = std::fs::remove_dir_all(self.repo());
                outside
                    .run(&["init", "--quiet", "-b", &self.branch, "repo"])
                    .map_err(|e| self.failed(e))?;
                git.run(&["remote", "add", "origin", &self.url])
                    .map_err(|e| self.failed(e))?;
            }
            Err(e) => return Err(self.failed(e)),
        }
        self.git = Some(git);
        self.full = full;
        Ok(())
    }

    fn failed(&self, e: GitError) -> Error {
        Error::Git {
            repository: self.describe(),
            error: e.redirected(&self.configured),
        }
    }

    /// Moves to the branch's new tip after a push lost a race.
    fn refresh(&self, git: &Git) -> Result<(), Error> {
        let depth: &[&str] = if self.full { &[] } else { &["--depth", "1"] };
        let mut args = vec!["fetch", "--quiet", "--no-tags"];
        args.extend_from_slice(depth);
        args.extend(["origin", self.branch.as_str()]);
        git.run(&args).map_err(|e| self.failed(e))?;
        git.run(&["reset", "--quiet", "--hard", "FETCH_HEAD"])
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// Applies `change` to the checkout, commits, pushes; on a lost race, refreshes and repeats.
    /// `change` returns the commit message for what it did on the current tip, or none when
    /// there is nothing to do.
    fn commit_and_push(
        &mut self,
        mut change: impl FnMut(&Path) -> Result<Option<String>, Error>,
    ) -> Result<Delivered, Error> {
        let git = self.checkout(false)?.clone();
        for attempt in 0..ATTEMPTS {
            let Some(message) = change(git.dir())? else {
                return Ok(Delivered::Unchanged);
            };
            git.run(&["add", "--all", "."])
                .map_err(|e| self.failed(e))?;
            if git
                .run(&["diff", "--cached", "--name-only"])
                .map_err(|e| self.failed(e))?
                .trim()
                .is_empty()
            {
                return Ok(Delivered::Unchanged);
            }
            git.run(&["commit", "--quiet", "--no-verify", "-m", &message])
                .map_err(|e| self.failed(e))?;
            let target = format!("HEAD:refs/heads/{}", self.branch);
            match git.push(&target) {
                Ok(()) => {
                    let revision = git
                        .run(&["rev-parse", "HEAD"])
                        .map_err(|e| self.failed(e))?
                        .trim()
                        .to_owned();
                    return Ok(Delivered::Written { revision });
                }
                Err(e) if e.is_race() && attempt + 1 < ATTEMPTS => {
                    std::thread::sleep(backoff(attempt));
                    self.refresh(&git)?;
                }
                Err(e) if e.is_race() => {
                    return Err(Error::Busy {
                        repository: self.describe(),
                        attempts: ATTEMPTS,
                        error: e,
                    });
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Reads many blobs in one `git cat-file --batch` (specs like `COMMIT:PATH`).
    fn blobs(&mut self, specs: &[String]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let git = self.checkout(true)?.clone();
        let input: String = specs.iter().map(|s| format!("{s}\n")).collect();
        let out = git
            .run_with_input(&["cat-file", "--batch"], Some(input.as_bytes()))
            .map_err(|e| self.failed(e))?;
        let mut blobs = Vec::with_capacity(specs.len());
        let mut rest = out.as_slice();
        for _ in specs {
            let newline = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
            rest = rest.get(newline + 1..).unwrap_or_default();
            match header
                .rsplit(' ')
                .next()
                .and_then(|size| size.parse::<usize>().ok())
                .filter(|_| !header.ends_with("missing"))
            {
                Some(size) => {
                    blobs.push(Some(rest[..size.min(rest.len())].to_vec()));
                    rest = rest.get(size + 1..).unwrap_or_default();
                }
                None => blobs.push(None),
            }
        }
        Ok(blobs)
    }
}

impl Store for GitStore {
    fn describe(&self) -> String {
        format!(
            "{} ({})",
            crate::ci::provenance::without_credentials(&self.url),
            self.branch
        )
    }

    fn current(&mut self, folder: &str) -> Result<Option<(Record, Files)>, Error> {
        let repo = self.checkout(false)?.dir().to_path_buf();
        read_folder(&repo.join(folder), &self.location(folder))
    }

    fn history(&mut self, folder: &str) -> Result<Vec<Entry>, Error> {
        let git = self.checkout(true)?.clone();
        let path = format!("{folder}/{RECORD_FILE}");
        let log = match git.run(&["log", "--format=%H", "--", &path]) {
            Ok(log) => log,
            // A branch with no commits yet has no history.
            Err(GitError::Failed { stderr, .. })
                if stderr.contains("does not have any commits") =>
            {
                String::new()
            }
            Err(e) => return Err(self.failed(e)),
        };
        let commits: Vec<String> = log.lines().map(str::to_owned).collect();
        let specs: Vec<String> = commits.iter().map(|c| format!("{c}:{path}")).collect();
        let blobs = self.blobs(&specs)?;
        let mut entries = Vec::new();
        for (commit, blob) in commits.into_iter().zip(blobs) {
            // A commit that removed the folder (a teardown) holds no record, and one whose
            // record cannot be read (an edit by hand) no deployment to list or return to.
            if let Some(Ok(record)) = blob.map(|b| parse_record(&b, &commit)) {
                entries.push(Entry {
                    record,
                    revision: commit,
                });
            }
        }
        Ok(entries)
    }

    /// The tip of the branch, which `deliver` found already holding the deployment.
    fn holding(&mut self, _folder: &str) -> Result<String, Error> {
        let git = self.checkout(false)?.clone();
        Ok(git
            .run(&["rev-parse", "HEAD"])
            .map_err(|e| self.failed(e))?
            .trim()
            .to_owned())
    }

    fn revision(&mut self, folder: &str) -> Result<Revision, Error> {
        let git = self.checkout(false)?.clone();
        revision(&git, folder).map_err(|e| self.failed(e))
    }

    fn files_at(&mut self, folder: &str, entry: &Entry) -> Result<Files, Error> {
        let git = self.checkout(true)?.clone();
        let listing = git
            .run(&[
                "ls-tree",
                "-r",
                "--name-only",
                &entry.revision,
                "--",
                folder,
            ])
            .map_err(|e| self.failed(e))?;
        let paths: Vec<&str> = listing.lines().collect();
        let specs: Vec<String> = paths
            .iter()
            .map(|p| format!("{}:{p}", entry.revision))
            .collect();
        let blobs = self.blobs(&specs)?;
        Ok(paths
            .iter()
            .zip(blobs)
            .filter_map(|(p, b)| {
                Some((
                    p.strip_prefix(folder)?.trim_start_matches('/').to_owned(),
                    b?,
                ))
            })
            .collect())
    }

    fn deliver(
        &mut self,
        folder: &str,
        files: &Files,
        id: &str,
        message: &str,
        planned: Option<&Revision>,
    ) -> Result<Delivered, Error> {
        let shown = self.location(folder);
        let git = self.checkout(false)?.clone();
        let (repository, configured) = (self.describe(), self.configured.clone());
        self.commit_and_push(|repo| {
            // Checked on each attempt's tip: a retry after a lost race refuses when the push
            // that won changed this folder, and goes on when it changed only others.
            if let Some(planned) = planned {
                still_at(&git, folder, planned, &shown, &repository, &configured)?;
            }
            let dir = repo.join(folder);
            // A record that cannot be read is no deployment of ours: its folder is replaced.
            if let Ok(Some((record, _))) = read_folder(&dir, &shown)
                && record.id == id
            {
                return Ok(None);
            }
            write_files(&dir, files, &shown)?;
            Ok(Some(message.to_owned()))
        })
    }

    fn propose(
        &mut self,
        folder: &str,
        files: &Files,
        id: &str,
        message: &str,
        branch: &str,
        planned: Option<&Revision>,
    ) -> Result<Delivered, Error> {
        let shown = self.location(folder);
        let git = self.checkout(false)?.clone();
        if let Some(planned) = planned {
            still_at(
                &git,
                folder,
                planned,
                &shown,
                &self.describe(),
                &self.configured,
            )?;
        }
        let dir = git.dir().join(folder);
        if let Ok(Some((record, _))) = read_folder(&dir, &shown)
            && record.id == id
        {
            return Ok(Delivered::Unchanged);
        }
        write_files(&dir, files, &shown)?;
        git.run(&["add", "--all", "."])
            .map_err(|e| self.failed(e))?;
        git.run(&["commit", "--quiet", "--no-verify", "-m", message])
            .map_err(|e| self.failed(e))?;
        // The proposal branch is ours alone: each deploy makes it anew on the branch's tip.
        git.push(&format!("+HEAD:refs/heads/{branch}"))
            .map_err(|e| self.failed(e))?;
        let revision = git
            .run(&["rev-parse", "HEAD"])
            .map_err(|e| self.failed(e))?
            .trim()
            .to_owned();
        // Back to the delivery's branch, which the checkout stands for.
        git.run(&["reset", "--quiet", "--hard", "HEAD~1"])
            .map_err(|e| self.failed(e))?;
        Ok(Delivered::Written { revision })
    }

    fn remove(
        &mut self,
        folders: &[String],
        still: &dyn Fn(&str, &Record) -> bool,
        message: &dyn Fn(&[String]) -> String,
    ) -> Result<Vec<String>, Error> {
        let mut removed = Vec::new();
        let shown: Vec<String> = folders.iter().map(|f| self.location(f)).collect();
        let delivered = self.commit_and_push(|repo| {
            // Each attempt starts from a fresh tip.
            removed.clear();
            for (folder, shown) in folders.iter().zip(&shown) {
                let dir = repo.join(folder);
                if read_folder(&dir, shown)?.is_some_and(|(record, _)| still(folder, &record)) {
                    std::fs::remove_dir_all(&dir)
                        .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
                    removed.push(folder.clone());
                }
            }
            Ok((!removed.is_empty()).then(|| message(&removed)))
        })?;
        Ok(match delivered {
            Delivered::Written { .. } => removed,
            Delivered::Unchanged => Vec::new(),
        })
    }

    fn folders(&mut self, layout: &Layout) -> Result<Vec<(String, Record)>, Error> {
        let repo = self.checkout(false)?.dir().to_path_buf();
        let mut out = Vec::new();
        for folder in layout.find(&repo) {
            if let Some((record, _)) = read_folder(&repo.join(&folder), &self.location(&folder))? {
                out.push((folder, record));
            }
        }
        Ok(out)
    }
}

/// Replaces a folder of the checkout with exactly these files; `shown` names the folder in
/// the repository, for messages.
fn write_files(dir: &Path, files: &Files, shown: &str) -> Result<(), Error> {
    let io = |name: &str, e: std::io::Error| {
        Error::Io(format!(
            "cannot write {shown}{name}: {e} (is a file or a symbolic link in the repository where the folder should be?)"
        ))
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io("", e))?;
    }
    for (name, content) in files {
        let path = dir.join(name);
        let name = format!("/{name}");
        std::fs::create_dir_all(path.parent().expect("inside the folder"))
            .map_err(|e| io(&name, e))?;
        std::fs::write(&path, content).map_err(|e| io(&name, e))?;
    }
    Ok(())
}

/// What `folder` holds in a checkout as it is now.
fn revision(git: &Git, folder: &str) -> Result<Revision, GitError> {
    let object = |spec: &str| -> Result<Option<String>, GitError> {
        match git.run(&["rev-parse", "--verify", "--quiet", spec]) {
            Ok(id) => Ok(Some(id.trim().to_owned())),
            // Absent (a branch with no commit yet, a folder not there yet): `--quiet` fails
            // without a word.
            Err(GitError::Failed { stderr, .. }) if stderr.trim().is_empty() => Ok(None),
            Err(e) => Err(e),
        }
    };
    Ok(Revision {
        tip: object("HEAD^{commit}")?,
        folder: object(&format!("HEAD:{folder}"))?,
    })
}

/// Refuses (`Error::Moved`) when `folder` in the checkout is no longer at the `planned` revision.
fn still_at(
    git: &Git,
    folder: &str,
    planned: &Revision,
    shown: &str,
    repository: &str,
    configured: &str,
) -> Result<(), Error> {
    let now = revision(git, folder).map_err(|e| Error::Git {
        repository: repository.to_owned(),
        error: e.redirected(configured),
    })?;
    if now.folder == planned.folder {
        return Ok(());
    }
    Err(Error::Moved {
        environment: String::new(),
        location: shown.to_owned(),
        planned: Box::new(planned.clone()),
        now: Box::new(now),
    })
}

fn missing_branch(e: &GitError) -> bool {
    matches!(e, GitError::Failed { stderr, .. } if stderr.contains("Remote branch") && stderr.contains("not found"))
        || matches!(e, GitError::Failed { stderr, .. } if stderr.contains("empty repository"))
}

/// Backoff from 50 ms, capped at 2 s, with ±50% jitter so racing deploys spread out.
fn backoff(attempt: u32) -> Duration {
    crate::backoff::backoff(Duration::from_millis(50), attempt, Duration::from_secs(2))
}
