//! Registries that hand out tokens (Docker's token auth spec): refused logins, and tokens that
//! run out during a push. The token server is a fake that follows the spec (401 with a JSON
//! error body on wrong credentials, `expires_in` and `exp` as it is told); the registry behind
//! it is real and checks every token.

use super::{base_context, build};
use crate::support::Cli;
use crate::support::registry::{Request, TestRegistry, TokenServer};

const USER: &str = "ci-bot";
const PASSWORD: &str = "token-auth-pw-8c1f";

fn with_login(cli: Cli, password: &str) -> Cli {
    cli.env("REGISTRY_USERNAME", USER)
        .env("REGISTRY_PASSWORD", password)
}

/// The token requests for pushing to `repository`.
fn push_grants(tokens: &TokenServer, repository: &str) -> usize {
    let scope = format!("repository:{repository}:pull,push");
    tokens
        .requests()
        .iter()
        .filter(|r| r[0] == USER && r.contains(&scope))
        .count()
}

#[test]
fn wrong_credentials_get_a_401_from_the_fake_token_server_and_the_build_says_what_to_check() {
    let tokens = TokenServer::start(USER, PASSWORD);
    let registry = TestRegistry::start_with_tokens(&tokens);
    let work = tempfile::tempdir().unwrap();
    base_context(work.path());
    let wrong = "wrong-password-5e2a";
    let tag = format!("{}/team/app:1", registry.host());
    let failed = with_login(build(work.path(), &["--tag", &tag]), wrong)
        .run()
        .fails(1);
    failed.stderr_has(&format!("registry {}", registry.host()));
    failed.stderr_has("help: check the credentials and their rights on the repository");
    for stream in [&failed.stdout, &failed.stderr] {
        assert!(
            !stream.contains(wrong) && !stream.contains(PASSWORD),
            "{stream}"
        );
    }
    let requests = tokens.requests();
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r[0] == format!("!{USER}")),
        "only refused logins: {requests:?}"
    );
    failed.stderr_has("incorrect username or password");
}

/// A build of `context` to `repository` (through `proxy_args`' proxy): the token requests for
/// pushing to it, and the proxy's log of what reached the registry.
fn push_through(
    tokens: &TokenServer,
    registry: &TestRegistry,
    repository: &str,
    proxy_args: &[&str],
) -> (usize, Vec<Request>) {
    let proxy = registry.proxy(proxy_args);
    let work = tempfile::tempdir().unwrap();
    base_context(work.path());
    let tag = format!("{}/{repository}:1", proxy.host());
    with_login(build(work.path(), &["--tag", &tag]), PASSWORD)
        .run()
        .success();
    (push_grants(tokens, repository), proxy.requests())
}

/// Under tokens valid for `lifetime` seconds, a push to `team/first` as usual, then one to
/// `team/app` through a proxy that injects `fault`: the token requests for each push, what
/// reached the registry the second time, and the token server.
fn usual_then_faulted(lifetime: u32, fault: &str) -> (usize, usize, Vec<Request>, TokenServer) {
    let tokens = TokenServer::start_with(USER, PASSWORD, lifetime);
    let registry = TestRegistry::start_with_tokens(&tokens);
    let (usual, _) = push_through(&tokens, &registry, "team/first", &[]);
    let (grants, requests) = push_through(&tokens, &registry, "team/app", &[fault]);
    (usual, grants, requests, tokens)
}

/// docker-registry accepts a token for 60 s past its `exp` (clock leeway), so the refusal a
/// registry gives a token that ran out is the proxy's here: one 401 on the manifest upload.
#[test]
fn a_token_refused_mid_push_is_fetched_again_once_and_the_push_lands_fake_token_server() {
    let (usual, grants, requests, tokens) = usual_then_faulted(300, "--fail=PUT:/manifests/:401:1");
    assert_eq!(grants, usual + 1, "{:?}", tokens.requests());
    let puts: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/manifests/"))
        .map(|r| r.status.as_str())
        .collect();
    assert_eq!(puts, ["401", "201"], "{requests:#?}");
}

/// Tokens valid for one second, and a push that takes longer (its manifest upload meets five
/// 503s, retried with backoff): the token that ran out by its `exp` is not sent again; a new
/// one is fetched before the manifest goes up.
#[test]
fn a_token_that_runs_out_during_a_push_is_replaced_fake_token_server() {
    let (usual, grants, requests, tokens) = usual_then_faulted(1, "--fail=PUT:/manifests/:503:5");
    assert!(grants > usual, "{usual} {grants} {:?}", tokens.requests());
    assert!(
        !requests
            .iter()
            .any(|r| r.user == "bearer" && r.status == "401"),
        "no request went with a token that ran out: {requests:#?}"
    );
}
