//! The output folder: byte-identical renders, atomic replacement, folders that are not
//! scoreline's, and the JSON summary.

use serde_json::Value;

use super::{SHOP, render};
use crate::support::{snapshot, write_files};

#[test]
fn two_renders_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        render(
            out,
            &[SHOP],
            &["--image", "web=ghcr.io/acme/shop@sha256:0000000000000000000000000000000000000000000000000000000000000000"],
        )
        .run()
        .success();
    }
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert!(sa.len() > 5);
    assert_eq!(sa, sb);
}

#[test]
fn a_failed_render_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    render(&out, &[SHOP], &["--image", "web=ghcr.io/acme/shop:1"])
        .run()
        .success();
    let before = snapshot(&out);
    // An output the definition does not provide fails at render time, after resolving.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx\n    variables:\n      DB: ${resources.db.hots}\nresources:\n  db:\n    type: postgres\n").unwrap();
    let failed = render(&out, &[&broken], &[]).run().fails(2);
    failed.stderr_has("broken.yaml:8:11: error: ${resources.db.hots}: resource `db` (postgres, definition `postgres-in-cluster`) has no such output");
    failed.stderr_has("its outputs: host, port, name, database, username, password");
    assert_eq!(snapshot(&out), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left behind: {leftovers:?}"
    );
}

#[test]
fn a_folder_of_other_files_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("precious/notes.txt", "mine")]);
    let out = render(&dir.path().join("precious"), &[SHOP], &["--image", "x:1"])
        .run()
        .fails(2);
    out.stderr_has("refusing to replace");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn json_output_lists_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let result = render(&out, &[SHOP], &["--image", "x:1", "--output", "json"])
        .run()
        .success();
    let json: Value = result.json();
    assert_eq!(json["environment"], "development");
    assert_eq!(json["app"], "shop");
    let files: Vec<&str> = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"deployment-shop.yaml"), "{files:?}");
    for f in &files {
        assert!(out.join(f).is_file());
    }
    let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    for f in &files {
        assert!(
            kustomization.contains(&format!("- {f}\n")),
            "{kustomization}"
        );
    }
}
