//! The helper servers' common parts: a process stopped when dropped, and the Python servers of
//! tests/support/ that write the port they got to a file and log every request.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::repo_root;

/// A child process killed (and waited for) when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python3 tests/support/SCRIPT BEFORE… LOG PORT_FILE AFTER…` with `env`, started in `dir` (kept
/// for as long as the server runs), once it has written its port.
pub struct ScriptServer {
    _process: Process,
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ScriptServer {
    pub fn start(
        script: &str,
        dir: tempfile::TempDir,
        before: &[&OsStr],
        after: &[&OsStr],
        env: &[(&str, &str)],
    ) -> ScriptServer {
        let log = dir.path().join("requests.log");
        let port_file = dir.path().join("port");
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/support").join(script))
            .args(before)
            .arg(&log)
            .arg(&port_file)
            .args(after)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 runs {script}: {e}"));
        let port = port_from(&mut child, &port_file, script);
        ScriptServer {
            _process: Process(child),
            port,
            log,
            _dir: dir,
        }
    }

    /// The request log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits for a helper server started as `child` to write its port to `port_file`.
fn port_from(child: &mut Child, port_file: &Path, what: &str) -> u16 {
    let started = Instant::now();
    while !port_file.exists() {
        assert!(child.try_wait().unwrap().is_none(), "{what} exited");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
