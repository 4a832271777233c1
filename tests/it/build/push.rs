//! Pushing to a real registry: what it holds afterwards (tags, config, manifest, files read back
//! with skopeo and umoci), reproducible digests, progress in CI logs, and failed pushes.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{app_context, build, digest_of, exists, pinned, shop_context, unpack};
use crate::support::registry::{Proxy, TestRegistry, inspect, is_root, layer_owners, umoci_unpack};

/// The shop, with a file big enough to be compressed in several pieces (gzip members) in
/// parallel, pushed under two tags with build args, labels, SOURCE_DATE_EPOCH and GitLab's
/// variables, and a dotenv file written.
struct PushedShop {
    registry: TestRegistry,
    work: tempfile::TempDir,
    /// The first tag, `HOST/acme/shop:1.4.2`.
    tag: String,
    /// The last line the build printed.
    pinned: String,
    dotenv: PathBuf,
    data: Vec<u8>,
}

fn pushed_shop() -> PushedShop {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("shop");
    shop_context(&context);
    let data: Vec<u8> = (0u32..9 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 % 61)
        .collect();
    std::fs::write(context.join("app/data.bin"), &data).unwrap();
    let dotenv = work.path().join("build.env");
    let tag = format!("{}/acme/shop:1.4.2", registry.host());
    let out = build(
        &context,
        &[
            "--tag",
            &tag,
            "--tag",
            &format!("{}/acme/shop:main", registry.host()),
            "--build-arg",
            "GREETING=bonjour",
            "--label",
            "org.example.build=42",
            "--dotenv",
        ],
    )
    .arg(&dotenv)
    // Under GitLab the job summary goes to the working folder unless named: not the repository.
    .arg("--summary")
    .arg(work.path().join("summary.md"))
    .env("SOURCE_DATE_EPOCH", "1700000000")
    .env("GITLAB_CI", "true")
    .env("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop")
    .env("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567")
    .run();
    PushedShop {
        pinned: pinned(out),
        registry,
        work,
        tag,
        dotenv,
        data,
    }
}

#[test]
fn build_pushes_under_every_tag_and_prints_and_writes_the_pinned_reference() {
    let shop = pushed_shop();
    assert!(
        shop.pinned
            .starts_with(&format!("{}/acme/shop@sha256:", shop.registry.host())),
        "{}",
        shop.pinned
    );
    let digest = digest_of(&shop.pinned);
    assert_eq!(
        std::fs::read_to_string(&shop.dotenv).unwrap(),
        format!(
            "SCORELINE_IMAGE={}\nSCORELINE_DIGEST={digest}\n",
            shop.pinned
        )
    );
    let image = inspect(&shop.tag, &[]);
    assert_eq!(image["Digest"], digest.as_str());
    let mut tags: Vec<&str> = image["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.4.2", "main"]);
}

#[test]
fn the_pushed_config_and_manifest_carry_the_dockerfile_the_flags_and_the_ci_provenance() {
    let shop = pushed_shop();
    let tag = &shop.tag;
    let config = inspect(tag, &["--config"]);
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    let c = &config["config"];
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(
        c["Env"],
        serde_json::json!(["GREETING=bonjour", "APP_HOME=/srv/app"])
    );
    assert_eq!(c["Entrypoint"], serde_json::json!(["/usr/local/bin/run"]));
    assert_eq!(c["Cmd"], serde_json::json!(["--port", "8080"]));
    assert_eq!(
        c["ExposedPorts"],
        serde_json::json!({"8080/tcp": {}, "9090/udp": {}})
    );
    assert_eq!(
        c["Labels"],
        serde_json::json!({"org.example.team": "checkout", "org.example.tier": "web", "org.example.build": "42"})
    );
    let history: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert!(
        history.contains(&"COPY --chown=1000:1000 app/ ./"),
        "{history:?}"
    );
    let manifest = inspect(tag, &["--raw"]);
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        4,
        "one layer per COPY/ADD"
    );
    let annotations = &manifest["annotations"];
    assert_eq!(
        annotations["org.opencontainers.image.source"],
        "https://gitlab.example.com/acme/shop"
    );
    assert_eq!(
        annotations["org.opencontainers.image.revision"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        annotations["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
}

#[test]
fn skopeo_and_umoci_read_the_pushed_files_back_with_their_modes_times_and_owners() {
    let shop = pushed_shop();
    let work = shop.work.path();
    let root = unpack(&shop.tag, work);
    let file = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let meta = |path: &str| {
        std::fs::symlink_metadata(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert_eq!(file("srv/app/main.py"), "print('shop')\n");
    assert!(
        std::fs::read(root.join("srv/app/data.bin")).unwrap() == shop.data,
        "the big file arrives whole"
    );
    assert_eq!(file("srv/app/static/app.js"), "console.log('shop');\n");
    assert_eq!(
        file("srv/app/public.env"),
        "MODE=public\n",
        "`!` re-includes"
    );
    assert!(
        !root.join("srv/app/secret.env").exists(),
        ".dockerignore keeps secret.env out"
    );
    assert!(
        !root.join("srv/app/node_modules").exists(),
        ".dockerignore keeps node_modules out"
    );
    assert_eq!(file("etc/shop/a.toml"), "a = 1\n");
    assert_eq!(file("etc/shop/b.toml"), "b = 2\n");
    assert!(
        !root.join("etc/shop/c.yaml").exists(),
        "the glob matches .toml only"
    );
    assert_eq!(
        file("opt/vendor/lib/x.txt"),
        "vendored\n",
        "ADD unpacks local tarballs"
    );
    assert_eq!(
        file("usr/local/bin/run"),
        "#!/bin/sh\nexec python3 /srv/app/main.py \"$@\"\n"
    );
    for (path, mode) in [
        ("srv/app/main.py", 0o644),
        ("srv/app/static", 0o755),
        ("etc/shop/a.toml", 0o600),
        ("opt/vendor/lib/x.txt", 0o640),
        ("usr/local/bin/run", 0o755),
    ] {
        assert_eq!(meta(path).mode() & 0o7777, mode, "mode of {path}");
    }
    assert_eq!(
        meta("srv/app/main.py").mtime(),
        1_700_000_000,
        "mtimes are SOURCE_DATE_EPOCH"
    );
    // As root, umoci kept the owners; otherwise the layers' tar headers say what they are.
    let headers = (!is_root()).then(|| layer_owners(&work.join("layout"), "image"));
    for (path, owner) in [
        ("srv/app/main.py", 1000),
        ("srv/app/static/app.js", 1000),
        ("srv/app", 1000),
        ("srv", 0),
        ("etc/shop/a.toml", 0),
        ("usr/local/bin/run", 0),
        ("usr", 0),
    ] {
        let found = match &headers {
            Some(headers) => *headers
                .get(path)
                .unwrap_or_else(|| panic!("no {path} in the layers: {headers:?}")),
            None => (u64::from(meta(path).uid()), u64::from(meta(path).gid())),
        };
        assert_eq!(found, (owner, owner), "owner of {path}");
    }
}

#[test]
fn the_same_inputs_give_the_same_digest_and_an_unchanged_rebuild_uploads_no_blobs() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    shop_context(&first);
    let tag = format!("{}/acme/shop:1", proxy.host());
    let digest = digest_of(&pinned(build(&first, &["--tag", &tag]).run()));
    assert!(!proxy.blob_uploads().is_empty(), "the first push uploads");

    // The same files elsewhere, written later (other mtimes, other inode order): same image.
    std::thread::sleep(Duration::from_millis(1100));
    let second = work.path().join("second");
    shop_context(&second);
    proxy.clear();
    let built: Value = build(&second, &["--tag", &tag, "--output", "json"])
        .run()
        .success()
        .json();
    assert_eq!(built["digest"], digest.as_str(), "same inputs, same digest");
    assert!(
        proxy.blob_uploads().is_empty(),
        "an unchanged rebuild uploads no blob: {:?}",
        proxy.blob_uploads()
    );
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "only the manifest is put again: {puts:?}");
    assert!(puts[0].path.ends_with("/manifests/1"));
    assert!(
        built["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["transfer"] == "existed")
    );

    // And an OCI layout of the same inputs carries the same digest.
    let layout = work.path().join("layout");
    let from_layout = digest_of(&format!(
        "x@{}",
        pinned(build(&second, &["--oci-layout", layout.to_str().unwrap()]).run())
    ));
    assert_eq!(from_layout, digest);
}

#[test]
fn a_tag_and_an_oci_layout_together_get_the_same_image() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("app");
    app_context(&context, "scratch");
    let layout = work.path().join("layout");
    let tag = format!("{}/acme/both:1.0", registry.host());
    let built: Value = build(
        &context,
        &[
            "--tag",
            &tag,
            "--oci-layout",
            layout.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
    .run()
    .success()
    .json();
    let digest = built["digest"].as_str().unwrap();
    assert_eq!(inspect(&tag, &[])["Digest"], digest, "pushed");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest, "written");
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "1.0",
        "the layout names the image by the tag's tag"
    );
    let root = umoci_unpack(&layout, "1.0", &work.path().join("bundle"));
    assert_eq!(std::fs::read_to_string(root.join("hello")).unwrap(), "hi\n");
}

/// At a terminal (`script`) a push shows a bar per blob being sent, redrawn in place and
/// cleared when the blob is in: the terminal gets cursor codes and the bar's `[===>  ]`.
#[test]
fn on_a_terminal_progress_is_a_bar_per_blob() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("shop");
    shop_context(&context);
    let repository = format!("{}/acme/bars", registry.host());
    let log = build(&context, &["--tag", &format!("{repository}:1")])
        .run_on_terminal()
        .success()
        .stdout;
    assert!(log.contains("\x1b["), "terminal redraws: {log:?}");
    assert!(
        log.contains("] 0 B/") || log.contains(" [=="),
        "a bar: {log:?}"
    );
}

/// A terminal that cannot redraw (TERM unset or `dumb`, as under some `docker exec -t` or
/// editors' terminals) gets the plain lines, not nothing.
#[test]
fn on_a_dumb_terminal_progress_is_plain_lines() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("app");
    app_context(&context, "scratch");
    let repository = format!("{}/acme/dumb", registry.host());
    let log = build(&context, &["--tag", &format!("{repository}:1")])
        .env("TERM", "dumb")
        .run_on_terminal()
        .success()
        .stdout;
    assert!(!log.contains('\x1b'), "no terminal redraws: {log:?}");
    assert!(
        log.contains("building stage 0 for linux/amd64")
            && log
                .lines()
                .filter(|l| l.starts_with("pushed  sha256:"))
                .count()
                == 2,
        "{log}"
    );
}

/// Generic CI systems set CI=true, some on a terminal: `script` gives the build one, and the
/// log must still get one plain line per blob when it is in the registry, and no bars.
#[test]
fn with_ci_true_on_a_terminal_progress_is_one_plain_line_per_blob() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("app");
    app_context(&context, "scratch");
    let repository = format!("{}/acme/progress", registry.host());
    let scoreline = build(&context, &["--tag", &format!("{repository}:1")]);
    let log = scoreline
        .env("CI", "true")
        .run_on_terminal()
        .success()
        .stdout;
    assert!(!log.contains('\x1b'), "no terminal redraws: {log:?}");
    let manifest = inspect(&format!("{repository}:1"), &["--raw"]);
    let blobs = [&manifest["config"], &manifest["layers"][0]];
    for blob in blobs {
        let digest = blob["digest"].as_str().unwrap();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with(&format!("pushed  {}", &digest[..19])))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {digest}: {log}");
        assert!(
            lines[0].trim_end().ends_with(&format!("in {repository}")),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn a_registry_that_fails_requests_through_a_fault_injecting_proxy_still_gets_the_image() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&["--faults"]);
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("shop");
    shop_context(&context);
    let tag = format!("{}/acme/shop:flaky", proxy.host());
    let pinned = pinned(build(&context, &["--tag", &tag]).run());
    let requests = proxy.requests();
    for injected in ["503", "429", "reset"] {
        assert!(
            requests.iter().any(|r| r.status == injected),
            "a {injected} was injected: {requests:#?}"
        );
    }
    // Read straight from the registry, not through the proxy.
    let direct = format!("{}/acme/shop:flaky", registry.host());
    assert_eq!(inspect(&direct, &[])["Digest"], digest_of(&pinned).as_str());
    let root = unpack(&direct, work.path());
    assert_eq!(
        std::fs::read_to_string(root.join("srv/app/main.py")).unwrap(),
        "print('shop')\n"
    );
}

/// The final PUT of every blob upload in `proxy`'s log, grouped by blob: each one's statuses.
fn blob_puts(proxy: &Proxy) -> BTreeMap<String, Vec<String>> {
    let mut puts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in proxy.requests() {
        if r.method == "PUT" && r.path.contains("/blobs/uploads/") {
            let digest = r
                .path
                .split("digest=")
                .nth(1)
                .expect("a final PUT names its digest");
            let digest = digest.split('&').next().unwrap().replace("%3A", ":");
            puts.entry(digest).or_default().push(r.status);
        }
    }
    puts
}

/// "six attempts per request": a registry answering 503 five times in a row to each blob
/// upload still gets the image, on the sixth attempt of each.
#[test]
fn five_transient_failures_in_a_row_are_retried_and_the_sixth_attempt_pushes() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&["--fail=PUT:/blobs/uploads/:503:5"]);
    let work = tempfile::tempdir().unwrap();
    app_context(work.path(), "scratch");
    let tag = format!("{}/acme/flaky:1", proxy.host());
    build(work.path(), &["--tag", &tag]).run().success();
    let puts = blob_puts(&proxy);
    assert_eq!(puts.len(), 2, "config and layer: {puts:?}");
    for (digest, statuses) in &puts {
        assert_eq!(
            statuses.iter().map(String::as_str).collect::<Vec<_>>(),
            ["503", "503", "503", "503", "503", "201"],
            "{digest}"
        );
    }
    assert!(exists(&format!("{}/acme/flaky:1", registry.host()), &[]));
}

/// …and a sixth 503 is the end: no seventh attempt of any request, exit 1, with what failed and
/// where, and no tag.
#[test]
fn a_request_failing_six_times_is_not_tried_a_seventh_and_the_build_fails_with_1() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&["--fail=PUT:/blobs/uploads/:503"]);
    let work = tempfile::tempdir().unwrap();
    app_context(work.path(), "scratch");
    let tag = format!("{}/acme/down:1", proxy.host());
    let out = build(work.path(), &["--tag", &tag])
        .limit(Duration::from_secs(60))
        .run()
        .fails(1);
    let puts = blob_puts(&proxy);
    assert!(
        puts.values().any(|statuses| statuses.len() == 6)
            && puts
                .values()
                .all(|statuses| statuses.len() <= 6 && statuses.iter().all(|s| s == "503")),
        "six attempts at most, each a 503: {puts:?}"
    );
    out.stderr_has("503");
    out.stderr_has(&proxy.host());
    assert!(!exists(&format!("{}/acme/down:1", registry.host()), &[]));
}

#[test]
fn a_push_that_fails_for_good_leaves_no_tag_behind() {
    let registry = TestRegistry::start();
    // Every blob upload's final PUT is refused: the manifest must never be put.
    let proxy = registry.proxy(&["--refuse=PUT:/blobs/uploads/"]);
    let work = tempfile::tempdir().unwrap();
    shop_context(work.path());
    let out = build(
        work.path(),
        &["--tag", &format!("{}/acme/shop:broken", proxy.host())],
    )
    .run()
    .fails(1);
    out.stderr_has("registry");
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| !r.path.contains("/manifests/")),
        "no manifest put"
    );
    assert!(
        !exists(&format!("{}/acme/shop:broken", registry.host()), &[]),
        "the tag does not exist"
    );
}

#[test]
fn a_push_to_two_repositories_that_fails_in_the_second_tags_neither() {
    let registry = TestRegistry::start();
    // Blob uploads to acme/b are refused for good; acme/a (pushed first) takes them.
    let proxy = registry.proxy(&["--refuse=PUT:/v2/acme/b/blobs/uploads/"]);
    let work = tempfile::tempdir().unwrap();
    shop_context(work.path());
    let (a, b) = (
        format!("{}/acme/a:1", proxy.host()),
        format!("{}/acme/b:1", proxy.host()),
    );
    build(work.path(), &["--tag", &a, "--tag", &b])
        .run()
        .fails(1);
    let requests = proxy.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.starts_with("/v2/acme/a/blobs/uploads/")),
        "acme/a got its blobs first: {requests:#?}"
    );
    assert!(
        requests.iter().all(|r| !r.path.contains("/manifests/")),
        "no manifest put anywhere: {requests:#?}"
    );
    for repository in ["acme/a", "acme/b"] {
        assert!(
            !exists(&format!("{}/{repository}:1", registry.host()), &[]),
            "{repository}:1 does not exist"
        );
    }
}

/// GHCR refuses request bodies over 4 MiB: a 10 MiB layer that does not compress goes up in
/// PATCH requests of at most 4 MiB each.
#[test]
fn a_big_layer_is_uploaded_in_requests_of_at_most_4_mib() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("big");
    // xorshift: bytes gzip cannot shrink.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..10 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    crate::support::write_files(
        &context,
        &[("Dockerfile", "FROM scratch\nCOPY noise /noise\n")],
    );
    std::fs::write(context.join("noise"), &noise).unwrap();
    let tag = format!("{}/acme/big:1", proxy.host());
    build(&context, &["--tag", &tag]).run().success();
    let patches: Vec<u64> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.bytes)
        .collect();
    assert!(patches.len() >= 3, "{patches:?}");
    assert!(patches.iter().all(|&b| b <= 4 << 20), "{patches:?}");
    assert!(patches.iter().sum::<u64>() > 10 << 20, "{patches:?}");
}
