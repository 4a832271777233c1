//! The layer cache: an unchanged rebuild reads and compresses nothing and uploads nothing; a
//! changed file rewrites its layer only, to the digest a build without the cache gives; a
//! destination lacking a cached layer gets it written; a corrupt, stale or missing cache is no
//! failure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{app_context, build, cache_beside, pinned, shop_context};
use crate::support::registry::{TestRegistry, inspect, umoci_unpack};

/// Whether each of the build's own layers came from the cache, in order.
fn cached(built: &Value) -> Vec<bool> {
    built["layers"]
        .as_array()
        .expect("a `layers` list")
        .iter()
        .map(|l| l["cached"].as_bool().expect("`cached` is a boolean"))
        .collect()
}

fn built_json(context: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--output", "json"]);
    build(context, &args).run().success().json()
}

/// A work folder holding the shop's context (`work/shop`).
fn shop() -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("shop");
    shop_context(&context);
    (work, context)
}

/// A work folder holding the app's context on scratch (`work/app`).
fn app() -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("app");
    app_context(&context, "scratch");
    (work, context)
}

/// The slot files of the cache the builds of `context` use.
fn slots(context: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache_beside(context).join("layers-v1"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn an_unchanged_rebuild_takes_every_layer_from_the_cache_and_uploads_no_blob() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&[]);
    let (_work, context) = shop();
    let tag = format!("{}/acme/shop:1", proxy.host());
    let first = built_json(&context, &["--tag", &tag]);
    assert_eq!(cached(&first), [false; 4], "nothing to reuse yet");
    assert_eq!(slots(&context).len(), 4, "one slot per COPY or ADD");

    proxy.clear();
    let again = build(&context, &["--tag", &tag, "--output", "json"])
        .run()
        .success();
    let second: Value = again.json();
    assert_eq!(second["digest"], first["digest"], "same files, same image");
    assert_eq!(cached(&second), [true; 4], "{}", again.streams());
    assert_eq!(second["layers"], {
        let mut layers = first["layers"].clone();
        for l in layers.as_array_mut().unwrap() {
            l["cached"] = true.into();
        }
        layers
    });
    assert!(
        proxy.blob_uploads().is_empty(),
        "nothing uploaded: {:?}",
        proxy.blob_uploads()
    );
    assert!(
        second["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["transfer"] == "existed"),
        "every blob checked and found: {}",
        second["transfers"]
    );
    again.stderr_has(", from the cache");

    // In plain text, the summary says so.
    build(&context, &["--tag", &tag])
        .run()
        .success()
        .stderr_has("0 blobs uploaded, 4 of 4 layers from the cache");
}

#[test]
fn a_changed_file_rewrites_its_layer_only_and_gives_the_digest_of_a_build_without_the_cache() {
    let registry = TestRegistry::start();
    let (_work, context) = shop();
    let tag = format!("{}/acme/shop:1", registry.host());
    let first = built_json(&context, &["--tag", &tag]);

    // Same size, and its mtime set back to the very nanosecond it had.
    let toml = context.join("config/a.toml");
    let mtime = std::fs::metadata(&toml).unwrap().modified().unwrap();
    std::fs::write(&toml, "a = 9\n").unwrap();
    std::fs::File::options()
        .append(true)
        .open(&toml)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let changed = built_json(&context, &["--tag", &tag]);
    assert_ne!(changed["digest"], first["digest"]);
    assert_eq!(
        cached(&changed),
        [true, false, true, true],
        "only the layer of config/*.toml is written again"
    );
    assert_ne!(changed["layers"][1]["digest"], first["layers"][1]["digest"]);

    let uncached = built_json(
        &context,
        &[
            "--tag",
            &format!("{}/acme/shop:uncached", registry.host()),
            "--no-cache",
        ],
    );
    assert_eq!(uncached["digest"], changed["digest"]);
    assert_eq!(cached(&uncached), [false; 4], "--no-cache reads no cache");
    let config = inspect(&tag, &["--config"]);
    let uncached_config = inspect(
        &format!("{}/acme/shop:uncached", registry.host()),
        &["--config"],
    );
    assert_eq!(
        config["rootfs"], uncached_config["rootfs"],
        "the diff ids known from the cache are the real ones"
    );
}

#[test]
fn no_cache_neither_reads_nor_writes_the_cache() {
    let (work, context) = app();
    let layout = work.path().join("layout");
    let layout = layout.to_str().unwrap();
    let built = built_json(&context, &["--oci-layout", layout, "--no-cache"]);
    assert_eq!(cached(&built), [false]);
    assert!(
        !cache_beside(&context).exists(),
        "--no-cache writes no cache"
    );
    built_json(&context, &["--oci-layout", layout]);
    let again = built_json(&context, &["--oci-layout", layout, "--no-cache"]);
    assert_eq!(cached(&again), [false], "nor reads it");
}

#[test]
fn a_cached_layer_a_new_registry_lacks_is_written_and_pushed_there() {
    let first_registry = TestRegistry::start();
    let (work, context) = shop();
    let first = built_json(
        &context,
        &["--tag", &format!("{}/acme/shop:1", first_registry.host())],
    );

    // A fresh registry, the same cache: every layer must be uploaded, so written again.
    let fresh = TestRegistry::start();
    let proxy = fresh.proxy(&[]);
    let tag = format!("{}/acme/shop:1", proxy.host());
    let pushed = built_json(&context, &["--tag", &tag]);
    assert_eq!(pushed["digest"], first["digest"]);
    assert_eq!(cached(&pushed), [false; 4], "written for the new registry");
    let uploaded: Vec<&Value> = pushed["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["transfer"] == "uploaded")
        .collect();
    assert_eq!(
        uploaded.len(),
        5,
        "four layers and the config: {uploaded:?}"
    );
    assert!(!proxy.blob_uploads().is_empty());
    let direct = format!("{}/acme/shop:1", fresh.host());
    assert_eq!(inspect(&direct, &[])["Digest"], first["digest"]);
    let root = super::unpack(&direct, work.path());
    assert_eq!(
        std::fs::read_to_string(root.join("srv/app/main.py")).unwrap(),
        "print('shop')\n"
    );
}

#[test]
fn an_oci_layout_gets_a_cached_layer_written_unless_it_holds_it_already() {
    let (work, context) = app();
    let (one, two) = (work.path().join("one"), work.path().join("two"));
    let first = built_json(&context, &["--oci-layout", one.to_str().unwrap()]);
    assert_eq!(cached(&first), [false]);

    // Another folder lacks the layer: written.
    let other = built_json(&context, &["--oci-layout", two.to_str().unwrap()]);
    assert_eq!(cached(&other), [false]);
    assert_eq!(other["digest"], first["digest"]);
    // The same folder again holds it: taken from there.
    let again = built_json(&context, &["--oci-layout", two.to_str().unwrap()]);
    assert_eq!(cached(&again), [true]);
    assert_eq!(again["digest"], first["digest"]);
    let layer = again["layers"][0]["digest"].as_str().unwrap();
    assert!(
        two.join("blobs/sha256")
            .join(layer.trim_start_matches("sha256:"))
            .is_file(),
        "the layout still holds the layer"
    );
    let root = umoci_unpack(&two, "latest", &work.path().join("bundle"));
    assert_eq!(std::fs::read_to_string(root.join("hello")).unwrap(), "hi\n");
}

#[test]
fn a_corrupt_cache_is_ignored_and_mended() {
    let registry = TestRegistry::start();
    let (_work, context) = shop();
    let tag = format!("{}/acme/shop:1", registry.host());
    let first = built_json(&context, &["--tag", &tag]);
    let garbage: [&[u8]; 4] = [
        b"",
        b"{\"layer\":",
        b"\xff\xfe not json",
        b"{\"layer\": {\"digest\": \"sha256:x\", \"diff_id\": \"\", \"size\": 1}, \"files\": []}",
    ];
    for (slot, bytes) in slots(&context).iter().zip(garbage.iter().cycle()) {
        std::fs::write(slot, bytes).unwrap();
    }
    let second = built_json(&context, &["--tag", &tag]);
    assert_eq!(second["digest"], first["digest"]);
    assert_eq!(cached(&second), [false; 4], "corrupt slots are misses");
    let third = built_json(&context, &["--tag", &tag]);
    assert_eq!(cached(&third), [true; 4], "and written anew");
}

/// A slot that names another layer than its files make (a file changed in a way the stat does
/// not show, or a tampered cache): found out when a destination lacks the blob, and the build
/// starts again without the cache.
#[test]
fn a_stale_cache_entry_found_out_when_writing_the_layer_starts_the_build_again_without_it() {
    let (work, context) = app();
    let one = work.path().join("one");
    let first = pinned(build(&context, &["--oci-layout", one.to_str().unwrap()]).run());
    for slot in slots(&context) {
        let mut memo: Value = serde_json::from_slice(&std::fs::read(&slot).unwrap()).unwrap();
        memo["layer"]["digest"] = format!("sha256:{}", "0".repeat(64)).into();
        std::fs::write(&slot, serde_json::to_vec(&memo).unwrap()).unwrap();
    }
    let two = work.path().join("two");
    let out = build(
        &context,
        &["--oci-layout", two.to_str().unwrap(), "--output", "json"],
    )
    .run()
    .success();
    out.stderr_has("building again without the cache");
    let built: Value = out.json();
    assert_eq!(built["digest"], first.as_str());
    assert_eq!(cached(&built), [false]);
    let again = built_json(&context, &["--oci-layout", two.to_str().unwrap()]);
    assert_eq!(cached(&again), [true], "the slot is right again");
}

#[test]
fn two_builds_at_once_share_the_cache_without_harm() {
    // One registry each: two pushes of the same new blob to one docker-registry at once can
    // fail its manifest check (MANIFEST_BLOB_UNKNOWN), a race of the registry's own that this
    // test of the shared cache is not about.
    let registries = [TestRegistry::start(), TestRegistry::start()];
    let (_work, context) = shop();
    let tag = |n: u32| format!("{}/acme/shop:{n}", registries[(n as usize) % 2].host());
    let running: Vec<_> = [1, 2]
        .map(|n| build(&context, &["--tag", &tag(n), "--output", "json"]).spawn())
        .into_iter()
        .collect();
    let digests: Vec<Value> = running
        .into_iter()
        .map(|r| r.wait().success().json::<Value>()["digest"].clone())
        .collect();
    assert_eq!(digests[0], digests[1]);
    let third = built_json(&context, &["--tag", &tag(3)]);
    assert_eq!(third["digest"], digests[0]);
    assert_eq!(cached(&third), [true; 4]);
    assert!(
        std::fs::read_dir(cache_beside(&context).join("layers-v1"))
            .unwrap()
            .all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".tmp")),
        "no temporary file left"
    );
}

/// Jenkins may run with HOME unset or unwritable: the build then runs without a cache.
#[test]
fn without_a_usable_cache_folder_the_build_runs_without_a_cache() {
    let (work, context) = app();
    let layout = work.path().join("layout");
    let a_file = work.path().join("a-file");
    std::fs::write(&a_file, "").unwrap();
    let digest = |cli: crate::support::Cli| {
        let out = cli.run().success();
        let built: Value = out.json();
        assert_eq!(cached(&built), [false], "{}", out.streams());
        built["digest"].clone()
    };
    let args = ["--oci-layout", layout.to_str().unwrap(), "--output", "json"];
    let unset = || {
        build(&context, &args)
            .env_remove("SCORELINE_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("HOME")
    };
    let first = digest(unset());
    assert_eq!(digest(unset()), first, "still no cache");
    let unwritable = || {
        build(&context, &args)
            .env_remove("SCORELINE_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            .env("HOME", &a_file)
    };
    assert_eq!(digest(unwritable()), first);
    assert_eq!(digest(unwritable()), first);
    // XDG_CACHE_HOME comes before HOME.
    let xdg = work.path().join("xdg");
    let with_xdg = || unwritable().env("XDG_CACHE_HOME", &xdg);
    digest(with_xdg());
    let out = with_xdg().run().success();
    assert_eq!(cached(&out.json()), [true]);
    assert!(xdg.join("scoreline/layers-v1").is_dir());
}
