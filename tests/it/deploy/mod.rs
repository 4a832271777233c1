//! `scoreline deploy` and friends against real git: a bare environment repository per test
//! (`World`), SOPS decrypted by the real `sops` binary, concurrency from separate processes, a
//! local smart-HTTP server for tokens and TLS, and a remote that disappears mid-push.

mod concurrency;
mod diff;
mod flags;
mod history;
mod local;
mod plan;
mod previews;
mod promote;
mod provenance;
mod records;
mod remote;
mod rollback;
mod safety;
mod secrets;
mod settings;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::git::{environment_repository, git};
use crate::support::{Cli, Outcome, read_json, repo_root, text, write_files};

/// A workspace with the shop app (a git repository of its own), a platform folder (the embedded
/// baseline exported, with these environments) and a bare environment repository.
pub(crate) struct World {
    dir: tempfile::TempDir,
    recipient: String,
}

pub(crate) const ENVIRONMENTS: &str = r#"environments:
  - name: staging
    type: staging
    namespace: shop-staging
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: sops, age_recipients: [RECIPIENT] }
  - name: production
    type: production
    namespace: shop
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: external, store: vault }
  - name: throwaway
    type: development
    namespace: scratch
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: plain }
  - name: unconfigured
    type: development
    namespace: nowhere
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
  - name: pr-{n}
    type: development
    namespace: shop-pr-{n}
    ttl: 72h
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: plain }
"#;

/// The platform key the tests deploy with (a key must be 32 bytes or more).
const TEST_KEY: &str = "test-platform-key-0123456789abcdef";

/// The variables a CI gives git tokens in.
const TOKEN_VARIABLES: [&str; 4] = ["GIT_TOKEN", "GITHUB_TOKEN", "CI_JOB_TOKEN", "GIT_USERNAME"];

impl World {
    pub(crate) fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let recipient = environment_repository(root);
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "--quiet"]);
        copy_shop(&work.join("shop"));
        Cli::new(["baseline", "export", "platform"])
            .dir(&work)
            .run()
            .success();
        let world = World { dir, recipient };
        world.set_environments(ENVIRONMENTS);
        world
    }

    pub(crate) fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub(crate) fn repo(&self) -> PathBuf {
        self.dir.path().join("env.git")
    }

    /// Writes `environments` (with RECIPIENT replaced) as the platform's environments.
    pub(crate) fn set_environments(&self, environments: &str) {
        write_files(
            &self.work(),
            &[(
                "platform/environments.yaml",
                &environments.replace("RECIPIENT", &self.recipient),
            )],
        );
    }

    /// The environments with `throwaway` delivering to `url`.
    fn throwaway_at(&self, url: &str) {
        self.set_environments(&ENVIRONMENTS.replace(
            "namespace: scratch\n    delivery: { kind: git, repo: ../env.git,",
            &format!("namespace: scratch\n    delivery: {{ kind: git, repo: \"{url}\","),
        ));
    }

    /// scoreline in the workspace, with the platform folder and the platform key.
    fn cli(&self, args: &[&str]) -> Cli {
        Cli::new(args)
            .dir(self.work())
            .args(["--platform", "platform"])
            .env("SCORELINE_KEY", TEST_KEY)
    }

    /// `deploy` of the shop to an environment; more flags may follow.
    pub(crate) fn deploy_cli(&self, env: &str, image: &str) -> Cli {
        self.cli(&[
            "deploy",
            "-f",
            "shop/score.yaml",
            "--env",
            env,
            "--image",
            &format!("web={image}"),
        ])
    }

    /// `deploy` as by `deploy_cli`, with none of the CI's token variables.
    fn tokenless_deploy(&self, env: &str, image: &str) -> Cli {
        TOKEN_VARIABLES
            .iter()
            .fold(self.deploy_cli(env, image), |cli, variable| {
                cli.env_remove(variable)
            })
    }

    pub(crate) fn deploy(&self, env: &str, image: &str) -> Outcome {
        self.deploy_cli(env, image).run()
    }

    /// `history --env ENV --output json EXTRA…`, parsed.
    fn history(&self, env: &str, extra: &[&str]) -> Value {
        self.cli(&[&["history", "--env", env, "--output", "json"], extra].concat())
            .run()
            .json()
    }

    /// Installs `script` as the environment repository's pre-receive hook.
    fn hook(&self, script: &str) {
        let hook = self.repo().join("hooks/pre-receive");
        std::fs::write(&hook, script).unwrap();
        std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }

    /// git in the environment repository: its stdout.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        git(&self.repo(), args)
    }

    fn commits(&self) -> usize {
        self.git(&["rev-list", "--count", "main"])
            .trim()
            .parse()
            .unwrap()
    }

    /// The tip commit's author and message.
    fn last_commit(&self) -> String {
        self.git(&["log", "-1", "--format=%an <%ae>%n%B", "main"])
    }

    /// The repository's tip, checked out fresh.
    pub(crate) fn checkout(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        git(
            dir.path(),
            &[
                "clone",
                "--quiet",
                "--branch",
                "main",
                self.repo().to_str().unwrap(),
                ".",
            ],
        );
        dir
    }

    /// Whether `folder` holds a deployment at the repository's tip.
    pub(crate) fn holds(&self, folder: &str) -> bool {
        self.checkout()
            .path()
            .join(folder)
            .join(".scoreline/record.json")
            .exists()
    }

    /// The deployment record of `folder` at the repository's tip.
    fn record(&self, folder: &str) -> Value {
        let checkout = self.checkout();
        read_json(&checkout.path().join(folder).join(".scoreline/record.json"))
    }

    /// Commits to the environment repository what `edit` makes of a fresh checkout.
    fn commit_to(&self, message: &str, edit: impl FnOnce(&Path)) {
        let checkout = self.checkout();
        edit(checkout.path());
        git(checkout.path(), &["commit", "--quiet", "-am", message]);
        git(checkout.path(), &["push", "--quiet", "origin", "HEAD:main"]);
    }
}

/// The shop example's Score file and its config template, copied into `dir`.
fn copy_shop(dir: &Path) {
    for file in ["score.yaml", "config/shop.conf.tmpl"] {
        write_files(
            dir,
            &[(
                file,
                &std::fs::read_to_string(repo_root().join("examples/shop").join(file)).unwrap(),
            )],
        );
    }
}

/// Edits the record of `folder` in a checkout.
fn edit_record(checkout: &Path, folder: &str, edit: impl FnOnce(&mut Value)) {
    let path = checkout.join(folder).join(".scoreline/record.json");
    let mut record = read_json(&path);
    edit(&mut record);
    std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
}

/// A Score file of one nginx container named `name`, with `more` after it.
fn nginx_app(name: &str, more: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx:1.27\n{more}"
    )
}

/// A self-signed certificate for 127.0.0.1 (`cert.pem`, `key.pem` in `dir`), made with openssl.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=scoreline test git server"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(out.status.success(), "openssl: {}", text(&out.stderr));
    (cert, key)
}

/// The shop's first and second images in the deploys of `deployed_twice`.
const FIRST: &str =
    "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const SECOND: &str =
    "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A world with the shop deployed to staging with FIRST, then with SECOND; their records.
fn deployed_twice() -> (World, Value, Value) {
    let world = World::new();
    world.deploy("staging", FIRST).success();
    let first = world.record("staging/shop");
    world.deploy("staging", SECOND).success();
    let second = world.record("staging/shop");
    (world, first, second)
}

/// As `deployed_twice`, then staging rolled back (to FIRST); the first record.
fn rolled_back() -> (World, Value) {
    let (world, first, _) = deployed_twice();
    world
        .cli(&["rollback", "--env", "staging", "--app", "shop"])
        .run()
        .success();
    (world, first)
}
