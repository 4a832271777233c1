//! Talking to forges, against local fakes of the GitHub and GitLab REST APIs
//! (tests/support/forge_fake.py, answering with the published examples' complete bodies):
//! sticky comments, pull/merge-request delivery, deployment statuses, rate limits and retries.
//! Every test asserts the requests made, and that no secret is in any of them.

mod github;
mod gitlab;

use std::ffi::OsStr;

use serde_json::{Value, json};

use crate::deploy::World;
use crate::support::servers::ScriptServer;
use crate::support::{Cli, objects, repo_root, secret_values};

/// The token the fakes are sent (registered as a secret: it must be in no body or output).
pub(crate) const TOKEN: &str = "ghp_forgeFakeToken0123456789";

/// A forge fake with `config` (see forge_fake.py).
pub(crate) struct Fake(ScriptServer);

/// One logged request.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    auth: String,
    body: String,
}

impl Fake {
    pub(crate) fn start(config: Value) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, config.to_string()).unwrap();
        Fake(ScriptServer::start(
            "forge_fake.py",
            dir,
            &[file.as_os_str()],
            &[] as &[&OsStr],
            &[],
        ))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.0
            .log()
            .lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap();
                Request {
                    method: v["method"].as_str().unwrap().into(),
                    path: v["path"].as_str().unwrap().into(),
                    auth: v["auth"].as_str().unwrap_or_default().into(),
                    body: v["body"].as_str().unwrap_or_default().into(),
                }
            })
            .collect()
    }

    /// What was sent: each request's method and path, and its body.
    pub(crate) fn sent(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .map(|r| (format!("{} {}", r.method, r.path), r.body))
            .collect()
    }

    /// The log of requests and the fake's answers (JSON lines).
    fn log_file(&self) -> &std::path::Path {
        &self.0.log
    }

    /// The requests whose method and path (without query) match, as `METHOD PATH` strings.
    fn calls(&self, method: &str, path_prefix: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let path = r.path.split('?').next().unwrap();
                r.method == method
                    && (path.ends_with(path_prefix)
                        || path_prefix.ends_with('/') && path.contains(path_prefix))
            })
            .collect()
    }
}

/// `deploy` of the shop to `throwaway` as a GitHub Actions job for pull request #2 whose API is
/// the fake; more flags may follow.
pub(crate) fn github_deploy(world: &World, fake: &Fake, image: &str) -> Cli {
    on_pull_request(world.deploy_cli("throwaway", image), fake)
}

/// `cli` as a GitHub Actions job for pull request #2 whose API is the fake.
pub(crate) fn on_pull_request(cli: Cli, fake: &Fake) -> Cli {
    cli.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_RUN_ID", "42")
        .env(
            "GITHUB_EVENT_PATH",
            repo_root().join("tests/support/github/pull_request.opened.json"),
        )
        .env("GITHUB_TOKEN", TOKEN)
}

/// Neither the token, the platform key, nor a password deployed to `folder` is in any request
/// the fake got, nor in `output` (but for the lines asking GitHub to mask them).
fn no_secret_sent(world: &World, fake: &Fake, folder: &str, output: &str) {
    let checkout = world.checkout();
    let mut secrets: Vec<String> = objects(&checkout.path().join(folder))
        .into_iter()
        .filter(|(_, o)| o["kind"] == "Secret")
        .flat_map(|(_, o)| secret_values(&o))
        // Only the derived values are secret; a host or user name may be said anywhere.
        .filter(|(k, _)| k.to_ascii_lowercase().contains("password"))
        .map(|(_, v)| v)
        .collect();
    assert!(!secrets.is_empty(), "the shop has a derived password");
    secrets.push(TOKEN.into());
    secrets.push("test-platform-key-0123456789abcdef".into());
    for request in fake.requests() {
        // Form bodies are percent-encoded: look in the decoded values too.
        let decoded: Vec<String> = form_body(&request).into_values().collect();
        for secret in &secrets {
            assert!(
                !request.body.contains(secret.as_str())
                    && !request.path.contains(secret.as_str())
                    && decoded.iter().all(|v| !v.contains(secret.as_str())),
                "a secret in {request:?}"
            );
        }
    }
    // `::add-mask::VALUE` is how GitHub is told to mask a value in the log.
    let output: String = output
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for secret in &secrets {
        assert!(
            !output.contains(secret.as_str()),
            "a secret in the output: {output}"
        );
    }
}

/// The environments with `throwaway` delivering by pull/merge request to the environment
/// repository on the forge `forge` says (`kind: …, project: …, api: …`).
fn pull_request_environments(world: &World, forge: &str, extra: &str) {
    world.set_environments(&crate::deploy::ENVIRONMENTS.replace(
        "namespace: scratch\n    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }",
        &format!(
            "namespace: scratch\n    delivery: {{ kind: git, repo: ../env.git, path: \"{{env}}/{{app}}\", mode: pull-request{extra} }}\n    forge: {{ {forge} }}"
        ),
    ));
}

/// A form-encoded body (the gitlab crate's) as its fields.
fn form_body(request: &Request) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(request.body.as_bytes())
        .into_owned()
        .collect()
}

fn json_body(request: &Request) -> Value {
    serde_json::from_str(&request.body).unwrap_or_else(|_| json!({}))
}
