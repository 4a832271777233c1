//! GitLab: the fake answers as GitLab's REST API documentation shows.

use serde_json::json;

use super::{Fake, TOKEN, form_body, no_secret_sent, pull_request_environments};
use crate::deploy::World;
use crate::support::Cli;

fn gitlab_deploy(world: &World, fake: &Fake, image: &str) -> Cli {
    world
        .deploy_cli("throwaway", image)
        .env("GITLAB_CI", "true")
        .env("CI_API_V4_URL", format!("{}/api/v4", fake.url()))
        .env("CI_PROJECT_ID", "7")
        .env("CI_MERGE_REQUEST_IID", "5")
        .env("CI_COMMIT_SHA", "a91957a858320c0e17f3a0eca7cfacbff50ea29a")
        .env("CI_COMMIT_REF_NAME", "feature")
        .env(
            "CI_JOB_URL",
            "https://gitlab.example.com/acme/shop/-/jobs/9",
        )
}

/// A merge request note created once then edited (pages of 100), and a deployment running then
/// successful; with only CI_JOB_TOKEN, a warning says what to set.
#[test]
fn note_and_deployment_on_the_gitlab_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "project_7_bot", "seed_comments": 120}));
    for image in ["nginx:1.27", "nginx:1.28"] {
        gitlab_deploy(&world, &fake, image)
            .env("GITLAB_TOKEN", TOKEN)
            .args(["--comment", "--deployment"])
            .run()
            .success();
    }
    assert_eq!(
        fake.calls("POST", "/api/v4/projects/7/merge_requests/5/notes")
            .len(),
        1
    );
    let edits = fake.calls("PUT", "/api/v4/projects/7/merge_requests/5/notes/");
    assert_eq!(edits.len(), 1, "{:?}", fake.requests());
    assert_eq!(edits[0].auth, TOKEN, "PRIVATE-TOKEN");
    assert!(
        fake.calls("GET", "/notes")
            .iter()
            .any(|r| r.path.contains("page=2"))
    );
    let created = fake.calls("POST", "/api/v4/projects/7/deployments");
    assert_eq!(created.len(), 2);
    assert!(
        created[0].body.contains("status=running"),
        "{}",
        created[0].body
    );
    let finished = fake.calls("PUT", "/api/v4/projects/7/deployments/");
    assert!(finished.iter().all(|r| r.body.contains("status=success")));
    for request in fake.requests() {
        assert!(!request.body.contains(TOKEN));
    }

    gitlab_deploy(&world, &fake, "nginx:1.29")
        .env("CI_JOB_TOKEN", "job-token-value-123")
        .arg("--comment")
        .run()
        .success()
        .stderr_has("only CI_JOB_TOKEN is set");
}

/// `mode: pull-request` on GitLab: no merge request while the branch already holds the
/// deployment; then the branch pushed (the target untouched) and one merge request opened with
/// auto-merge asked for, updated (PUT) on the next deploy instead of opened again, and `--wait`
/// reporting the merge commit once GitLab says merged.
#[test]
fn merge_request_delivery_opens_once_then_updates_on_the_gitlab_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "project_7_bot", "merge_after": 1}));
    world.deploy("throwaway", "nginx:1.27").success();
    let main = world.git(&["rev-parse", "main"]);
    pull_request_environments(
        &world,
        &format!(
            "kind: gitlab, project: group/env, api: \"{}/api/v4\"",
            fake.url()
        ),
        ", auto_merge: true",
    );
    let deploy = |image: &str| {
        gitlab_deploy(&world, &fake, image)
            .env("GITLAB_TOKEN", TOKEN)
            .env("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop")
    };

    deploy("nginx:1.27").run().success().stderr_has("unchanged");
    assert!(
        fake.calls("GET", "/merge_requests").is_empty(),
        "no merge request when nothing changed: {:?}",
        fake.requests()
    );

    let opened = deploy("nginx:1.28").run().success();
    opened.stderr_has("proposed shop for throwaway");
    assert_eq!(world.git(&["rev-parse", "main"]), main, "main is untouched");
    let branch = world.git(&["log", "-1", "--format=%B", "scoreline/throwaway/shop"]);
    assert!(branch.contains("throwaway"), "{branch}");
    let listed = fake.calls("GET", "/api/v4/projects/group%2Fenv/merge_requests");
    assert_eq!(listed.len(), 1, "{:?}", fake.requests());
    for query in [
        "source_branch=scoreline%2Fthrowaway%2Fshop",
        "target_branch=main",
        "state=opened",
    ] {
        assert!(listed[0].path.contains(query), "{}", listed[0].path);
    }
    let created = fake.calls("POST", "/api/v4/projects/group%2Fenv/merge_requests");
    assert_eq!(created.len(), 1, "{:?}", fake.requests());
    assert_eq!(created[0].auth, TOKEN, "PRIVATE-TOKEN");
    let body = form_body(&created[0]);
    assert_eq!(body["source_branch"], "scoreline/throwaway/shop");
    assert_eq!(body["target_branch"], "main");
    assert!(
        body["title"].starts_with("Deploy shop to throwaway ("),
        "{}",
        body["title"]
    );
    let text = &body["description"];
    assert!(
        text.contains(
            "(https://gitlab.example.com/acme/shop/commit/a91957a858320c0e17f3a0eca7cfacbff50ea29a)"
        ) && text.contains("[CI run](https://gitlab.example.com/acme/shop/-/jobs/9)")
            && text.contains("Record: `"),
        "{text}"
    );
    let merges = fake.calls("PUT", "/api/v4/projects/group%2Fenv/merge_requests/1/merge");
    assert_eq!(merges.len(), 1, "auto-merge asked for");
    let merge = form_body(&merges[0]);
    assert_eq!(merge.get("auto_merge").map(String::as_str), Some("true"));
    assert_eq!(
        merge
            .get("merge_when_pipeline_succeeds")
            .map(String::as_str),
        Some("true"),
        "older GitLab versions read only the deprecated field"
    );
    assert!(
        fake.calls("GET", "/merge_requests/1").is_empty(),
        "not waited for without --wait"
    );

    let waited = deploy("nginx:1.29")
        .args(["--wait", "--wait-timeout", "20s"])
        .run()
        .success();
    assert_eq!(
        fake.calls("POST", "/merge_requests").len(),
        1,
        "updated, not opened again"
    );
    let edits = fake.calls("PUT", "/api/v4/projects/group%2Fenv/merge_requests/1");
    assert_eq!(edits.len(), 1, "{:?}", fake.requests());
    let edit = form_body(&edits[0]);
    assert!(edit["title"].starts_with("Deploy shop to throwaway ("));
    assert!(edit["description"].contains("nginx:1.29"), "{edit:?}");
    assert_ne!(edit["title"], body["title"], "a new record, a new title");
    waited.stderr_has("merged as 8b5ab4c8b1f3");
    assert_eq!(
        world.git(&["rev-parse", "main"]),
        main,
        "GitLab merges, not us"
    );

    for request in fake.requests() {
        assert_eq!(request.auth, TOKEN, "{request:?}");
    }
    let output = format!(
        "{}{}{}{}",
        opened.stdout, opened.stderr, waited.stdout, waited.stderr
    );
    no_secret_sent(&world, &fake, "throwaway/shop", &output);
}
