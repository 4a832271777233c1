//! GitHub: the fake answers with the examples of GitHub's OpenAPI description.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::{
    Fake, TOKEN, github_deploy, json_body, no_secret_sent, on_pull_request,
    pull_request_environments,
};
use crate::deploy::World;
use crate::support::repo_root;

/// One comment, created on the first deploy and edited on the next, found past the first page
/// of 150 comments, never taken from another author that quotes the marker.
#[test]
fn sticky_comment_is_created_once_then_edited_across_pages_on_the_github_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "scoreline-bot", "seed_comments": 150}));
    let first = github_deploy(&world, &fake, "nginx:1.27")
        .arg("--comment")
        .run()
        .success();
    let created = fake.calls("POST", "/repos/acme/shop/issues/2/comments");
    assert_eq!(created.len(), 1, "{:?}", fake.requests());
    assert_eq!(created[0].auth, format!("Bearer {TOKEN}"));
    let body = json_body(&created[0]);
    let text = body["body"].as_str().unwrap();
    assert!(
        text.starts_with("<!-- scoreline:deploy:throwaway -->\n"),
        "{text}"
    );
    assert!(
        text.contains("**shop** → **throwaway**: deployed"),
        "{text}"
    );
    let pages = fake.calls("GET", "/repos/acme/shop/issues/2/comments");
    assert_eq!(pages.len(), 2, "150 comments are two pages of 100");
    assert!(pages.iter().all(|p| p.path.contains("per_page=100")));

    let second = github_deploy(&world, &fake, "nginx:1.28")
        .arg("--comment")
        .run()
        .success();
    assert_eq!(
        fake.calls("POST", "/issues/2/comments").len(),
        1,
        "no second comment"
    );
    let edited = fake.calls("PATCH", "/repos/acme/shop/issues/comments/");
    assert_eq!(edited.len(), 1, "{:?}", fake.requests());
    assert!(
        json_body(&edited[0])["body"]
            .as_str()
            .unwrap()
            .contains("<!-- scoreline:deploy:throwaway -->")
    );
    assert!(
        !edited[0].path.ends_with("/comments/1004"),
        "the other author's comment with the marker is not ours"
    );
    let output = format!(
        "{}{}{}{}",
        first.stdout, first.stderr, second.stdout, second.stderr
    );
    no_secret_sent(&world, &fake, "throwaway/shop", &output);
}

/// A workflow's GITHUB_TOKEN has no user (`GET /user` is 403): its comments are found by the
/// bot author `github-actions[bot]`.
#[test]
fn workflow_token_comments_are_found_by_their_bot_author_on_the_github_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": null, "seed_comments": 5}));
    github_deploy(&world, &fake, "nginx:1.27")
        .arg("--comment")
        .run()
        .success();
    github_deploy(&world, &fake, "nginx:1.28")
        .arg("--comment")
        .run()
        .success();
    assert_eq!(fake.calls("GET", "/user").len(), 2);
    assert_eq!(fake.calls("POST", "/issues/2/comments").len(), 1);
    assert_eq!(fake.calls("PATCH", "/issues/comments/").len(), 1);
}

/// Rate limits (429 with retry-after; 403 with x-ratelimit-remaining 0 and a reset time) are
/// waited out and server errors retried: the comment is still posted, once.
#[test]
fn rate_limits_are_waited_out_and_server_errors_retried_on_the_github_fake() {
    let world = World::new();
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let fake = Fake::start(json!({"user": "scoreline-bot", "faults": [
        {"method": "GET", "path": "^/user$", "status": 429, "headers": {"retry-after": "1"}, "times": 1},
        {"method": "GET", "path": "/comments$", "status": 403, "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset.to_string()}, "times": 1},
        {"method": "POST", "path": "/comments$", "status": 502, "times": 2},
    ]}));
    let started = Instant::now();
    github_deploy(&world, &fake, "nginx:1.27")
        .arg("--comment")
        .run()
        .success();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the limits were waited out"
    );
    assert_eq!(fake.calls("GET", "/user").len(), 2);
    assert_eq!(fake.calls("GET", "/issues/2/comments").len(), 2);
    assert_eq!(
        fake.calls("POST", "/issues/2/comments").len(),
        3,
        "two 502s, then created"
    );
}

/// A forge call that fails for good is a warning: the deploy itself succeeds.
#[test]
fn a_failing_forge_call_is_a_warning_and_the_deploy_succeeds_on_the_github_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "scoreline-bot", "faults": [
        {"method": "POST", "path": "/deployments$", "status": 422, "times": 1},
        {"method": "POST", "path": "/comments$", "status": 500, "times": 9},
    ]}));
    let out = github_deploy(&world, &fake, "nginx:1.27")
        .args(["--deployment", "--comment"])
        .run()
        .success();
    out.stderr_has("deployment status not reported");
    out.stderr_has("comment for `throwaway` not posted");
    assert!(world.holds("throwaway/shop"));
    assert_eq!(fake.calls("POST", "/comments").len(), 5, "bounded retries");
}

/// `mode: pull-request`: no request while the branch already holds the deployment; then one
/// opened (auto-merge asked for), updated on the next deploy, and `--wait` reports the merge;
/// the deployment's statuses go in_progress → success, in order.
#[test]
fn pull_request_delivery_opens_once_then_updates_on_the_github_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "scoreline-bot", "merge_after": 1}));
    world.deploy("throwaway", "nginx:1.27").success();
    let main = world.git(&["rev-parse", "main"]);
    pull_request_environments(
        &world,
        &format!("kind: github, project: acme/env, api: \"{}\"", fake.url()),
        ", auto_merge: true",
    );

    github_deploy(&world, &fake, "nginx:1.27")
        .run()
        .success()
        .stderr_has("unchanged");
    assert!(
        fake.calls("GET", "/pulls").is_empty(),
        "no request when nothing changed"
    );

    let opened = github_deploy(&world, &fake, "nginx:1.28")
        .arg("--deployment")
        .run()
        .success();
    opened.stderr_has("proposed shop for throwaway");
    assert_eq!(world.git(&["rev-parse", "main"]), main, "main is untouched");
    let branch = world.git(&["log", "-1", "--format=%B", "scoreline/throwaway/shop"]);
    assert!(branch.contains("throwaway"), "{branch}");
    let created = fake.calls("POST", "/repos/acme/env/pulls");
    assert_eq!(created.len(), 1);
    let body = json_body(&created[0]);
    assert_eq!(body["head"], "scoreline/throwaway/shop");
    assert_eq!(body["base"], "main");
    let text = body["body"].as_str().unwrap();
    assert!(
        text.contains("0123456789ab")
            && text.contains("/actions/runs/42")
            && text.contains("sha256:"),
        "{text}"
    );
    assert_eq!(
        fake.calls("POST", "/graphql").len(),
        1,
        "auto-merge asked for"
    );
    let deployments = fake.calls("POST", "/repos/acme/shop/deployments");
    assert_eq!(
        json_body(&deployments[0])["ref"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(json_body(&deployments[0])["required_contexts"], json!([]));
    let states: Vec<String> = fake
        .calls("POST", "/statuses")
        .iter()
        .map(|r| json_body(r)["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
    let status = json_body(&fake.calls("POST", "/statuses")[1]);
    assert_eq!(
        status["log_url"],
        "https://github.com/acme/shop/actions/runs/42"
    );

    let waited = github_deploy(&world, &fake, "nginx:1.29")
        .args(["--wait", "--wait-timeout", "20s"])
        .run()
        .success();
    assert_eq!(
        fake.calls("POST", "/repos/acme/env/pulls").len(),
        1,
        "updated, not opened again"
    );
    assert_eq!(fake.calls("PATCH", "/repos/acme/env/pulls/1").len(), 1);
    waited.stderr_has("merged as e5bd3914e2e5");
    // But for the `::add-mask::` lines that tell the runner (reading stderr) what to hide.
    let output: String = format!("{}{}", opened.stderr, waited.stderr)
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    for request in fake.requests() {
        assert!(!request.body.contains(TOKEN));
    }
    assert!(!output.contains(TOKEN), "{output}");
}

/// `plan --comment` posts one comment per environment (each with its own marker) holding that
/// environment's plan, then edits both on the next push instead of adding more; its `changed`
/// output is set, and no secret of the planned render is in any request.
#[test]
fn plan_comments_once_per_environment_then_edits_them_on_the_github_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "scoreline-bot", "seed_comments": 3}));
    let steps = tempfile::tempdir().unwrap();
    let plan = |image: &str| {
        on_pull_request(world.plan_cli(&["staging", "production"], image), &fake)
            .env("GITHUB_OUTPUT", steps.path().join("output"))
            .arg("--comment")
            .run()
            .success()
    };
    let first = plan("nginx:1.27");
    let created = fake.calls("POST", "/repos/acme/shop/issues/2/comments");
    assert_eq!(created.len(), 2, "{:?}", fake.requests());
    for (request, env) in created.iter().zip(["staging", "production"]) {
        let text = json_body(request)["body"].as_str().unwrap().to_owned();
        assert!(
            text.starts_with(&format!("<!-- scoreline:plan:{env} -->\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("Plan for `shop` in `{env}`")),
            "{text}"
        );
        assert!(text.contains("<details>"), "the diff is collapsed: {text}");
        assert!(text.contains("nginx:1.27"), "{text}");
    }
    let output = std::fs::read_to_string(steps.path().join("output")).unwrap();
    assert!(output.contains("changed=true"), "{output}");

    let second = plan("nginx:1.28");
    assert_eq!(
        fake.calls("POST", "/issues/2/comments").len(),
        2,
        "none added"
    );
    let edited = fake.calls("PATCH", "/repos/acme/shop/issues/comments/");
    assert_eq!(edited.len(), 2, "{:?}", fake.requests());
    assert!(
        json_body(&edited[1])["body"]
            .as_str()
            .unwrap()
            .contains("nginx:1.28")
    );
    let mut secrets = world.staging_secrets();
    secrets.push(TOKEN.into());
    let said = format!(
        "{}{}{}{}",
        first.stdout, first.stderr, second.stdout, second.stderr
    );
    for secret in &secrets {
        assert!(
            fake.requests()
                .iter()
                .all(|r| !r.body.contains(secret.as_str())),
            "a secret in a request"
        );
        assert!(
            said.lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .all(|l| !l.contains(secret.as_str())),
            "a secret in the output"
        );
    }
}

/// Every answer the GitHub fake gives (on a comment created then edited, with a user token and a
/// workflow token's 403 from `GET /user`; a pull request listed, opened, auto-merged, updated and
/// read; a deployment and its statuses) validates against the schema GitHub's OpenAPI
/// description (npm `@octokit/openapi`) documents for that operation and status.
#[test]
fn github_fake_answers_match_the_openapi_description() {
    let description =
        repo_root().join(".ci/tools/node_modules/@octokit/openapi/generated/api.github.com.json");
    assert!(
        description.is_file(),
        "{} is missing: run `npm ci --prefix .ci/tools`",
        description.display()
    );
    let world = World::new();
    let fake = Fake::start(json!({"user": "scoreline-bot", "seed_comments": 3, "merge_after": 1}));
    world.deploy("throwaway", "nginx:1.27").success();
    pull_request_environments(
        &world,
        &format!("kind: github, project: acme/env, api: \"{}\"", fake.url()),
        ", auto_merge: true",
    );
    github_deploy(&world, &fake, "nginx:1.28")
        .args(["--comment", "--deployment"])
        .run()
        .success();
    github_deploy(&world, &fake, "nginx:1.29")
        .args(["--comment", "--wait", "--wait-timeout", "20s"])
        .run()
        .success();
    let workflow = Fake::start(json!({"user": null}));
    github_deploy(&world, &workflow, "nginx:1.30")
        .arg("--comment")
        .run()
        .success();

    let mut checked = Vec::new();
    for fake in [&fake, &workflow] {
        let out = std::process::Command::new("python3")
            .arg(repo_root().join("tests/support/github_openapi_check.py"))
            .arg(&description)
            .arg(fake.log_file())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "answers that drift from the OpenAPI description:\n{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.extend(said.lines().map(str::to_owned));
    }
    for operation in [
        "ok users/get-authenticated 200",
        "ok users/get-authenticated 403",
        "ok issues/list-comments 200",
        "ok issues/create-comment 201",
        "ok issues/update-comment 200",
        "ok pulls/list 200",
        "ok pulls/create 201",
        "ok pulls/update 200",
        "ok pulls/get 200",
        "ok repos/create-deployment 201",
        "ok repos/create-deployment-status 201",
        "not-rest POST /graphql",
    ] {
        assert!(
            checked.iter().any(|line| line == operation),
            "`{operation}` not among the checked answers: {checked:#?}"
        );
    }
}
