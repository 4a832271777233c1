//! Flags that change what lands: commit messages (`--message`), one app of several (`--app`),
//! `--force`, JSON and text output, and ambiguous record ids — each checked in the environment
//! repository, not by exit codes alone.

use serde_json::Value;

use super::history::three_shop_deploys_and_another_app;
use super::{FIRST, World, deployed_twice};

#[test]
fn deploy_adds_its_message_to_the_commit_and_prints_the_record_and_revision_as_json() {
    let world = World::new();
    let out: Value = world
        .deploy_cli("staging", FIRST)
        .args(["--message", "ticket OPS-42", "--output", "json"])
        .run()
        .success()
        .json();
    let record = world.record("staging/shop");
    assert_eq!(out["status"], "deployed");
    assert_eq!(out["record"], record);
    assert_eq!(out["folder"], "staging/shop");
    assert_eq!(
        out["revision"].as_str().unwrap(),
        world.git(&["rev-parse", "main"]).trim()
    );
    let commit = world.last_commit();
    assert!(
        commit.starts_with("scoreline <scoreline@localhost>\ndeploy shop to staging")
            && commit.trim_end().ends_with("ticket OPS-42"),
        "{commit}"
    );
}

#[test]
fn rollback_adds_its_message_to_the_commit() {
    let (world, first, _) = deployed_twice();
    world
        .cli(&["rollback", "--env", "staging", "--app", "shop"])
        .args(["--message", "revert: checkout broken"])
        .run()
        .success();
    assert_eq!(world.record("staging/shop")["id"], first["id"]);
    let commit = world.last_commit();
    assert!(
        commit.contains("roll back shop to staging")
            && commit.trim_end().ends_with("revert: checkout broken"),
        "{commit}"
    );
}

#[test]
fn promote_of_one_app_of_several_carries_only_it_with_its_message() {
    let (world, _, _) = three_shop_deploys_and_another_app();
    let commits = world.commits();
    world
        .cli(&["promote", "--from", "staging", "--to", "production"])
        .args(["--app", "other", "--message", "go live"])
        .run()
        .success();
    assert_eq!(world.commits(), commits + 1);
    assert!(world.holds("production/other") && !world.holds("production/shop"));
    assert_eq!(world.record("production/other")["kind"], "promote");
    assert!(world.last_commit().trim_end().ends_with("go live"));
    // Without --app, an environment of several apps is refused, naming them.
    world
        .cli(&["promote", "--from", "staging", "--to", "production"])
        .run()
        .fails(2)
        .stderr_has("holds several apps (other, shop): name one with --app");
    assert_eq!(world.commits(), commits + 1);
}

#[test]
fn history_as_text_lists_each_deployment_newest_first_with_its_revision() {
    let (world, _, ids) = three_shop_deploys_and_another_app();
    let out = world
        .cli(&["history", "--env", "staging", "--app", "shop"])
        .run()
        .success();
    let revisions: Vec<String> = world
        .git(&["log", "--format=%H", "main", "--", "staging/shop"])
        .lines()
        .map(|r| r[..12].to_owned())
        .collect();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines[0], "staging/shop", "{}", out.stderr);
    for (line, (id, revision)) in lines[1..].iter().zip(ids.iter().rev().zip(&revisions)) {
        assert!(
            line.starts_with(&format!("  {}  ", &id[..19]))
                && line.contains("  deploy  ")
                && line.ends_with(&format!("revision {revision}")),
            "{line}\n{}",
            out.stderr
        );
    }
    assert_eq!(lines.len(), 4, "{}", out.stderr);
    assert!(!out.stderr.contains("staging/other"));
}

#[test]
fn destroy_of_one_app_of_several_needs_force_outside_previews_and_removes_only_it_in_one_commit() {
    let (world, _, _) = three_shop_deploys_and_another_app();
    let (commits, head) = (world.commits(), world.git(&["rev-parse", "main"]));
    world
        .cli(&["destroy", "--env", "staging", "--app", "other"])
        .run()
        .fails(2)
        .stderr_has("--force");
    assert_eq!(world.git(&["rev-parse", "main"]), head);
    let out: Value = world
        .cli(&["destroy", "--env", "staging", "--app", "other", "--force"])
        .args(["--output", "json"])
        .run()
        .success()
        .json();
    assert_eq!(
        out,
        serde_json::json!({"environment": "staging", "removed": ["other"]})
    );
    assert_eq!(world.commits(), commits + 1);
    assert!(!world.holds("staging/other") && world.holds("staging/shop"));
    let changed = world.git(&["show", "--name-only", "--format=", "main"]);
    assert!(
        changed
            .lines()
            .all(|path| path.starts_with("staging/other/")),
        "{changed}"
    );
}

#[test]
fn gc_prints_what_expired_as_json() {
    let world = World::new();
    world.deploy("pr-7", FIRST).success();
    world.deploy("staging", FIRST).success();
    let dry: Value = world
        .cli(&["gc", "--older-than", "0s", "--dry-run", "--output", "json"])
        .run()
        .success()
        .json();
    assert_eq!(dry["dry_run"], true);
    assert!(world.holds("pr-7/shop"));
    let done: Value = world
        .cli(&["gc", "--older-than", "0s", "--output", "json"])
        .run()
        .success()
        .json();
    assert_eq!(done["dry_run"], false);
    assert_eq!(dry["expired"], done["expired"]);
    let expired = done["expired"].to_string();
    assert!(
        expired.contains("pr-7") && !expired.contains("staging"),
        "{done:#}"
    );
    assert!(!world.holds("pr-7/shop") && world.holds("staging/shop"));
}

#[test]
fn an_id_prefix_that_matches_several_deployments_is_refused_with_exit_2() {
    let (world, _, _) = three_shop_deploys_and_another_app();
    let head = world.git(&["rev-parse", "main"]);
    world
        .cli(&[
            "rollback", "--env", "staging", "--app", "shop", "--to", "sha256:",
        ])
        .run()
        .fails(2)
        .stderr_has("sha256: matches several deployments of `shop`; give more of the id");
    assert_eq!(world.git(&["rev-parse", "main"]), head);
}

#[test]
fn deploy_with_app_lands_in_that_apps_folder_and_record() {
    let world = World::new();
    world
        .deploy_cli("staging", FIRST)
        .args(["--app", "storefront"])
        .run()
        .success();
    assert!(world.holds("staging/storefront") && !world.holds("staging/shop"));
    let record = world.record("staging/storefront");
    assert_eq!(record["app"], "storefront");
    assert_eq!(record["workloads"][0]["name"], "shop");
    assert!(world.last_commit().contains("deploy storefront to staging"));
}
