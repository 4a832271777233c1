//! `diff`: what deploying now would change against what is deployed, between two deployments,
//! and across environments; objects added and removed whole.

use serde_json::Value;

use super::history::three_shop_deploys_and_another_app;
use super::{World, deployed_twice, nginx_app, rolled_back};
use crate::support::{Outcome, write_files};

/// `diff` of the shop in staging as if deployed with digest `digest`, with `extra` flags.
fn diff_now(world: &World, digest: &str, extra: &[&str]) -> Outcome {
    let image = format!("web=ghcr.io/acme/shop@sha256:{}", digest.repeat(16));
    let args = [
        "diff",
        "-f",
        "shop/score.yaml",
        "--env",
        "staging",
        "--image",
        &image,
    ];
    world.cli(&[&args[..], extra].concat()).run()
}

/// What deploying now would change: only the image.
#[test]
fn diff_shows_what_deploying_now_would_change() {
    let (world, _, _) = deployed_twice();
    let diff = diff_now(&world, "3333", &[]);
    let patch = &diff.stdout;
    assert!(
        patch.contains("-        image: ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222")
            && patch.contains("+        image: ghcr.io/acme/shop@sha256:3333333333333333333333333333333333333333333333333333333333333333"),
        "{patch}"
    );
    assert_eq!(
        patch.matches("\n+++ ").count() + usize::from(patch.starts_with("+++ ")),
        1,
        "one object changed:\n{patch}"
    );
    assert!(
        diff.stderr
            .contains("1 object changed: deployment-shop.yaml (changed)")
    );
}

#[test]
fn diff_exit_code_4_says_deploying_would_change_something() {
    let (world, _, _) = deployed_twice();
    diff_now(&world, "3333", &["--exit-code"]).fails(4);
    diff_now(&world, "2222", &["--exit-code"]).success();
}

#[test]
fn diff_from_an_earlier_deployment_shows_what_came_since() {
    let (world, first, _) = deployed_twice();
    let first_id = first["id"].as_str().unwrap();
    let between = world
        .cli(&[
            "diff",
            "--env",
            "staging",
            "--app",
            "shop",
            "--from",
            &first_id[7..19],
        ])
        .run();
    between.stdout_has("+        image: ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222");
}

/// `diff` of the shop in staging between two deployments given by id prefixes.
fn diff_between(world: &World, from: &str, to: &str) -> Outcome {
    world
        .cli(&[
            "diff", "--env", "staging", "--app", "shop", "--from", from, "--to", to,
        ])
        .run()
}

/// Between the first and the second: only the image, from one digest to the other; from an
/// unknown one, where to look.
#[test]
fn diff_between_two_deployments_shows_what_changed_and_from_an_unknown_one_where_to_look() {
    let (world, images, ids) = three_shop_deploys_and_another_app();
    let patch = diff_between(&world, &ids[0][7..19], &ids[1][7..19]).stdout;
    assert!(
        patch.contains(&format!("-        image: {}", images[0]))
            && patch.contains(&format!("+        image: {}", images[1]))
            && !patch.contains(&images[2]),
        "{patch}"
    );
    assert!(
        patch.starts_with(&format!(
            "# Deployment/shop (changed)\n--- {}/deployment-shop.yaml",
            &ids[0][..19]
        )),
        "{patch}"
    );
    let unknown = diff_between(&world, "0000000000", &ids[1][7..19]).fails(2);
    unknown.stderr_has("no deployment 0000000000 of `shop` in `staging`; see `scoreline history`");
}

#[test]
fn diff_across_environments_shows_how_production_differs_but_not_its_namespace() {
    let (world, _) = rolled_back();
    world
        .cli(&["promote", "--from", "staging", "--to", "production"])
        .run()
        .success();
    let across = world
        .cli(&[
            "diff",
            "--env",
            "staging",
            "--against-env",
            "production",
            "--app",
            "shop",
        ])
        .run();
    let patch = &across.stdout;
    assert!(
        patch.contains("externalsecret-shop-secrets.yaml") && !patch.contains("namespace:"),
        "{patch}"
    );
}

#[test]
fn diff_shows_an_added_and_a_removed_object_whole_under_its_kind_and_name() {
    let world = World::new();
    let with_port = nginx_app("other", "service:\n  ports:\n    web: { port: 8080 }\n");
    write_files(&world.work(), &[("other.yaml", &nginx_app("other", ""))]);
    let deploy = || {
        world
            .cli(&["deploy", "-f", "other.yaml", "--env", "throwaway"])
            .run()
            .success()
    };
    deploy();
    let diff = || {
        world
            .cli(&[
                "diff",
                "-f",
                "other.yaml",
                "--env",
                "throwaway",
                "--exit-code",
                "--output",
                "json",
            ])
            .run()
    };
    // A Service once the Score file has a port: added, whole; then removed, whole.
    write_files(&world.work(), &[("other.yaml", &with_port)]);
    for (change, sign) in [("added", '+'), ("removed", '-')] {
        let changes: Value = diff().fails(4).json();
        let service = changes["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["object"] == "Service/other")
            .unwrap_or_else(|| panic!("no Service in {changes}"));
        assert_eq!(
            (&service["file"], &service["change"]),
            (&"service-other.yaml".into(), &change.into())
        );
        let patch = service["diff"].as_str().unwrap();
        assert!(
            patch.starts_with(&format!("# Service/other ({change})\n--- deployed/service-other.yaml\n+++ rendered/service-other.yaml\n"))
                && patch.contains(&format!("\n{sign}kind: Service\n"))
                && patch.contains(&format!("\n{sign}  name: other\n")),
            "{patch}"
        );
        assert!(
            patch
                .lines()
                .skip(3)
                .filter(|l| !l.starts_with("@@"))
                .all(|l| l.starts_with(sign)),
            "the whole object: {patch}"
        );
        deploy();
        write_files(&world.work(), &[("other.yaml", &nginx_app("other", ""))]);
    }
    diff().success();
}
