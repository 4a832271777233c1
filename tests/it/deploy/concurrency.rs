//! Deploys side by side, from separate processes: each lands as one clean commit.

use serde_json::Value;

use super::{World, copy_shop, nginx_app};
use crate::support::git::git;
use crate::support::{Cli, write_files};

#[test]
fn sixteen_concurrent_deploys_of_different_apps_all_land() {
    let world = World::new();
    let apps: Vec<String> = (0..16).map(|i| format!("app-{i:02}")).collect();
    for app in &apps {
        write_files(
            &world.work(),
            &[(&format!("{app}.yaml"), &nginx_app(app, ""))],
        );
    }
    let running: Vec<_> = apps
        .iter()
        .map(|app| {
            Cli::new([
                "deploy",
                "--platform",
                "platform",
                "--env",
                "throwaway",
                "-f",
                &format!("{app}.yaml"),
            ])
            .dir(world.work())
            .spawn()
        })
        .collect();
    for run in running {
        run.wait().success();
    }
    assert_eq!(world.commits(), 16);
    for app in &apps {
        let record = world.record(&format!("throwaway/{app}"));
        assert_eq!(record["app"], app.as_str());
    }
    let subjects = world.git(&["log", "--format=%s", "main"]);
    for app in &apps {
        assert_eq!(
            subjects
                .matches(&format!("deploy {app} to throwaway"))
                .count(),
            1,
            "{subjects}"
        );
    }
}

#[test]
fn concurrent_deploys_of_the_same_app_each_land_as_one_clean_commit() {
    let world = World::new();
    let images: Vec<String> = (0..8).map(|i| format!("x:{i}")).collect();
    let running: Vec<_> = images
        .iter()
        .map(|image| world.deploy_cli("throwaway", image).spawn())
        .collect();
    for run in running {
        run.wait().success();
    }
    assert_eq!(world.commits(), images.len());
    let merges = world.git(&["rev-list", "--merges", "main"]);
    assert_eq!(merges, "", "no merge commits");
    // Every commit holds exactly one deployment's folder: its record, its image, its files.
    let log = world.git(&["log", "--format=%H", "main"]);
    let show = |spec: &str| world.git(&["show", spec]);
    let mut deployed = Vec::new();
    let mut listings = Vec::new();
    for commit in log.lines() {
        let record: Value = serde_json::from_str(&show(&format!(
            "{commit}:throwaway/shop/.scoreline/record.json"
        )))
        .unwrap();
        let image = record["images"][0]["image"].as_str().unwrap().to_owned();
        assert!(
            show(&format!("{commit}:throwaway/shop/deployment-shop.yaml"))
                .contains(&format!("image: {image}\n")),
            "{commit}: the manifests are not the record's deployment"
        );
        listings.push(world.git(&[
            "ls-tree",
            "-r",
            "--name-only",
            commit,
            "--",
            "throwaway/shop",
        ]));
        deployed.push(image);
    }
    deployed.sort();
    assert_eq!(deployed, images, "each deploy is one commit");
    listings.dedup();
    assert_eq!(listings.len(), 1, "the same files each time: {listings:?}");
}

/// A local folder (`kind: dir`) takes concurrent deploys of one app one at a time: each lands in
/// the history, none overwrites another's snapshot.
#[test]
fn concurrent_deploys_to_a_local_folder_each_land_in_its_history() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "--quiet"]);
    copy_shop(dir.path());
    let images: Vec<String> = (0..8).map(|i| format!("ghcr.io/acme/shop:{i}")).collect();
    let running: Vec<_> = images
        .iter()
        .map(|image| {
            Cli::new(["deploy", "--image", image])
                .dir(dir.path())
                .spawn()
        })
        .collect();
    for run in running {
        run.wait().success().stderr_has("deployed");
    }
    let history: Value = Cli::new(["history", "--env", "development", "--output", "json"])
        .dir(dir.path())
        .run()
        .success()
        .json();
    let mut deployed: Vec<String> = history[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["record"]["images"][0]["image"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    deployed.sort();
    assert_eq!(deployed, images, "{history:#}");
}
