//! Preview environments (`pr-{n}`): their own namespace and expiry, `destroy`, and `gc` of the
//! expired ones, even racing a deploy.

use super::{World, edit_record};
use crate::support::lib::timestamp;
use crate::support::object;

#[test]
fn a_preview_environment_gets_its_own_namespace_and_an_expiry() {
    let world = World::new();
    world.deploy("pr-7", "x:1").success();
    let record = world.record("pr-7/shop");
    assert_eq!(record["namespace"], "shop-pr-7");
    assert!(record["expires"].is_string());
    let checkout = world.checkout();
    assert_eq!(
        object(&checkout.path().join("pr-7/shop"), "Deployment", "shop")["metadata"]["namespace"],
        "shop-pr-7"
    );
}

/// A world with the shop deployed to staging and to the `previews`.
fn staging_and(previews: &[&str]) -> World {
    let world = World::new();
    for env in [&["staging"], previews].concat() {
        world.deploy(env, "x:1").success();
    }
    world
}

#[test]
fn destroy_removes_a_preview_and_refuses_another_environment_without_force() {
    let world = staging_and(&["pr-7", "pr-8"]);
    // Only previews without --force: staging's folder stays, and nothing is committed.
    let (commits, head) = (world.commits(), world.git(&["rev-parse", "main"]));
    world
        .cli(&["destroy", "--env", "staging"])
        .run()
        .fails(2)
        .stderr_has("--force");
    assert_eq!(
        (world.commits(), world.git(&["rev-parse", "main"])),
        (commits, head)
    );
    assert!(world.holds("staging/shop"));
    assert!(
        world
            .cli(&["destroy", "--env", "pr-7"])
            .run()
            .success()
            .stderr
            .contains("destroyed pr-7: removed shop")
    );
    let checkout = world.checkout();
    assert!(!checkout.path().join("pr-7").exists() && checkout.path().join("pr-8/shop").exists());
}

/// Not yet expired (ttl 72h); everything older than nothing is.
#[test]
fn gc_removes_expired_previews_only() {
    let world = staging_and(&["pr-8"]);
    let gc = |args: &[&str]| world.cli(args).run().success().stderr;
    assert!(gc(&["gc"]).contains("no expired preview environments"));
    let dry = gc(&["gc", "--older-than", "0s", "--dry-run"]);
    assert!(dry.contains("would remove pr-8/shop"), "{dry}");
    assert!(world.checkout().path().join("pr-8/shop").exists());
    let removed = gc(&["gc", "--older-than", "0s"]);
    assert!(removed.contains("removed pr-8/shop"), "{removed}");
    let checkout = world.checkout();
    assert!(!checkout.path().join("pr-8").exists());
    assert!(
        checkout
            .path()
            .join("staging/shop/.scoreline/record.json")
            .exists(),
        "only previews are collected"
    );
}

#[test]
fn gc_does_not_remove_a_preview_deployed_again_while_it_pushes() {
    let world = World::new();
    world.deploy("pr-8", "x:1").success();
    world.deploy("pr-9", "x:1").success();
    // Both last deployed four days ago: past the pattern's ttl (72h).
    let old =
        timestamp(std::time::SystemTime::now() - std::time::Duration::from_secs(4 * 24 * 3600));
    world.commit_to("age the previews", |checkout| {
        for folder in ["pr-8/shop", "pr-9/shop"] {
            edit_record(checkout, folder, |record| {
                record["time"] = old.as_str().into()
            });
        }
    });
    // While gc's first push waits in the hook, pr-8 is deployed again and lands first.
    let now = timestamp(std::time::SystemTime::now());
    let redeploy = world.dir.path().join("redeploy");
    world.hook(&format!(
            "#!/bin/sh\nread old new ref\ngit log -1 --format=%s \"$new\" | grep -q '^gc:' || exit 0\n\
             [ -e {marker} ] && exit 0\n: > {marker}\n\
             unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_DIR\n\
             git clone --quiet {repo} {redeploy} && cd {redeploy} &&\n\
             sed -i 's/\"time\": \"[^\"]*\"/\"time\": \"{now}\"/' pr-8/shop/.scoreline/record.json &&\n\
             git -c user.name=t -c user.email=t@t commit --quiet -am 'deploy shop to pr-8' &&\n\
             git push --quiet origin HEAD:main\n",
            marker = world.dir.path().join("hook-ran").display(),
            repo = world.repo().display(),
            redeploy = redeploy.display(),
        ));

    let said = world.cli(&["gc"]).run().success().stderr;
    assert!(
        world.dir.path().join("hook-ran").exists(),
        "the race was not staged"
    );
    assert!(
        said.contains("removed pr-9/shop") && !said.contains("pr-8"),
        "{said}"
    );
    let checkout = world.checkout();
    assert!(
        checkout
            .path()
            .join("pr-8/shop/.scoreline/record.json")
            .exists(),
        "the new deployment of pr-8 was removed"
    );
    assert!(!checkout.path().join("pr-9").exists());
    let subjects = world.git(&["log", "--format=%s", "main"]);
    assert!(
        subjects.starts_with("gc: remove expired previews pr-9/shop\n"),
        "the commit names what it removed: {subjects}"
    );
}
