//! Provenance: records and commits name the source repository, commit and CI run (GitHub
//! Actions, GitLab CI), the baseline's revision, and what rollbacks and promotions keep of it.

use serde_json::Value;

use super::World;
use crate::support::Cli;

const FIRST_COMMIT: &str = "1111111111111111111111111111111111111111";
const SECOND_COMMIT: &str = "2222222222222222222222222222222222222222";

/// GitHub Actions variables of a run of acme/shop at `commit`.
fn github_run(cli: Cli, commit: &str, run: &str) -> Cli {
    cli.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", commit)
        .env("GITHUB_RUN_ID", run)
        .env("GITHUB_ACTOR", "ada")
        .env("GITHUB_ACTOR_ID", "7")
}

/// GitLab CI variables of a job of ops/release (another repository than the source's).
fn gitlab_job(cli: Cli, job: &str, login: &str) -> Cli {
    cli.env("GITLAB_CI", "true")
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

/// The provenance of the first deploy by `deployed_by_github`.
fn first_source() -> Value {
    serde_json::json!({
        "repository": "https://github.example/acme/shop",
        "commit": FIRST_COMMIT,
        "run_url": "https://github.example/acme/shop/actions/runs/41",
        "actor": "ada",
        "system": "github",
    })
}

/// The shop deployed to `env` with `image` by run `run` of acme/shop at `commit`.
fn deploy_by_github(world: &World, env: &str, image: &str, commit: &str, run: &str) {
    github_run(world.deploy_cli(env, image), commit, run)
        .run()
        .success();
}

/// The shop deployed to staging by GitHub run 41 at FIRST_COMMIT: its record.
fn first_deploy_by_github(world: &World) -> Value {
    deploy_by_github(
        world,
        "staging",
        "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        FIRST_COMMIT,
        "41",
    );
    world.record("staging/shop")
}

/// A world with the shop deployed to staging by GitHub run 41 at FIRST_COMMIT, then by run 42 at
/// SECOND_COMMIT: the first record.
fn deployed_by_github() -> (World, Value) {
    let world = World::new();
    let first = first_deploy_by_github(&world);
    deploy_by_github(
        &world,
        "staging",
        "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222",
        SECOND_COMMIT,
        "42",
    );
    (world, first)
}

/// As `deployed_by_github`, then rolled back by GitLab job 77 of bob.
fn rolled_back_by_gitlab() -> (World, Value) {
    let (world, first) = deployed_by_github();
    let rollback = world.cli(&["rollback", "--env", "staging", "--app", "shop"]);
    gitlab_job(rollback, "77", "bob").run().success();
    (world, first)
}

#[test]
fn records_and_commits_name_the_source_and_run() {
    let world = World::new();
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    let first = first_deploy_by_github(&world);
    assert_eq!(first["provenance"], first_source());
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
    let message = world.last_commit();
    assert!(
        message
            .starts_with("ada <7+ada@users.noreply.github.com>\ndeploy shop to staging (sha256:")
            && message.contains(&format!(
                "\nsource: https://github.example/acme/shop @ {FIRST_COMMIT}\n"
            ))
            && message.contains("\nrun: https://github.example/acme/shop/actions/runs/41\n")
            && message.contains(&format!("\nrecord: {}\n", first["id"].as_str().unwrap())),
        "{message}"
    );
}

/// The baseline revision: the same baseline, the same revision; any change, another.
#[test]
fn the_baseline_revision_changes_with_the_baseline_only() {
    let (world, first) = deployed_by_github();
    let second = world.record("staging/shop");
    assert!(first["baseline"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(second["baseline"], first["baseline"]);
    assert_eq!(second["provenance"]["commit"], SECOND_COMMIT);
    let environments = world.work().join("platform/environments.yaml");
    let mut edited = std::fs::read_to_string(&environments).unwrap();
    edited.push_str("# reviewed\n");
    std::fs::write(&environments, edited).unwrap();
    deploy_by_github(
        &world,
        "pr-1",
        "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222",
        SECOND_COMMIT,
        "42",
    );
    assert_ne!(world.record("pr-1/shop")["baseline"], first["baseline"]);
}

/// A rollback by another run (GitLab) keeps the source, and names its own run and author.
#[test]
fn a_rollback_by_another_run_keeps_the_source_and_names_its_own_run() {
    let (world, _) = rolled_back_by_gitlab();
    let rolled = world.record("staging/shop");
    assert_eq!(rolled["kind"], "rollback");
    assert_eq!(rolled["provenance"], first_source());
    assert_eq!(
        rolled["run"],
        serde_json::json!({"actor": "bob", "run_url": "https://gitlab.example/ops/release/-/jobs/77", "system": "gitlab"})
    );
    let message = world.last_commit();
    assert!(
        message.starts_with("bob the releaser <bob@example.com>\nroll back shop to staging")
            && message.contains(&format!(
                "\nsource: https://github.example/acme/shop @ {FIRST_COMMIT}\n"
            ))
            && message.contains("\nrun: https://gitlab.example/ops/release/-/jobs/77\n"),
        "{message}"
    );
}

/// A promotion likewise: the original source commit, Score hash and images.
#[test]
fn a_promotion_keeps_the_original_source_score_and_images() {
    let (world, first) = rolled_back_by_gitlab();
    let promote = world.cli(&["promote", "--from", "staging", "--to", "production"]);
    gitlab_job(promote, "78", "carol").run().success();
    let promoted = world.record("production/shop");
    assert_eq!(promoted["kind"], "promote");
    assert_eq!(promoted["provenance"], first_source());
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
    let message = world.last_commit();
    assert!(
        message.starts_with("carol the releaser <carol@example.com>\npromote shop to production")
            && message.contains(&format!(
                "\nsource: https://github.example/acme/shop @ {FIRST_COMMIT}\n"
            ))
            && message.contains(&format!(
                "\nfrom: staging {}\n",
                first["id"].as_str().unwrap()
            )),
        "{message}"
    );
}
