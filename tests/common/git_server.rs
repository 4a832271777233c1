//! A local git smart-HTTP server: `git http-backend` behind `tests/support/git_http_server.py`,
//! which wants Basic credentials, logs every request and can serve HTTPS. Stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::repo_root;

pub struct GitServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl GitServer {
    /// Serves the repositories under `root` to `credentials` (`user:token` pairs, space
    /// separated); `args` as `git_http_server.py` takes them after its first three.
    pub fn start(root: &Path, credentials: &str, args: &[&Path]) -> GitServer {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.log");
        let port_file = dir.path().join("port");
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/support/git_http_server.py"))
            .arg(root)
            .arg(&log)
            .arg(&port_file)
            .args(args)
            .env("GIT_SERVER_CREDENTIALS", credentials)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the git server");
        let port = super::port_from(&mut child, &port_file, "the git server");
        GitServer {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// The request log so far, one line per request (and per scan).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
