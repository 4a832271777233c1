//! Registry credentials: from the environment, GitLab's variables, Docker's config (auths,
//! credHelpers, credsStore with fake helpers following their protocol); never printed, and never
//! sent to another registry than the one they are for.

use std::path::Path;

use super::{app_context, base_context, build, chmod, inspect_with};
use crate::support::registry::TestRegistry;
use crate::support::{base64, write_files};

/// A Docker config folder `dir` with a login (`auths`) for `host`.
fn docker_login(dir: &Path, host: &str, user: &str, password: &str) {
    let auth = base64(format!("{user}:{password}").as_bytes());
    write_files(
        dir,
        &[(
            "config.json",
            &format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"{auth}\"}}}}}}"),
        )],
    );
}

/// A registry that wants `user`/`password`, and a context to push to it.
fn login_registry(user: &str, password: &str) -> (TestRegistry, tempfile::TempDir) {
    let registry = TestRegistry::start_with_login(user, password);
    let work = tempfile::tempdir().unwrap();
    app_context(&work.path().join("ctx"), "scratch");
    (registry, work)
}

#[test]
fn wrong_credentials_are_refused_with_what_to_check_and_never_printed() {
    let (user, password) = ("ci-bot", "pa55-W0rd-never-shown");
    let (registry, work) = login_registry(user, password);
    let host = registry.host();
    let wrong = build(
        &work.path().join("ctx"),
        &["--tag", &format!("{host}/a/b:1")],
    )
    .env("REGISTRY_USERNAME", user)
    .env("REGISTRY_PASSWORD", "wrong-password")
    .run()
    .fails(1);
    let stderr = &wrong.stderr;
    wrong
        .stderr_has("401")
        .stderr_has("help: check the credentials");
    assert!(!stderr.contains("wrong-password") && !wrong.stdout.contains("wrong-password"));
}

#[test]
fn credentials_come_from_the_environment_and_docker_config_and_are_never_printed() {
    let (user, password) = ("ci-bot", "pa55-W0rd-never-shown");
    let (registry, work) = login_registry(user, password);
    let context = work.path().join("ctx");
    let host = registry.host();
    let via_env = build(&context, &["--tag", &format!("{host}/a/b:1")])
        .env("REGISTRY_USERNAME", user)
        .env("REGISTRY_PASSWORD", password)
        .run()
        .success();
    let via_gitlab = build(&context, &["--tag", &format!("{host}/a/c:1")])
        .env("CI_REGISTRY", &host)
        .env("CI_REGISTRY_USER", user)
        .env("CI_REGISTRY_PASSWORD", password)
        .run()
        .success();
    let docker_config = work.path().join("docker");
    docker_login(&docker_config, &host, user, password);
    let via_docker = build(&context, &["--tag", &format!("{host}/a/d:1")])
        .env("DOCKER_CONFIG", &docker_config)
        .run()
        .success();
    for out in [&via_env, &via_gitlab, &via_docker] {
        assert!(!out.all().contains(password));
    }
    inspect_with(&format!("{host}/a/d:1"), user, password);
}

/// A fake `docker-credential-NAME` in `bin` following the docker-credential-helpers protocol:
/// `get` reads the server on stdin and prints its credentials as JSON (for `host` only; any
/// other server is "not found", exit 1); every server asked for is appended to `log`.
fn fake_credential_helper(
    bin: &Path,
    name: &str,
    host: &str,
    user: &str,
    secret: &str,
    log: &Path,
) {
    write_files(
        bin,
        &[(
            &format!("docker-credential-{name}"),
            &format!(
                "#!/bin/sh
[ \"$1\" = get ] || exit 1
read -r server
echo \"$server\" >> '{log}'
if [ \"$server\" = '{host}' ]; then
  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"
else
  echo 'credentials not found in native keychain'
  exit 1
fi
",
                log = log.display()
            ),
        )],
    );
    chmod(&bin.join(format!("docker-credential-{name}")), 0o755);
}

#[test]
fn credentials_come_from_credhelpers_before_auths_and_from_credsstore_fake_credential_helpers() {
    let (user, password) = ("helper-bot", "helper-pw-never-shown");
    let registry = TestRegistry::start_with_login(user, password);
    let host = registry.host();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("ctx");
    app_context(&context, "scratch");
    let bin = work.path().join("bin");
    let log = work.path().join("helpers.log");
    fake_credential_helper(&bin, "per-host", &host, user, password, &log);
    fake_credential_helper(&bin, "store", &host, user, password, &log);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let push = |config: &str, repository: &str| {
        let dir = work.path().join(repository);
        write_files(&dir, &[("config.json", config)]);
        build(&context, &["--tag", &format!("{host}/{repository}:1")])
            .env("DOCKER_CONFIG", &dir)
            .env("PATH", &path)
            .run()
    };
    let wrong = base64(format!("{user}:wrong").as_bytes());
    // Docker asks a host's credHelpers entry before its auths entry.
    let helped = push(
        &format!(
            "{{\"auths\":{{\"{host}\":{{\"auth\":\"{wrong}\"}}}},\"credHelpers\":{{\"{host}\":\"per-host\"}}}}"
        ),
        "helped",
    )
    .success();
    let stored = push("{\"credsStore\":\"store\"}", "stored").success();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{host}\n{host}\n"),
        "each helper was asked for the registry's host"
    );
    for out in [&helped, &stored] {
        assert!(!out.all().contains(password));
    }
    for repository in ["helped", "stored"] {
        inspect_with(&format!("{host}/{repository}:1"), user, password);
    }
    // A store that knows nothing of the host: anonymous, refused with what to do.
    let unknown = push("{\"credsStore\":\"missing\"}", "unknown").fails(1);
    unknown.stderr_has("help: check the credentials");
}

/// REGISTRY_USERNAME/REGISTRY_PASSWORD are for the registry pushed to: the base image's registry
/// (here one that wants other credentials, from Docker's config) never sees them.
#[test]
fn push_credentials_from_the_environment_never_reach_the_base_image_registry() {
    let (pusher, push_password) = ("ci-bot", "push-secret-only-for-the-target");
    let target = TestRegistry::start_with_login(pusher, push_password);
    let (reader, read_password) = ("reader", "base-reader-pw");
    let base_registry = TestRegistry::start_with_login(reader, read_password);
    let base_proxy = base_registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("base");
    base_context(&base);
    let base_tag = format!("{}/platform/base:1", base_proxy.host());
    build(&base, &["--tag", &base_tag])
        .env("REGISTRY_USERNAME", reader)
        .env("REGISTRY_PASSWORD", read_password)
        .run()
        .success();

    let docker_config = work.path().join("docker");
    docker_login(&docker_config, &base_proxy.host(), reader, read_password);
    let app = work.path().join("app");
    app_context(&app, &base_tag);
    base_proxy.clear();
    let tag = format!("{}/acme/app:1", target.host());
    build(&app, &["--tag", &tag])
        .env("REGISTRY_USERNAME", pusher)
        .env("REGISTRY_PASSWORD", push_password)
        .env("DOCKER_CONFIG", &docker_config)
        .run()
        .success();
    let users: Vec<String> = base_proxy.requests().into_iter().map(|r| r.user).collect();
    assert!(
        users.iter().any(|u| u == reader),
        "the base registry got its own credentials: {users:?}"
    );
    assert!(
        !users.iter().any(|u| u == pusher),
        "the push credentials reached the base registry: {users:?}"
    );
    inspect_with(&tag, pusher, push_password);
}
