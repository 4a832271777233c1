//! Settings of the platform and the CI that change where and how a deployment lands: a git
//! delivery's `branch:`, `store_kind: SecretStore` for External Secrets, the git user from
//! `GIT_USERNAME`, and Jenkins provenance.

use std::path::Path;

use super::{ENVIRONMENTS, FIRST, World, self_signed};
use crate::support::git_server::GitServer;
use crate::support::object;

#[test]
fn a_git_delivery_with_a_branch_commits_there_and_leaves_main_alone() {
    let world = World::new();
    world.deploy("staging", FIRST).success();
    let main = world.git(&["rev-parse", "main"]);
    world.set_environments(&ENVIRONMENTS.replace(
        "namespace: scratch\n    delivery: { kind: git, repo: ../env.git,",
        "namespace: scratch\n    delivery: { kind: git, repo: ../env.git, branch: throwaway,",
    ));
    world.deploy("throwaway", FIRST).success();
    assert_eq!(world.git(&["rev-parse", "main"]), main, "main did not move");
    let listed = world.git(&["ls-tree", "-r", "--name-only", "throwaway"]);
    assert!(
        listed.contains("throwaway/shop/.scoreline/record.json"),
        "{listed}"
    );
    // The branch starts empty: it holds this deployment only, none of main's.
    assert!(!listed.contains("staging/"), "{listed}");
    let history = world.history("throwaway", &[]);
    assert_eq!(history[0]["folder"], "throwaway/shop", "{history:#}");
}

#[test]
fn store_kind_secret_store_names_a_namespaced_store_in_external_secrets() {
    let world = World::new();
    world.set_environments(&ENVIRONMENTS.replace(
        "secrets: { mode: external, store: vault }",
        "secrets: { mode: external, store: vault, store_kind: SecretStore }",
    ));
    world.deploy("production", FIRST).success();
    let external = object(
        &world.checkout().path().join("production/shop"),
        "ExternalSecret",
        "shop-secrets",
    );
    assert_eq!(
        external["spec"]["secretStoreRef"],
        serde_json::json!({"kind": "SecretStore", "name": "vault"})
    );
}

/// The server accepts the token only as user `deploy-bot`: GIT_USERNAME names it.
#[test]
fn git_username_is_the_user_the_token_is_sent_as() {
    let world = World::new();
    let (cert, key) = self_signed(world.dir.path());
    let token = "glpat-UserNamedTokenThatMustNotLeak";
    let server = GitServer::start(
        world.dir.path(),
        &format!("deploy-bot:{token}"),
        &[Path::new("--tls"), &cert, &key],
    );
    world.throwaway_at(&format!("https://127.0.0.1:{}/env.git", server.port));
    let deploy = |user: Option<&str>| {
        let cli = world
            .tokenless_deploy("throwaway", FIRST)
            .env("GIT_SSL_CAINFO", &cert)
            .env("GIT_TOKEN", token);
        match user {
            Some(user) => cli.env("GIT_USERNAME", user),
            None => cli,
        }
    };
    let refused = deploy(None).run().fails(1);
    assert!(!refused.all().contains(token));
    assert!(server.log().contains("auth=wrong"), "{}", server.log());
    let out = deploy(Some("deploy-bot")).run().success();
    assert!(!out.all().contains(token));
    assert!(world.holds("throwaway/shop"));
}

#[test]
fn a_jenkins_build_is_named_in_the_record_and_the_commit() {
    let world = World::new();
    world
        .deploy_cli("staging", FIRST)
        .env("JENKINS_URL", "https://jenkins.acme.test/")
        .env("BUILD_URL", "https://jenkins.acme.test/job/shop/7/")
        .env(
            "GIT_URL",
            "https://jenkins-bot:s3cr3t-in-url@git.acme.test/acme/shop.git",
        )
        .env("GIT_COMMIT", "3333333333333333333333333333333333333333")
        .env("BUILD_USER_ID", "grace")
        .env("GIT_AUTHOR_NAME", "Grace")
        .env("GIT_AUTHOR_EMAIL", "grace@acme.test")
        .run()
        .success();
    let record = world.record("staging/shop");
    assert_eq!(
        record["provenance"],
        serde_json::json!({
            "system": "jenkins",
            "repository": "https://git.acme.test/acme/shop.git",
            "commit": "3333333333333333333333333333333333333333",
            "run_url": "https://jenkins.acme.test/job/shop/7/",
            "actor": "grace",
        })
    );
    let commit = world.last_commit();
    assert!(
        commit.starts_with("Grace <grace@acme.test>\ndeploy shop to staging")
            && commit.contains("\nrun: https://jenkins.acme.test/job/shop/7/\n")
            && !commit.contains("s3cr3t-in-url"),
        "{commit}"
    );
}
