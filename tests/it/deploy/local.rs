//! Delivery to a local folder (no environment repository): plain Secrets, history, rollback.

use std::path::Path;

use serde_json::Value;

use super::copy_shop;
use crate::support::git::git;
use crate::support::{Cli, object, secret_value, snapshot};

/// Makes `dir` a git repository holding the shop; the local folder it is deployed to.
fn shop_repository(dir: &Path) -> std::path::PathBuf {
    git(dir, &["init", "--quiet"]);
    copy_shop(dir);
    dir.join(".scoreline/deploy/development/shop")
}

/// `deploy --image IMAGE` of the shop in `dir`.
fn deploy(dir: &Path, image: &str) {
    Cli::new(["deploy", "--image", image])
        .dir(dir)
        .run()
        .success();
}

/// A local folder gets plain Secrets, as a cluster would take them.
#[test]
fn local_folder_delivery_writes_plain_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let folder = shop_repository(dir.path());
    deploy(dir.path(), "ghcr.io/acme/shop:1");
    let secret = object(&folder, "Secret", "shop-secrets");
    assert!(secret.get("sops").is_none(), "{secret}");
    let url = secret_value(&secret, "web.DATABASE_URL");
    assert!(url.starts_with("postgres://shop_db:"), "{url}");
}

#[test]
fn local_folder_delivery_keeps_history_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = |folder: &Path| {
        snapshot(folder)
            .into_iter()
            .filter(|(n, _)| !n.starts_with(".scoreline"))
            .collect::<Vec<_>>()
    };
    let folder = shop_repository(dir.path());
    deploy(dir.path(), "ghcr.io/acme/shop:1");
    let first = manifests(&folder);
    deploy(dir.path(), "ghcr.io/acme/shop:2");
    let rolled = Cli::new(["rollback", "--env", "development"])
        .dir(dir.path())
        .run()
        .success();
    assert!(rolled.stderr.contains("rolled back shop to development"));
    assert_eq!(manifests(&folder), first);
    let history: Value = Cli::new(["history", "--env", "development", "--output", "json"])
        .dir(dir.path())
        .run()
        .json();
    assert_eq!(history[0]["deployments"].as_array().unwrap().len(), 3);
}
