//! GitLab: the fake answers as GitLab's REST API documentation shows.

use serde_json::json;

use super::{Fake, TOKEN};
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
