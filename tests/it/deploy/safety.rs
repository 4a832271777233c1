//! What a deploy never touches: folders outside its own (names that are paths, records that name
//! paths, symbolic links), the caller's source repository; and delivery paths that could not
//! keep apps or environments apart, refused where they are written.

use super::{ENVIRONMENTS, World, edit_record};
use crate::support::git::git;
use crate::support::{files_below, write_files};

#[test]
fn an_app_or_environment_name_that_is_a_path_is_refused_and_no_other_folder_is_touched() {
    let world = World::new();
    world.deploy("staging", "x:1").success();
    world.deploy("pr-7", "x:1").success();
    let before = world.commits();
    let refused = [
        // Past the preview's folder into staging's: `destroy` of a preview needs no --force.
        world.cli(&["destroy", "--env", "pr-7", "--app", "../staging/shop"]),
        world.cli(&["rollback", "--env", "pr-7", "--app", "../staging/shop"]),
        world.cli(&["history", "--env", "pr-7", "--app", "../../.."]),
        world.cli(&["diff", "--env", "pr-7", "--app", "../x", "--from", "00"]),
        world.deploy_cli("pr-../../x", "x:1"),
    ];
    for command in refused {
        let out = command.run().fails(2);
        let stderr = &out.stderr;
        assert!(
            stderr.contains("must be lowercase letters, digits and '-'")
                || stderr.contains("environment `pr-../../x` is not defined"),
            "{stderr}"
        );
    }
    assert_eq!(world.commits(), before);
    assert!(world.holds("staging/shop"));
}

/// Nor does a record that names a path as its app lead a teardown there.
#[test]
fn a_record_naming_a_path_as_its_app_does_not_lead_a_teardown_there() {
    let world = World::new();
    world.deploy("staging", "x:1").success();
    world.deploy("pr-7", "x:1").success();
    world.commit_to("a record naming a path", |checkout| {
        edit_record(checkout, "pr-7/shop", |record| {
            record["app"] = "../staging/shop".into()
        });
    });
    let said = world
        .cli(&["destroy", "--env", "pr-7"])
        .run()
        .success()
        .stderr;
    assert!(said.contains("nothing to remove"), "{said}");
    assert!(world.holds("staging/shop"));
}

#[test]
fn a_symbolic_link_in_the_environment_repository_never_leads_a_deploy_outside_its_clone() {
    let world = World::new();
    let victim = world.dir.path().join("victim");
    write_files(&victim, &[("shop/keep.txt", "not scoreline's")]);
    world.deploy("staging", "x:1").success();
    world.commit_to("a link out of the repository", |checkout| {
        std::os::unix::fs::symlink(&victim, checkout.join("pr-9")).unwrap();
        git(checkout, &["add", "pr-9"]);
    });
    let out = world.deploy("pr-9", "x:1").fails(1);
    out.stderr_has(&format!(
        "cannot write {} (main) pr-9/shop/",
        world.repo().display()
    ))
    .stderr_has("a file or a symbolic link in the repository");
    assert_eq!(
        std::fs::read_to_string(victim.join("shop/keep.txt")).unwrap(),
        "not scoreline's"
    );
    assert_eq!(files_below(&victim, &|_| true).len(), 1);
    // The link itself is kept as it was by the deploys that succeed.
    world.deploy("staging", "x:2").success();
    let checkout = world.checkout();
    assert!(checkout.path().join("pr-9").is_symlink());
}

/// Run from a hook of the source repository, where git sets GIT_DIR: the environment
/// repository still gets the commit, the source repository none.
#[test]
fn the_callers_git_dir_does_not_redirect_the_clone() {
    let world = World::new();
    let source = world.work().join(".git");
    world
        .deploy_cli("staging", "x:1")
        .env("GIT_DIR", &source)
        .env("GIT_WORK_TREE", world.work())
        .run()
        .success();
    assert_eq!(world.commits(), 1);
    let source_commits = git(&world.work(), &["rev-list", "--all", "--count"]);
    assert_eq!(source_commits.trim(), "0");
}

/// A world whose throwaway environment delivers to `{env}` (no app) and whose preview pattern to
/// `previews/{app}` (no env).
fn ambiguous_delivery_paths() -> World {
    let world = World::new();
    world.set_environments(
        &ENVIRONMENTS
            .replace(
                "namespace: scratch\n    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }",
                "namespace: scratch\n    delivery: { kind: git, repo: ../env.git, path: \"{env}\" }",
            )
            .replace(
                "ttl: 72h\n    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }",
                "ttl: 72h\n    delivery: { kind: git, repo: ../env.git, path: \"previews/{app}\" }",
            ),
    );
    world
}

#[test]
fn a_delivery_path_without_app_or_a_preview_path_without_env_is_a_located_error() {
    let world = ambiguous_delivery_paths();
    let out = crate::support::Cli::new(["baseline", "validate", "platform"])
        .dir(world.work())
        .run()
        .fails(2);
    out.stderr_has("platform/environments.yaml:15:52: error: delivery path `{env}` of environment `throwaway` has no {app}");
    out.stderr_has("platform/environments.yaml:25:52: error: delivery path `previews/{app}` of environment `pr-{n}` has no {env}");
    out.stderr_has("path: \"{env}/{app}\"");
}

/// A deploy is refused the same way, before anything is pushed.
#[test]
fn a_deploy_to_a_delivery_path_without_app_is_refused_before_anything_is_pushed() {
    let world = ambiguous_delivery_paths();
    world.deploy("throwaway", "x:1").fails(2);
    assert_eq!(world.git(&["for-each-ref"]), "");
}
