//! What a deploy commits: one commit with a record of what was deployed, none when nothing
//! changed, images marked pinned or not, and outputs for later CI steps.

use super::{FIRST, World};
use crate::support::git::git;

#[test]
fn a_deploy_commits_a_record_of_what_it_deployed() {
    let world = World::new();
    let said = world.deploy("staging", FIRST).success().stderr;
    assert!(said.contains("deployed shop to staging: sha256:"), "{said}");
    assert_eq!(world.commits(), 1);
    let first = world.record("staging/shop");
    assert_eq!(first["kind"], "deploy");
    assert_eq!(first["images"][0]["image"], FIRST);
    assert!(
        first["workloads"][0]["score"]
            .as_str()
            .unwrap()
            .contains("name: shop")
    );
    assert_eq!(first["workloads"][0]["file"], "shop/score.yaml");
}

#[test]
fn the_same_output_again_commits_nothing() {
    let world = World::new();
    world.deploy("staging", FIRST).success();
    let again = world.deploy("staging", FIRST).success().stderr;
    assert!(again.contains("unchanged:"), "{again}");
    assert_eq!(world.commits(), 1);
}

#[test]
fn an_image_tag_not_pinned_by_digest_is_warned_about_and_marked_in_the_record() {
    let world = World::new();
    let said = world
        .deploy("staging", "ghcr.io/acme/shop:1.4")
        .success()
        .stderr;
    assert!(
        said.contains("warning: container `shop.web` runs `ghcr.io/acme/shop:1.4`, which is not pinned by digest: the cluster, and `promote` later, will re-resolve this tag")
            && said.contains("name@sha256:…` output with --image"),
        "{said}"
    );
    assert_eq!(world.record("staging/shop")["images"][0]["pinned"], false);
}

#[test]
fn an_image_pinned_by_digest_is_not_warned_about_and_marked_pinned() {
    let world = World::new();
    let pinned =
        "ghcr.io/acme/shop@sha256:4444444444444444444444444444444444444444444444444444444444444444";
    let said = world.deploy("staging", pinned).success().stderr;
    assert!(!said.contains("not pinned"), "{said}");
    let images = &world.record("staging/shop")["images"][0];
    assert_eq!(
        (&images["image"], &images["pinned"]),
        (&pinned.into(), &true.into())
    );
}

#[test]
fn an_unchanged_deploy_names_the_commit_that_already_holds_it() {
    let world = World::new();
    let deploy = |outputs: &str| {
        let path = world.dir.path().join(outputs);
        world
            .deploy_cli("throwaway", "x:1")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &path)
            .run()
            .success();
        std::fs::read_to_string(path).unwrap()
    };
    let first = deploy("first");
    let head = git(&world.repo(), &["rev-parse", "main"]);
    assert!(first.contains(&format!("revision={head}")), "{first}");
    let second = deploy("second");
    assert!(
        second.contains("status=unchanged\n") && second.contains(&format!("revision={head}")),
        "{second}"
    );
}

#[test]
fn step_outputs_reach_later_ci_steps() {
    let world = World::new();
    let outputs = world.dir.path().join("github-output");
    let dotenv = world.dir.path().join("deploy.env");
    world
        .deploy_cli("throwaway", "x:1")
        .arg("--dotenv")
        .arg(&dotenv)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .run()
        .success();
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

/// On a GitHub runner the test process itself has `GITHUB_OUTPUT` (and every other variable of
/// the job): a test's deploy must not append to the real step's outputs, nor see anything else
/// of the runner's. The test binary runs `a_deploy_on_a_runner_keeps_to_itself` again with such
/// an environment, and the runner's file must not appear.
#[test]
fn tests_never_write_into_the_runners_step_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("runner-github-output");
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "deploy::records::a_deploy_on_a_runner_keeps_to_itself",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("SCORELINE_RUNNER_CHECK", "1")
        .output()
        .unwrap();
    let said = crate::support::text(&run.stdout) + &crate::support::text(&run.stderr);
    assert!(
        run.status.success() && said.contains("1 passed"),
        "the inner test ran and passed:\n{said}"
    );
    assert!(
        !outputs.exists(),
        "a test wrote into the runner's step outputs: {:?}",
        std::fs::read_to_string(&outputs)
    );
}

/// Run by `tests_never_write_into_the_runners_step_outputs`, in a runner's environment: a
/// GitHub deploy that, like many tests, does not set `GITHUB_OUTPUT` itself.
#[test]
#[ignore = "run by tests_never_write_into_the_runners_step_outputs"]
fn a_deploy_on_a_runner_keeps_to_itself() {
    assert!(
        std::env::var_os("SCORELINE_RUNNER_CHECK").is_some(),
        "only meaningful when run by tests_never_write_into_the_runners_step_outputs"
    );
    let world = World::new();
    world
        .deploy_cli("throwaway", "x:1")
        .env("GITHUB_ACTIONS", "true")
        .run()
        .success();
}
