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

/// Installs a pre-receive hook that, for the first `races` pushes, lands another commit on
/// `main` just before the pushed one would: git refuses the push because the branch moved
/// (`cannot lock ref`), exactly as when another deploy wins the race. Returns the file the
/// hook counts the pushes in.
fn lose_races(world: &World, races: u32) -> std::path::PathBuf {
    let count = world.dir.path().join("pushes");
    world.hook(&format!(
        "#!/bin/sh\nn=$(( $(cat {count} 2>/dev/null || echo 0) + 1 ))\necho $n > {count}\n\
         [ $n -le {races} ] || exit 0\n\
         unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
         tip=$(git rev-parse refs/heads/main)\n\
         next=$(GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=o@o GIT_COMMITTER_NAME=other \
         GIT_COMMITTER_EMAIL=o@o git commit-tree -p $tip -m \"another deploy $n\" $tip^{{tree}})\n\
         git update-ref refs/heads/main $next $tip\n",
        count = count.display(),
    ));
    count
}

/// A deploy of the shop to `throwaway` through strace, which answers its sleeps at once (the
/// backoff between 40 attempts adds up to over a minute); returns its outcome and the sleeps it
/// asked for, in milliseconds.
fn deploy_without_waiting(world: &World) -> (crate::support::Outcome, Vec<u64>) {
    let log = world.dir.path().join("sleeps.log");
    let outcome = world.deploy_cli("throwaway", "x:1").run_through([
        "strace".as_ref(),
        "-qq".as_ref(),
        "-o".as_ref(),
        log.as_os_str(),
        "-e".as_ref(),
        "signal=none".as_ref(),
        "-e".as_ref(),
        "trace=nanosleep,clock_nanosleep".as_ref(),
        "-e".as_ref(),
        "inject=nanosleep,clock_nanosleep:retval=0".as_ref(),
    ]);
    let field = |line: &str, name: &str| -> u64 {
        let rest = &line[line.find(name).unwrap() + name.len()..];
        rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap()]
            .parse()
            .unwrap()
    };
    let sleeps = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| field(line, "tv_sec=") * 1000 + field(line, "tv_nsec=") / 1_000_000)
        .collect();
    (outcome, sleeps)
}

/// Each wait between attempts is the backoff's: from 50 ms doubling to a cap of 2 s, ±50%.
fn assert_backoff(sleeps: &[u64]) {
    for (attempt, &ms) in sleeps.iter().enumerate() {
        let base = (50u64 << attempt.min(6)).min(2000);
        assert!(
            (base / 2..=base * 3 / 2).contains(&ms),
            "wait {attempt} of {ms} ms is not {base} ms ±50%: {sleeps:?}"
        );
    }
}

/// A deploy of the shop to throwaway (deployed once before) that loses `races` races in a row:
/// it pushed 40 times and waited the backoff between them. Its outcome, and the commits before.
fn deploy_losing(races: u32) -> (World, crate::support::Outcome, usize) {
    let world = World::new();
    world.deploy("throwaway", "x:0").success();
    let before = world.commits();
    let pushes = lose_races(&world, races);
    let (outcome, sleeps) = deploy_without_waiting(&world);
    assert_eq!(std::fs::read_to_string(&pushes).unwrap().trim(), "40");
    assert_eq!(sleeps.len(), 39, "{sleeps:?}");
    assert_backoff(&sleeps);
    (world, outcome, before)
}

#[test]
fn a_deploy_that_loses_39_races_in_a_row_lands_on_its_40th_push() {
    let (world, outcome, before) = deploy_losing(39);
    outcome.success();
    // The 39 commits of the "other deploys", then this one, on top of them.
    assert_eq!(world.commits(), before + 40);
    assert!(world.last_commit().contains("deploy shop to throwaway"));
    assert_eq!(world.record("throwaway/shop")["app"], "shop");
}

#[test]
fn a_deploy_that_loses_40_races_in_a_row_gives_up_saying_the_branch_kept_moving() {
    let (world, outcome, before) = deploy_losing(40);
    let failed = outcome.fails(1);
    failed.stderr_has("another push landed first on each of 40 attempts, so nothing was delivered; run the deploy again");
    failed.stderr_has("cannot lock ref 'refs/heads/main'");
    assert_eq!(world.commits(), before + 40);
    assert!(world.last_commit().contains("another deploy 40"));
}
