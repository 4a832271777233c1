//! What a workload's objects get from the command line (images per container) and from the
//! platform's policy (defaults).

use super::{SHOP, render, render_in};
use crate::support::{object, repo_root};

#[test]
fn a_container_with_image_dot_needs_an_image_given() {
    let dir = tempfile::tempdir().unwrap();
    let missing = render(&dir.path().join("m"), &[SHOP], &[]).run().fails(2);
    missing.stderr_has(
        "examples/shop/score.yaml:15:12: error: container `web` of workload `shop` has `image: .`",
    );
}

/// The image of the shop's Deployment in `out`.
fn image(out: &std::path::Path) -> serde_json::Value {
    object(out, "Deployment", "shop")["spec"]["template"]["spec"]["containers"][0]["image"].clone()
}

#[test]
fn images_are_given_per_container() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    render(
        &out,
        &[SHOP],
        &["--image", "shop.web=registry.example/shop@sha256:abc0000000000000000000000000000000000000000000000000000000000000"],
    )
    .run()
    .success();
    assert_eq!(
        image(&out),
        "registry.example/shop@sha256:abc0000000000000000000000000000000000000000000000000000000000000"
    );
}

#[test]
fn the_workload_qualified_image_wins_over_the_bare_one_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    for order in [["web=a:1", "shop.web=b:1"], ["shop.web=b:1", "web=a:1"]] {
        render(&out, &[SHOP], &["--image", order[0], "--image", order[1]])
            .run()
            .success();
        assert_eq!(image(&out), "b:1", "{order:?}");
    }
}

#[test]
fn an_image_for_a_container_no_workload_has_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = render(&dir.path().join("m"), &[SHOP], &["--image", "api=x:1"])
        .run()
        .fails(2);
    unknown
        .stderr_has("--image names container `api`, which no workload has (containers: shop.web)");
}

/// The `worker` Deployment rendered for development with the example platform from a Score
/// file whose container has `resources`.
fn worker_with(resources: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    render_in(
        dir.path(),
        &[(
            "score.yaml",
            &format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: worker\ncontainers:\n  main:\n    image: busybox\n    resources:\n{resources}"),
        )],
    )
    .args(["--env", "development", "--platform"])
    .arg(repo_root().join("examples/platform"))
    .run()
    .success();
    object(&dir.path().join("manifests"), "Deployment", "worker")
}

#[test]
fn the_workload_policy_fills_in_defaults() {
    let deployment = worker_with("      limits:\n        memory: 1Gi\n");
    assert_eq!(deployment["metadata"]["namespace"], "shop-dev");
    assert_eq!(
        deployment["metadata"]["labels"]["acme.dev/cost-center"],
        "web"
    );
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "scoreline"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    // The Score file's own limit stays; what it does not give comes from the policy.
    assert_eq!(
        container["resources"],
        serde_json::json!({"limits": {"memory": "1Gi"}, "requests": {"cpu": "50m", "memory": "64Mi"}})
    );
}

/// A request above the policy's default limit (512Mi) must not be paired with that limit: the
/// API server refuses requests larger than limits.
#[test]
fn a_request_above_the_policys_default_limit_gets_no_limit() {
    let deployment = worker_with("      requests:\n        memory: 1Gi\n");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"],
        serde_json::json!({"requests": {"cpu": "50m", "memory": "1Gi"}})
    );
}
