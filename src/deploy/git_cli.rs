//! Running the `git` CLI for environment repositories (as argocd-image-updater and Kargo do: it
//! pushes, and it does not hang). Every call is isolated from the user's and the system's git
//! configuration, never prompts, and gets credentials through the environment, over https only —
//! never on the command line, never in a repository's config, never in a message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    /// A push git refused because the branch moved on (someone else pushed first), as git
    /// itself reports it per ref: never judged by what a server's hook prints.
    #[error("`git {command}` failed: {stderr}")]
    Moved { command: String, stderr: String },
    /// The server answered with a redirect, which git is told not to follow while it sends a
    /// token; `configured` says where the URL to change is.
    #[error(
        "`git {command}`: the repository answered with a redirect (HTTP {status}), which is not followed while a token is sent, since the host redirected to would receive it: put the repository's final URL (where it redirects to) in {configured}"
    )]
    Redirected {
        command: String,
        status: String,
        configured: String,
    },
    #[error("cannot run git: {0} (install git; scoreline drives the git command)")]
    Spawn(std::io::Error),
}

impl GitError {
    /// A push refused because the branch moved on (someone else pushed first).
    pub fn is_race(&self) -> bool {
        matches!(self, GitError::Moved { .. })
    }

    /// This failure as a redirect git did not follow (`The requested URL returned error: 302`),
    /// naming where the repository's URL is `configured`; any other failure as it is.
    pub fn redirected(self, configured: &str) -> GitError {
        let GitError::Failed { command, stderr } = self else {
            return self;
        };
        let status: Option<String> = stderr
            .split_once("The requested URL returned error: ")
            .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
            .filter(|s: &String| s.starts_with('3'));
        match status {
            Some(status) => GitError::Redirected {
                command,
                status,
                configured: configured.to_owned(),
            },
            None => GitError::Failed { command, stderr },
        }
    }
}

/// Variables of the calling process that would point git at another repository (scoreline run
/// from a git hook has GIT_DIR set), add configuration, or turn TLS verification off.
const INHERITED: [&str; 14] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_SHALLOW_FILE",
    "GIT_GRAFT_FILE",
    "GIT_REPLACE_REF_BASE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_SSL_NO_VERIFY",
    "GIT_PREFIX",
];

#[derive(Clone)]
pub struct Git {
    dir: PathBuf,
    env: Vec<(String, String)>,
    /// Values never shown in a message (the token).
    secrets: Vec<String>,
}

impl std::fmt::Debug for Git {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Git")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Git {
    /// Git in `dir` for the repository at `url`, committing as `author` (name, email).
    pub fn new(dir: &Path, url: &str, author: &(String, String)) -> Git {
        let mut config: Vec<(String, String)> = vec![
            ("commit.gpgsign".into(), "false".into()),
            ("core.hooksPath".into(), "/dev/null".into()),
            // A symbolic link in the environment repository is checked out as a file holding
            // its target: replacing an app folder below one would write (and remove) outside.
            ("core.symlinks".into(), "false".into()),
        ];
        let mut secrets = Vec::new();
        // A password written into the URL itself is shown nowhere either.
        if let Some((userinfo, _)) = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next()?.rsplit_once('@'))
            && let Some((_, password)) = userinfo.split_once(':')
        {
            secrets.push(password.to_owned());
        }
        if let Some(Credentials { user, token, .. }) = credentials_for(url) {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
            config.push((
                "http.extraHeader".into(),
                format!("Authorization: Basic {basic}"),
            ));
            secrets.extend([token, basic]);
            // git sends extra headers on every request, also to the host a redirect names: with
            // `initial` (its default) the follow-up requests go there, token included.
            config.push(("http.followRedirects".into(), "false".into()));
        }
        let mut env: Vec<(String, String)> = vec![
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
            ("GIT_AUTHOR_NAME".into(), author.0.clone()),
            ("GIT_AUTHOR_EMAIL".into(), author.1.clone()),
            ("GIT_COMMITTER_NAME".into(), author.0.clone()),
            ("GIT_COMMITTER_EMAIL".into(), author.1.clone()),
            ("LC_ALL".into(), "C".into()),
            ("GIT_CONFIG_COUNT".into(), config.len().to_string()),
        ];
        for (i, (key, value)) in config.into_iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{i}"), key));
            env.push((format!("GIT_CONFIG_VALUE_{i}"), value));
        }
        Git {
            dir: dir.to_path_buf(),
            env,
            secrets,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs git in the repository folder; stdout on success.
    pub fn run(&self, args: &[&str]) -> Result<String, GitError> {
        self.run_with_input(args, None)
            .map(|out| String::from_utf8_lossy(&out).into_owned())
    }

    /// Pushes `refspec` to `origin`. A ref git reports as rejected because the remote moved
    /// on (see `ref_moved`) is `GitError::Moved`; any other failure, such as a hook declining
    /// it (whose `remote:` lines may say anything), is `GitError::Failed` with what the server
    /// said.
    pub fn push(&self, refspec: &str) -> Result<(), GitError> {
        let args = ["push", "--porcelain", "origin", refspec];
        let out = self.output(&args, None)?;
        if out.status.success() {
            return Ok(());
        }
        // `--porcelain` lists each ref on stdout as `FLAG\tFROM:TO\tSUMMARY (REASON)`; `!` is
        // a ref that was not pushed.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let refused: Vec<&str> = stdout.lines().filter(|l| l.starts_with('!')).collect();
        let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let moved = !refused.is_empty() && refused.iter().all(|line| ref_moved(line, &stderr));
        for line in &refused {
            stderr.push_str(&format!("\n{}", line.replace('\t', " ")));
        }
        let (command, stderr) = (self.redact(&args.join(" ")), self.redact(&stderr));
        Err(if moved {
            GitError::Moved { command, stderr }
        } else {
            GitError::Failed { command, stderr }
        })
    }

    /// Runs git with `input` on stdin; raw stdout on success.
    pub fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
        let out = self.output(args, input)?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        Err(GitError::Failed {
            command: self.redact(&args.join(" ")),
            stderr: self.redact(String::from_utf8_lossy(&out.stderr).trim()),
        })
    }

    /// Runs git with `input` on stdin, whatever its exit status.
    fn output(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<std::process::Output, GitError> {
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        for variable in INHERITED {
            command.env_remove(variable);
        }
        command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(GitError::Spawn)?;
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            let input = input.to_vec();
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&input);
            });
        }
        child.wait_with_output().map_err(GitError::Spawn)
    }

    fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text.to_owned(), |acc, s| acc.replace(s.as_str(), "••••••"))
    }
}

/// Whether a `--porcelain` status line of a ref that was not pushed says the remote moved on:
/// git refused it as not a fast-forward, or the server could not update the ref because another
/// push updated it meanwhile (its ref transaction saw another old value: `cannot lock ref`,
/// which receive-pack itself prints on `stderr`). A hook's refusal has a status of its own
/// (`pre-receive hook declined`), whatever the hook prints.
fn ref_moved(line: &str, stderr: &str) -> bool {
    let Some(summary) = line.splitn(3, '\t').nth(2) else {
        return false;
    };
    match summary {
        "[rejected] (fetch first)" | "[rejected] (non-fast-forward)" => true,
        "[remote rejected] (failed to update ref)" => stderr
            .lines()
            .any(|l| l.starts_with("remote: error: cannot lock ref ")),
        _ => {
            summary.starts_with("[remote rejected] (cannot lock ref ")
                || summary == "[remote rejected] (incorrect old value provided)"
        }
    }
}

/// A token from the CI's variables, and the user it authenticates as.
struct Credentials {
    variable: &'static str,
    user: String,
    token: String,
}

fn credentials() -> Option<Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let user = var("GIT_USERNAME");
    let found = |variable: &'static str, default: &str| {
        var(variable).map(|token| {
            crate::secret::register(&token, variable);
            Credentials {
                variable,
                user: user.clone().unwrap_or_else(|| default.into()),
                token,
            }
        })
    };
    found("GIT_TOKEN", "x-access-token")
        .or_else(|| found("GITHUB_TOKEN", "x-access-token"))
        // GitLab's job token authenticates only as this user.
        .or_else(|| found("CI_JOB_TOKEN", "gitlab-ci-token"))
}

/// The credentials to send to `url`: only over https, where nobody on the way can read them.
fn credentials_for(url: &str) -> Option<Credentials> {
    url.starts_with("https://").then(credentials).flatten()
}

/// The variable holding a token that is set but will not be sent, because `url` is plain
/// http (anyone on the network could read it).
pub fn withheld_token(url: &str) -> Option<&'static str> {
    url.starts_with("http://")
        .then(credentials)
        .flatten()
        .map(|c| c.variable)
}

#[cfg(test)]
mod tests {
    use super::ref_moved;

    #[test]
    fn only_git_s_own_verdict_on_a_ref_makes_a_lost_race() {
        let line = |summary: &str| format!("!\tHEAD:refs/heads/main\t{summary}");
        let hook =
            "remote: ! [rejected] main (non-fast-forward)\nremote: error: cannot lock ref 'x'";
        for summary in ["[rejected] (fetch first)", "[rejected] (non-fast-forward)"] {
            assert!(ref_moved(&line(summary), ""), "{summary}");
        }
        assert!(ref_moved(
            &line("[remote rejected] (failed to update ref)"),
            "remote: error: cannot lock ref 'refs/heads/main': is at 1 but expected 2"
        ));
        assert!(!ref_moved(
            &line("[remote rejected] (failed to update ref)"),
            ""
        ));
        assert!(!ref_moved(
            &line("[remote rejected] (pre-receive hook declined)"),
            hook
        ));
        assert!(!ref_moved(&line("[remote rejected] (hook declined)"), hook));
        assert!(!ref_moved("remote: [rejected] (fetch first)", ""));
    }
}
