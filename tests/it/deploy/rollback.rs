//! `rollback`: a new commit whose content is an earlier deployment's.

use super::history::three_shop_deploys_and_another_app;
use super::{FIRST, World, deployed_twice};
use crate::support::{Outcome, object};

/// The image of the shop's Deployment in staging at the repository's tip.
fn staging_image(world: &World) -> serde_json::Value {
    object(
        &world.checkout().path().join("staging/shop"),
        "Deployment",
        "shop",
    )["spec"]["template"]["spec"]["containers"][0]["image"]
        .clone()
}

#[test]
fn rollback_commits_the_previous_deployment_again() {
    let (world, first, _) = deployed_twice();
    let rolled = world
        .cli(&["rollback", "--env", "staging", "--app", "shop"])
        .run()
        .success()
        .stderr;
    assert!(rolled.contains("rolled back shop to staging"), "{rolled}");
    assert_eq!(world.commits(), 3);
    let current = world.record("staging/shop");
    assert_eq!(current["id"], first["id"]);
    assert_eq!(current["kind"], "rollback");
    assert_eq!(current["from"]["id"], first["id"]);
    assert_eq!(staging_image(&world), FIRST);
}

/// `rollback` of the shop in staging `--to` a deployment given by an id prefix.
fn rollback_to(world: &World, to: &str) -> Outcome {
    world
        .cli(&["rollback", "--env", "staging", "--app", "shop", "--to", to])
        .run()
}

/// Back to the first, past the previous one; an unknown one is refused.
#[test]
fn rollback_to_a_given_deployment_skips_those_after_it_and_refuses_an_unknown_one() {
    let (world, images, ids) = three_shop_deploys_and_another_app();
    let rolled = rollback_to(&world, &ids[0][7..19]).success().stderr;
    assert!(rolled.contains("rolled back shop to staging"), "{rolled}");
    let record = world.record("staging/shop");
    assert_eq!(
        (&record["id"], &record["from"]["id"]),
        (&ids[0].as_str().into(), &ids[0].as_str().into())
    );
    assert_eq!(staging_image(&world), images[0].as_str());
    rollback_to(&world, "ffffffffff").fails(2);
}
