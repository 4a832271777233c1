//! Running the real `scoreline` binary as a user would: `Cli` builds one run, `Outcome` is what
//! it did, with assertions that show both output streams when they fail.

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::repo_root;

/// How long a run may take unless `Cli::limit` says otherwise.
const LIMIT: Duration = Duration::from_secs(120);

/// One run of `scoreline ARGS…`, from the repository's root, in an empty environment but for
/// a base (PATH and TMPDIR as the tests have them, HOME an empty folder of its own, LANG=C.UTF-8):
/// nothing of the runner's leaks in (no CI variables, no GITHUB_OUTPUT, no ~/.docker, no
/// ~/.gitconfig), so tests behave the same under CI and never write into its files. Set more with
/// the builder methods, then `run` it.
#[must_use = "a Cli does nothing until it is run"]
pub struct Cli {
    cmd: Command,
    limit: Duration,
    home: TempDir,
}

impl Cli {
    pub fn new<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Cli {
        let home = tempfile::tempdir().expect("a HOME for the run");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scoreline"));
        cmd.env_clear()
            .env("HOME", home.path())
            .env("LANG", "C.UTF-8");
        for var in ["PATH", "TMPDIR"] {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        cmd.current_dir(repo_root()).args(args);
        Cli {
            cmd,
            limit: LIMIT,
            home,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cli {
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Cli {
        self.cmd.args(args);
        self
    }

    /// The folder it runs in (the repository's root unless set).
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Cli {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cli {
        self.cmd.env(name, value);
        self
    }

    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Cli {
        self.cmd.env_remove(name);
        self
    }

    /// Fails the test if the run has not finished within `limit`: hostile input must be
    /// refused, never hang.
    pub fn limit(mut self, limit: Duration) -> Cli {
        self.limit = limit;
        self
    }

    /// Runs it to completion (no standard input).
    pub fn run(mut self) -> Outcome {
        Outcome::of(&mut self.cmd, self.limit)
    }

    /// Runs it to completion on a pseudo-terminal (util-linux `script`), with the same empty
    /// environment and, as a terminal has, TERM (xterm-256color unless set): what the terminal
    /// showed (stdout and stderr, in order) is the outcome's stdout.
    pub fn run_on_terminal(mut self) -> Outcome {
        if !self.cmd.get_envs().any(|(name, _)| name == "TERM") {
            self.cmd.env("TERM", "xterm-256color");
        }
        let line = std::iter::once(self.cmd.get_program())
            .chain(self.cmd.get_args())
            .map(|a| format!("'{}'", a.to_str().unwrap().replace('\'', "'\\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut script = self.around("script");
        script.args(["-qec", &line, "/dev/null"]);
        Outcome::of(&mut script, self.limit)
    }

    /// Runs it to completion as the last arguments of `wrapper` (a program and its first
    /// arguments, such as `strace -e inject=…` or `sh -c 'ulimit …; exec "$@"' sh`), with the
    /// same folder and environment.
    pub fn run_through<S: AsRef<OsStr>>(self, wrapper: impl IntoIterator<Item = S>) -> Outcome {
        let mut wrapper = wrapper.into_iter();
        let mut cmd = self.around(wrapper.next().expect("a wrapper names its program"));
        cmd.args(wrapper)
            .arg(self.cmd.get_program())
            .args(self.cmd.get_args());
        Outcome::of(&mut cmd, self.limit)
    }

    /// `program` in this run's folder and environment (and nothing else of the test's).
    fn around(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(
            self.cmd
                .get_current_dir()
                .expect("Cli::new sets the folder"),
        )
        .env_clear();
        for (name, value) in self.cmd.get_envs() {
            if let Some(value) = value {
                cmd.env(name, value);
            }
        }
        cmd
    }

    /// Starts it (no standard input, output captured) without waiting: for runs side by side.
    pub fn spawn(mut self) -> Running {
        let command = describe(&self.cmd);
        let child = self
            .cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command} starts: {e}"));
        Running {
            child,
            command,
            _home: self.home,
        }
    }
}

impl fmt::Debug for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.cmd))
    }
}

/// A run started by `Cli::spawn`.
pub struct Running {
    child: Child,
    command: String,
    _home: TempDir,
}

impl Running {
    pub fn wait(self) -> Outcome {
        let out = self
            .child
            .wait_with_output()
            .expect("the run can be waited for");
        Outcome {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            command: self.command,
        }
    }
}

/// What a finished run did: its exit status and its output (as text, invalid UTF-8 replaced).
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    command: String,
}

impl Outcome {
    /// Runs any program to completion (no standard input), failing the test if it has not
    /// finished within `limit`.
    pub fn of(cmd: &mut Command, limit: Duration) -> Outcome {
        let command = describe(cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command} starts: {e}"));
        // Drained while it runs: a command printing more than a pipe holds would otherwise block.
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                pipe.read_to_end(&mut bytes).expect("output is readable");
                String::from_utf8_lossy(&bytes).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("stdout is piped")));
        let stderr = drain(Box::new(child.stderr.take().expect("stderr is piped")));
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait works") {
                return Outcome {
                    status,
                    stdout: stdout.join().expect("stdout reader"),
                    stderr: stderr.join().expect("stderr reader"),
                    command,
                };
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                panic!("{command} did not finish within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exit code (none when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts that it exited 0.
    #[track_caller]
    pub fn success(self) -> Outcome {
        self.expect_code(0)
    }

    /// Asserts that it exited with `code`.
    #[track_caller]
    pub fn fails(self, code: i32) -> Outcome {
        assert_ne!(code, 0, "a failure has a code other than 0");
        self.expect_code(code)
    }

    #[track_caller]
    fn expect_code(self, code: i32) -> Outcome {
        assert!(
            self.code() == Some(code),
            "{} exited with {}, not {code}\n{}",
            self.command,
            self.status,
            self.streams()
        );
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Outcome {
        self.has("stdout", &self.stdout, text)
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Outcome {
        self.has("stderr", &self.stderr, text)
    }

    #[track_caller]
    fn has(&self, name: &str, stream: &str, text: &str) -> &Outcome {
        assert!(
            stream.contains(text),
            "{}: no `{text}` in {name}\n{}",
            self.command,
            self.streams()
        );
        self
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not the JSON wanted ({e})\n{}",
                self.command,
                self.streams()
            )
        })
    }

    /// Both streams, stdout first.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Both streams, labelled, for failure messages.
    pub fn streams(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// `PROGRAM ARGS…` as a shell would show it, for messages.
fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.contains([' ', '\'', '"']) || a.is_empty() {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
