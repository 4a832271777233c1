//! The environment repository over the network and its failures: tokens sent as Basic auth over
//! HTTPS only (a local git smart-HTTP server), never along a redirect, never printed nor stored;
//! TLS always verified; pushes refused or cut off mid-way.

use std::path::Path;

use super::{TOKEN_VARIABLES, World, self_signed};
use crate::support::files_below;
use crate::support::git_server::GitServer;

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
    let server = GitServer::start(
        world.dir.path(),
        &credentials.join(" "),
        &[Path::new("--tls"), &cert, &key, Path::new("--scan"), &tmp],
    );
    let url = format!("https://127.0.0.1:{}/env.git", server.port);
    world.throwaway_at(&url);
    let deploy = |image: &str| {
        world
            .tokenless_deploy("throwaway", image)
            .env("TMPDIR", &tmp)
            .env("GIT_SSL_CAINFO", &cert)
    };

    // Without a token the server refuses: it really checks.
    deploy("x:0").run().fails(1);
    assert!(server.log().contains("auth=missing"), "{}", server.log());

    for (i, (variable, token, user)) in tokens.iter().enumerate() {
        let seen = server.log().len();
        let out = deploy(&format!("x:{}", i + 1))
            .env(variable, token)
            .run()
            .success();
        let all = out.all();
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
    let pushed = world.git(&["log", "-p", "--all", "--format=%an %ae %B"]);
    assert!(pushed.contains("deploy shop to throwaway"), "{pushed}");
    for (_, token, _) in tokens {
        assert!(!pushed.contains(token), "{pushed}");
        for file in files_below(&world.repo(), &|_| true) {
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
    let elsewhere = GitServer::start(
        world.dir.path(),
        &credentials,
        &[Path::new("--tls"), &cert, &key, Path::new("--open")],
    );
    let moved_to = format!("https://127.0.0.1:{}", elsewhere.port);
    let moved = GitServer::start(
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
    world.throwaway_at(&url);
    let out = world
        .tokenless_deploy("throwaway", "x:1")
        .env("GIT_TOKEN", token)
        .env("GIT_SSL_CAINFO", &cert)
        .run()
        .fails(1);
    let stderr = &out.stderr;
    out.stderr_has(&format!("environment repository {url} (main): `git clone"));
    out.stderr_has("the repository answered with a redirect (HTTP 302), which is not followed while a token is sent");
    out.stderr_has("put the repository's final URL (where it redirects to) in `delivery.repo` of environment `throwaway` (platform/environments.yaml:15:34)");
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
    assert_eq!(world.git(&["for-each-ref"]), "");
}

#[test]
fn a_token_is_not_sent_to_a_plain_http_repository_and_a_warning_says_why() {
    let world = World::new();
    let token = "ghp_PlainHttpTokenThatMustNotTravel";
    let server = GitServer::start(world.dir.path(), &format!("x-access-token:{token}"), &[]);
    let url = format!("http://127.0.0.1:{}/env.git", server.port);
    world.throwaway_at(&url);
    // The server wants the token, which was withheld: every command fails, and says why.
    let commands = [
        world.deploy_cli("throwaway", "x:1"),
        world.cli(&["history", "--env", "throwaway"]),
        world.cli(&["rollback", "--env", "throwaway", "--app", "shop"]),
    ];
    for command in commands {
        let out = TOKEN_VARIABLES
            .iter()
            .fold(command, |cli, variable| cli.env_remove(variable))
            .env("GIT_TOKEN", token)
            .run()
            .fails(1);
        let stderr = &out.stderr;
        out.stderr_has(&format!("platform/environments.yaml:15:34: warning: GIT_TOKEN is set but not sent to {url}: credentials go only over https"));
        out.stderr_has("an https:// repository URL");
        assert!(!stderr.contains(token), "{stderr}");
    }
    let log = server.log();
    assert!(!log.is_empty(), "git reached the server");
    assert!(
        log.lines().all(|l| l.contains("auth=missing")),
        "credentials were sent over http:\n{log}"
    );
}

/// A world whose throwaway environment is served over HTTPS (certificate `cert`, unknown to git
/// unless given) by a server that wants `token`.
fn served_over_https(token: &str) -> (World, GitServer, std::path::PathBuf, String) {
    let world = World::new();
    let (cert, key) = self_signed(world.dir.path());
    let server = GitServer::start(
        world.dir.path(),
        &format!("x-access-token:{token}"),
        &[Path::new("--tls"), &cert, &key],
    );
    let url = format!("https://127.0.0.1:{}/env.git", server.port);
    world.throwaway_at(&url);
    (world, server, cert, url)
}

/// A CI setting GIT_SSL_NO_VERIFY does not make scoreline trust an unknown certificate.
#[test]
fn the_callers_git_ssl_no_verify_does_not_turn_tls_verification_off() {
    let token = "ghp_TokenForAServerNotVerified";
    let (world, server, _, _) = served_over_https(token);
    let out = world
        .tokenless_deploy("throwaway", "x:1")
        .env("GIT_TOKEN", token)
        .env("GIT_SSL_NO_VERIFY", "1")
        .run()
        .fails(1);
    out.stderr_has("certificate");
    assert_eq!(
        server.log(),
        "",
        "no request passed an unverified connection"
    );
}

/// A password in the repository URL is masked in every message.
#[test]
fn a_password_in_the_repository_url_is_never_shown() {
    let (world, _server, cert, url) = served_over_https("ghp_TokenForAServerNotVerified");
    let password = "ghp_PasswordInTheUrl";
    let with_password = url.replace("https://", &format!("https://x-access-token:{password}@"));
    world.throwaway_at(&with_password);
    let out = world
        .tokenless_deploy("throwaway", "x:1")
        .env("GIT_SSL_CAINFO", &cert)
        .run()
        .fails(1);
    let all = out.all();
    assert!(
        all.contains("`git clone") && !all.contains(password),
        "{all}"
    );
}

#[test]
fn a_remote_that_disappears_mid_push_leaves_the_repository_unchanged_and_a_rerun_succeeds() {
    let world = World::new();
    world.deploy("staging", "ghcr.io/acme/shop:1").success();
    let before = world.git(&["rev-parse", "main"]);
    // The hook runs once the objects arrive, then the repository is gone.
    world.hook("#!/bin/sh\nmv \"$PWD\" \"$PWD.gone\"\nexit 1\n");
    let failed = world.deploy("staging", "ghcr.io/acme/shop:2").fails(1);
    failed
        .stderr_has("environment repository")
        .stderr_has("git push");
    // The repository comes back as it was: the failed push changed nothing.
    let gone = world.dir.path().join("env.git.gone");
    assert!(gone.exists() && !world.repo().exists());
    std::fs::rename(&gone, world.repo()).unwrap();
    std::fs::remove_file(world.repo().join("hooks/pre-receive")).unwrap();
    assert_eq!(world.git(&["rev-parse", "main"]), before);
    assert_eq!(world.commits(), 1);
    world.deploy("staging", "ghcr.io/acme/shop:2").success();
    assert_eq!(world.commits(), 2);
}

/// A deploy whose push a pre-receive hook declines, printing `message` (and counting its runs):
/// it fails at once, exit 1, after one push, and the repository is as it was.
fn declined_once(message: &str) -> crate::support::Outcome {
    let world = World::new();
    world.deploy("staging", "x:1").success();
    let before = world.commits();
    let runs = world.dir.path().join("hook-runs");
    world.hook(&format!(
        "#!/bin/sh\necho run >> {}\necho '{message}' >&2\nexit 1\n",
        runs.display()
    ));
    let out = world
        .deploy_cli("staging", "x:2")
        .limit(std::time::Duration::from_secs(60))
        .run()
        .fails(1);
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "run\n",
        "a refusal is not a lost race: one push, no retry"
    );
    assert_eq!(world.commits(), before);
    out
}

#[test]
fn a_push_refused_by_the_server_fails_at_once_with_its_reason() {
    // As GitHub refuses a push to a protected branch.
    let out = declined_once("GH006: Protected branch update failed for refs/heads/main.");
    out.stderr_has("`git push")
        .stderr_has("GH006: Protected branch update failed")
        .stderr_has("pre-receive hook declined");
}

/// Only git's own verdict on a ref makes a lost race: a hook whose message merely mentions one
/// (`non-fast-forward`, `fetch first`, `[rejected]`) is a refusal like any other.
#[test]
fn a_hook_that_talks_of_a_non_fast_forward_is_not_retried() {
    let out = declined_once("! [rejected] main (non-fast-forward): fetch first");
    out.stderr_has("non-fast-forward")
        .stderr_has("pre-receive hook declined");
}
