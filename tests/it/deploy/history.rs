//! `history`: the deployments of an environment, newest first, per app; and a folder whose
//! record cannot be read.

use serde_json::Value;

use super::{World, deployed_twice, nginx_app};
use crate::support::write_files;

#[test]
fn a_changed_deploy_is_a_new_commit_and_history_lists_it_first() {
    let (world, first, second) = deployed_twice();
    assert_eq!(world.commits(), 2);
    assert_ne!(first["id"], second["id"]);
    let history = world.history("staging", &[]);
    let ids: Vec<&Value> = history[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["record"]["id"])
        .collect();
    assert_eq!(ids, vec![&second["id"], &first["id"]], "newest first");
}

/// The shop deployed to staging with three images (their ids), and the app `other` once.
pub(super) fn three_shop_deploys_and_another_app() -> (World, [String; 3], Vec<String>) {
    let world = World::new();
    let images =
        [1, 2, 3].map(|i| format!("ghcr.io/acme/shop@sha256:{}", i.to_string().repeat(64)));
    let mut ids = Vec::new();
    for image in &images {
        world.deploy("staging", image).success();
        ids.push(
            world.record("staging/shop")["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    write_files(&world.work(), &[("other.yaml", &nginx_app("other", ""))]);
    world
        .cli(&["deploy", "-f", "other.yaml", "--env", "staging"])
        .run()
        .success();
    (world, images, ids)
}

#[test]
fn history_lists_every_app_or_one_app_newest_first() {
    let (world, _, ids) = three_shop_deploys_and_another_app();
    let all = world.history("staging", &[]);
    let folders: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["folder"])
        .collect();
    assert_eq!(folders, ["staging/other", "staging/shop"]);
    let shop = world.history("staging", &["--app", "shop"]);
    assert_eq!(shop.as_array().unwrap().len(), 1, "{shop}");
    assert_eq!(shop[0]["folder"], "staging/shop");
    let listed: Vec<&str> = shop[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["record"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&ids[2], &ids[1], &ids[0]], "newest first");
}

#[test]
fn a_folder_with_an_unreadable_record_is_named_in_the_repository_and_a_deploy_replaces_it() {
    let world = World::new();
    world.deploy("staging", "x:1").success();
    world.commit_to("break the record", |checkout| {
        std::fs::write(
            checkout.join("staging/shop/.scoreline/record.json"),
            "{ not json",
        )
        .unwrap();
    });
    let listed = world.cli(&["history", "--env", "staging"]).run().fails(1);
    let stderr = &listed.stderr;
    listed.stderr_has(&format!(
        "{} (main) staging/shop/.scoreline/record.json: not a scoreline deployment record",
        world.repo().display()
    ));
    // Not the temporary clone (`$TMPDIR/scoreline-UID/env-PID-…`).
    assert!(!stderr.contains("/env-"), "{stderr}");
    world.deploy("staging", "x:2").success();
    assert_eq!(world.record("staging/shop")["images"][0]["image"], "x:2");
    // The broken commit is no deployment: the history lists the two that are.
    let history: Value = world
        .cli(&["history", "--env", "staging", "--output", "json"])
        .run()
        .success()
        .json();
    let images: Vec<&Value> = history[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["record"]["images"][0]["image"])
        .collect();
    assert_eq!(images, ["x:2", "x:1"]);
}
