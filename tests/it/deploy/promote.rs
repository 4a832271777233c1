//! `promote`: the same inputs and digests in another environment, with its baseline and secrets.

use super::rolled_back;
use crate::support::object;

/// Promote to production: the same inputs and digests, production's baseline and secrets.
#[test]
fn promote_carries_the_deployed_images_to_production_with_its_secrets_policy() {
    let (world, first) = rolled_back();
    let promoted = world
        .cli(&["promote", "--from", "staging", "--to", "production"])
        .run()
        .success()
        .stderr;
    assert!(
        promoted.contains("promoted shop to production"),
        "{promoted}"
    );
    let production = world.record("production/shop");
    assert_eq!(production["kind"], "promote");
    assert_eq!(
        production["from"],
        serde_json::json!({"environment": "staging", "id": first["id"]})
    );
    assert_eq!(production["images"], first["images"]);
    assert_eq!(production["namespace"], "shop");
    let checkout = world.checkout();
    let external = object(
        &checkout.path().join("production/shop"),
        "ExternalSecret",
        "shop-secrets",
    );
    assert_eq!(
        external["spec"]["secretStoreRef"],
        serde_json::json!({"kind": "ClusterSecretStore", "name": "vault"})
    );
    assert_eq!(
        external["spec"]["data"][0]["remoteRef"],
        serde_json::json!({"key": "production/shop/shop-secrets", "property": "web.DATABASE_URL"})
    );
    assert!(
        !checkout
            .path()
            .join("production/shop/secret-shop-secrets.yaml")
            .exists()
    );
}
