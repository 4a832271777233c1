//! A local git smart-HTTP server: `git http-backend` behind `tests/support/git_http_server.py`,
//! which wants Basic credentials, logs every request and can serve HTTPS. Stopped when dropped.

use std::path::Path;

use super::servers::ScriptServer;

pub struct GitServer {
    server: ScriptServer,
    pub port: u16,
}

impl GitServer {
    /// Serves the repositories under `root` to `credentials` (`user:token` pairs, space
    /// separated); `args` as `git_http_server.py` takes them after its first three.
    pub fn start(root: &Path, credentials: &str, args: &[&Path]) -> GitServer {
        let args: Vec<_> = args.iter().map(|a| a.as_os_str()).collect();
        let server = ScriptServer::start(
            "git_http_server.py",
            tempfile::tempdir().unwrap(),
            &[root.as_os_str()],
            &args,
            &[("GIT_SERVER_CREDENTIALS", credentials)],
        );
        GitServer {
            port: server.port,
            server,
        }
    }

    /// The request log so far, one line per request (and per scan).
    pub fn log(&self) -> String {
        self.server.log()
    }
}
