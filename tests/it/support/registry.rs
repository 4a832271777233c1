//! A real OCI registry (Debian's `docker-registry`) on a free loopback port, started for one
//! test and stopped when dropped; optionally behind `tests/support/registry_proxy.py`, which logs
//! every request and can inject failures, or asking for tokens from
//! `tests/support/token_server.py` (a fake token server following Docker's token auth spec).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use super::servers::{Process, ScriptServer};

pub struct TestRegistry {
    _process: Process,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    pub fn start() -> TestRegistry {
        Self::start_with(|_| String::new())
    }

    /// A registry that wants `user`/`password` (htpasswd basic auth).
    pub fn start_with_login(user: &str, password: &str) -> TestRegistry {
        Self::start_with(|dir| {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (apache2-utils) is installed");
            assert!(out.status.success(), "htpasswd failed");
            std::fs::write(dir.join("htpasswd"), out.stdout).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.join("htpasswd").display()
            )
        })
    }

    /// A registry that wants bearer tokens from `tokens` (`auth: token`, trusting its certificate).
    pub fn start_with_tokens(tokens: &TokenServer) -> TestRegistry {
        Self::start_with(|_| {
            format!(
                "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: scoreline-test-registry\n    issuer: scoreline-test-issuer\n    rootcertbundle: {}\n",
                tokens.port,
                tokens.certificate.display()
            )
        })
    }

    /// A registry serving HTTPS with this certificate and key (PEM files).
    pub fn start_with_tls(certificate: &Path, key: &Path) -> TestRegistry {
        Self::start_with(|_| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                certificate.display(),
                key.display()
            )
        })
    }

    /// A registry on this port (README.md's `localhost:5000`), or none if it did not start
    /// there (the port is taken).
    pub fn start_on(port: u16) -> Option<TestRegistry> {
        let dir = tempfile::tempdir().unwrap();
        let process = launch(dir.path(), port, "")?;
        Some(TestRegistry {
            _process: process,
            port,
            _dir: dir,
        })
    }

    /// `extra`: configuration appended after the `http:` section's `addr`, given the folder.
    fn start_with(extra: impl FnOnce(&Path) -> String) -> TestRegistry {
        let dir = tempfile::tempdir().unwrap();
        let extra = extra(dir.path());
        for _ in 0..5 {
            let port = free_port();
            if let Some(process) = launch(dir.path(), port, &extra) {
                return TestRegistry {
                    _process: process,
                    port,
                    _dir: dir,
                };
            }
            // Most likely the port was taken meanwhile: try another.
        }
        panic!("docker-registry did not start");
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A proxy in front of this registry; `args` as `registry_proxy.py` takes them.
    pub fn proxy(&self, args: &[&str]) -> Proxy {
        let port = self.port.to_string();
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let server = ScriptServer::start(
            "registry_proxy.py",
            tempfile::tempdir().unwrap(),
            &[OsStr::new(&port)],
            &args,
            &[],
        );
        Proxy {
            port: server.port,
            server,
        }
    }
}

/// `tests/support/token_server.py` with a fresh signing key and certificate (openssl CLI).
pub struct TokenServer {
    server: ScriptServer,
    pub port: u16,
    certificate: PathBuf,
}

impl TokenServer {
    /// Grants `user`/`password` every scope asked for, in tokens valid for 300 s.
    pub fn start(user: &str, password: &str) -> TokenServer {
        Self::start_with(user, password, 300)
    }

    /// Grants `user`/`password` every scope asked for, in tokens valid for `lifetime` seconds.
    pub fn start_with(user: &str, password: &str, lifetime: u32) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("openssl")
            .current_dir(dir.path())
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
            .args(["-keyout", "key.pem", "-out", "cert.pem", "-days", "2"])
            .args(["-subj", "/CN=scoreline test token issuer"])
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (key, certificate) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let login = format!("{user}:{password}");
        let lifetime = format!("--lifetime={lifetime}");
        let server = ScriptServer::start(
            "token_server.py",
            dir,
            &[key.as_os_str(), certificate.as_os_str()],
            &[OsStr::new(&login), OsStr::new(&lifetime)],
            &[],
        );
        TokenServer {
            port: server.port,
            server,
            certificate,
        }
    }

    /// Every token request: the user (`-` for none, `!USER` refused) and the scopes asked for.
    pub fn requests(&self) -> Vec<Vec<String>> {
        self.server
            .log()
            .lines()
            .map(|line| line.split(' ').map(str::to_owned).collect())
            .collect()
    }
}

/// `tests/support/registry_proxy.py`: logs every request, and may inject failures.
pub struct Proxy {
    server: ScriptServer,
    pub port: u16,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The status answered, or `reset` for a connection closed without an answer.
    pub status: String,
    /// The user name of the request's Basic authorization, `bearer`, or `-` for none.
    pub user: String,
    /// The size of the request's body.
    pub bytes: u64,
}

impl Proxy {
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.server
            .log()
            .lines()
            .filter_map(|line| {
                let mut words = line.split(' ');
                Some(Request {
                    method: words.next()?.into(),
                    path: words.next()?.into(),
                    status: words.next()?.into(),
                    user: words.next()?.into(),
                    bytes: words.next()?.parse().ok()?,
                })
            })
            .collect()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        std::fs::write(&self.server.log, "").unwrap();
    }

    /// Requests that start or carry a blob upload (a cross-repository mount is not one).
    pub fn blob_uploads(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains("/blobs/uploads/") && !r.path.contains("mount="))
            .collect()
    }
}

/// `docker-registry serve` on 127.0.0.1:`port` with its storage and log in `dir` and `extra`
/// configuration after the `http:` section's `addr`, once it answers; none if it died first.
fn launch(dir: &Path, port: u16, extra: &str) -> Option<Process> {
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    let mut child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("docker-registry (Debian package) is installed");
    if wait_for_http(port, &mut child) {
        Some(Process(child))
    } else {
        drop(Process(child));
        None
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the registry answers before its process dies.
fn wait_for_http(port: u16, child: &mut Child) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            // Any HTTP answer will do: 200, 401 (wants a login), 400 (speaks HTTPS).
            if answer.starts_with("HTTP/") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `skopeo ARGS…` (plain HTTP allowed: the test registries listen on loopback).
pub fn skopeo(args: &[&str]) -> Output {
    Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo (Debian package) is installed")
}

/// `skopeo inspect` of `docker://REF` with `extra` flags, parsed.
pub fn inspect(reference: &str, extra: &[&str]) -> serde_json::Value {
    let target = format!("docker://{reference}");
    let mut args = vec!["inspect", "--tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(&target);
    let out = skopeo(&args);
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Unpacks `oci:LAYOUT:TAG` with umoci into `bundle` and returns its root filesystem.
pub fn umoci_unpack(layout: &Path, tag: &str, bundle: &Path) -> PathBuf {
    let image = format!("{}:{tag}", layout.display());
    let mut cmd = Command::new("umoci");
    cmd.arg("unpack");
    if !is_root() {
        cmd.arg("--rootless");
    }
    let out = cmd
        .arg("--image")
        .arg(&image)
        .arg(bundle)
        .output()
        .expect("umoci (Debian package) is installed");
    assert!(
        out.status.success(),
        "umoci unpack {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bundle.join("rootfs")
}

/// The owner (uid, gid) of every path in the layers of `oci:LAYOUT:TAG`, read from the tar
/// headers (a later layer's entry wins), so owners can be checked without root, which umoci
/// needs to keep them.
pub fn layer_owners(layout: &Path, tag: &str) -> std::collections::BTreeMap<String, (u64, u64)> {
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let json = |path: PathBuf| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    };
    let index = json(layout.join("index.json"));
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"));
    let manifest = json(blob(entry["digest"].as_str().unwrap()));
    let mut owners = std::collections::BTreeMap::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let file = std::fs::File::open(blob(layer["digest"].as_str().unwrap())).unwrap();
        // Layers are written as several gzip members: read them all.
        let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(file));
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            let path = entry.path().unwrap().display().to_string();
            let path = path
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned();
            owners.insert(path, (header.uid().unwrap(), header.gid().unwrap()));
        }
    }
    owners
}

/// umoci keeps files' owners only when unpacking as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
