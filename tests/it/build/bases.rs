//! Images on base images: multi-platform indexes, base layers mounted across repositories
//! (also under token auth) rather than uploaded, and bases in Docker's manifest formats.

use std::str::FromStr;

use serde_json::Value;

use super::{app_context, base_context, build, inspect_with, unpack};
use crate::support::lib::{Access, Registry};
use crate::support::registry::{TestRegistry, TokenServer, inspect, skopeo, umoci_unpack};
use crate::support::{Cli, text, write_files};

#[test]
fn multi_platform_images_get_an_index_per_arch_files_and_base_layers_mounted_not_uploaded() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    // A multi-platform base image in another repository of the same registry.
    let base = work.path().join("base");
    write_files(
        &base,
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/bin:/bin\nCMD [\"/bin/sh\"]\n",
            ),
            ("rootfs/etc/os-release", "ID=testos\n"),
            ("rootfs/etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
        ],
    );
    let base_tag = format!("{}/platform/base:1", proxy.host());
    build(
        &base,
        &["--tag", &base_tag, "--platform", "linux/amd64,linux/arm64"],
    )
    .run()
    .success();

    let app = work.path().join("app");
    write_files(
        &app,
        &[
            (
                "Dockerfile",
                &format!(
                    "ARG BASE={base_tag}\n\
                     FROM --platform=$BUILDPLATFORM scratch AS binaries\n\
                     ARG TARGETARCH\n\
                     COPY dist/app-${{TARGETARCH}} /app\n\
                     FROM ${{BASE}}\n\
                     COPY --from=binaries /app /usr/bin/app\n\
                     ENTRYPOINT [\"/usr/bin/app\"]\n"
                ),
            ),
            ("dist/app-amd64", "binary for amd64\n"),
            ("dist/app-arm64", "binary for arm64\n"),
        ],
    );
    proxy.clear();
    let tag = format!("{}/team/app:2", proxy.host());
    let built: Value = build(
        &app,
        &[
            "--tag",
            &tag,
            "--platform",
            "linux/amd64,linux/arm64",
            "--output",
            "json",
        ],
    )
    .run()
    .success()
    .json();
    assert_eq!(
        built["media_type"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(built["platforms"].as_array().unwrap().len(), 2);
    assert_eq!(built["tags"], serde_json::json!([tag]));
    assert!(built["size"].as_u64().unwrap() > 0);

    let index = inspect(&tag, &["--raw"]);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    for (arch, m) in ["amd64", "arm64"]
        .iter()
        .zip(index["manifests"].as_array().unwrap())
    {
        assert_eq!(
            m["digest"],
            built["platforms"][if *arch == "amd64" { 0 } else { 1 }]["digest"]
        );
        let config = inspect(&tag, &["--config", "--override-arch", arch]);
        assert_eq!(config["architecture"], *arch);
        assert_eq!(
            config["config"]["Env"],
            serde_json::json!(["PATH=/usr/bin:/bin"]),
            "the base's config is kept"
        );
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/usr/bin/app"])
        );
        assert!(
            config["config"]["Cmd"].is_null(),
            "a new ENTRYPOINT drops the base's CMD"
        );
        let manifest = inspect(
            &format!(
                "{}/team/app@{}",
                proxy.host(),
                m["digest"].as_str().unwrap()
            ),
            &["--raw"],
        );
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.base.name"],
            base_tag.as_str()
        );
        let dir = work.path().join(arch);
        std::fs::create_dir_all(&dir).unwrap();
        let layout = dir.join("layout");
        let copied = skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--override-arch",
            arch,
            &format!("docker://{tag}"),
            &format!("oci:{}:image", layout.display()),
        ]);
        assert!(copied.status.success(), "{}", text(&copied.stderr));
        let root = umoci_unpack(&layout, "image", &dir.join("bundle"));
        assert_eq!(
            std::fs::read_to_string(root.join("usr/bin/app")).unwrap(),
            format!("binary for {arch}\n")
        );
        assert_eq!(
            std::fs::read_to_string(root.join("etc/os-release")).unwrap(),
            "ID=testos\n",
            "the base's files are there"
        );
    }
    // The base layer went across repositories by mount, never by upload.
    let requests = proxy.requests();
    assert!(
        requests.iter().any(|r| r.method == "POST"
            && r.path.contains("mount=")
            && r.path.contains("from=platform%2Fbase")
            && r.status == "201"),
        "{requests:#?}"
    );
    assert_eq!(
        proxy.blob_uploads().len(),
        3 * 4,
        "two layers and two configs, three requests each: {:#?}",
        proxy.blob_uploads()
    );
}

/// GHCR, GitLab and Harbor hand out tokens: a mount needs pull on the base's repository in the
/// same token as push on the target. The token server is a fake following Docker's token auth
/// spec (it logs the scopes asked for); the registry behind it is real.
#[test]
fn base_layers_are_mounted_under_token_auth_fake_token_server() {
    let (user, password) = ("ci-bot", "token-auth-pw");
    let tokens = TokenServer::start(user, password);
    let registry = TestRegistry::start_with_tokens(&tokens);
    let proxy = registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    let with_login = |cli: Cli| {
        cli.env("REGISTRY_USERNAME", user)
            .env("REGISTRY_PASSWORD", password)
    };
    let base = work.path().join("base");
    base_context(&base);
    let base_tag = format!("{}/platform/base:1", proxy.host());
    with_login(build(&base, &["--tag", &base_tag]))
        .run()
        .success();
    let base_layer = inspect_with(&base_tag, user, password)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    let app = work.path().join("app");
    app_context(&app, &base_tag);
    proxy.clear();
    let tag = format!("{}/team/app:1", proxy.host());
    let built: Value = with_login(build(&app, &["--tag", &tag, "--output", "json"]))
        .run()
        .success()
        .json();
    let transfer = |digest: &str| {
        built["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["digest"] == digest)
            .map(|t| t["transfer"].clone())
    };
    assert_eq!(transfer(&base_layer), Some("mounted".into()), "{built:#}");
    let requests = proxy.requests();
    assert!(
        requests.iter().any(|r| r.method == "POST"
            && r.path
                .contains(&format!("mount={}", base_layer.replace(':', "%3A")))
            && r.path.contains("from=platform%2Fbase")
            && r.status == "201"),
        "{requests:#?}"
    );
    let uploads = proxy.blob_uploads();
    assert!(
        uploads
            .iter()
            .all(|r| !r.path.contains(&base_layer.replace(':', "%3A"))),
        "the base layer is not uploaded: {uploads:#?}"
    );
    assert_eq!(
        uploads.len(),
        2 * 3,
        "the app's layer and config only: {uploads:#?}"
    );
    let both = [
        "repository:team/app:pull,push".to_owned(),
        "repository:platform/base:pull".to_owned(),
    ];
    assert!(
        tokens
            .requests()
            .iter()
            .any(|r| r[0] == user && r[1..] == both),
        "one token for both repositories: {:#?}",
        tokens.requests()
    );
    let layers = inspect_with(&tag, user, password)["layers"].clone();
    assert_eq!(layers.as_array().unwrap().len(), 2);
    assert_eq!(layers[0]["digest"], base_layer.as_str());
}

/// A registry may answer a mount with 202 and an upload session instead (here: the source
/// repository lacks the blob); that session is cancelled, not left open.
#[test]
fn a_mount_the_registry_answers_with_an_upload_session_cancels_the_session() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&[]);
    let host = proxy.host();
    let reference = |r: &str| oci_client::Reference::from_str(&format!("{host}/{r}")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mounted = runtime.block_on(async {
        let registry = Registry::new(&host, &Access::default());
        registry
            .mount(
                &reference("team/app:1"),
                &reference("platform/empty:1"),
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            )
            .await
    });
    assert!(!mounted, "nothing to mount");
    let requests = proxy.requests();
    let opened = requests
        .iter()
        .find(|r| r.method == "POST" && r.path.contains("mount="))
        .unwrap_or_else(|| panic!("{requests:#?}"));
    assert_eq!(opened.status, "202", "{requests:#?}");
    assert!(
        requests.iter().any(|r| r.method == "DELETE"
            && r.path.starts_with("/v2/team/app/blobs/uploads/")
            && r.status == "204"),
        "the upload session is cancelled: {requests:#?}"
    );
}

/// Docker's manifest formats have no annotations: an image on a Docker v2 schema 2 base is written
/// with OCI media types (the layers are the same bytes), so its annotations are kept.
#[test]
fn an_image_on_a_docker_format_base_is_written_in_oci_media_types_with_its_annotations() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("base");
    base_context(&base);
    let layout = work.path().join("base-layout");
    build(
        &base,
        &[
            "--oci-layout",
            layout.to_str().unwrap(),
            "--platform",
            "linux/amd64,linux/arm64",
        ],
    )
    .run()
    .success();
    let base_tag = format!("{}/platform/docker-base:1", registry.host());
    let copied = skopeo(&[
        "copy",
        "--all",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &format!("oci:{}", layout.display()),
        &format!("docker://{base_tag}"),
    ]);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    assert_eq!(
        inspect(&base_tag, &["--raw"])["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "the base is in Docker's format"
    );

    let app = work.path().join("app");
    app_context(&app, &base_tag);
    let tag = format!("{}/team/app:1", registry.host());
    build(
        &app,
        &["--tag", &tag, "--platform", "linux/amd64,linux/arm64"],
    )
    .env("SOURCE_DATE_EPOCH", "1700000000")
    .run()
    .success();
    let index = inspect(&tag, &["--raw"]);
    assert_eq!(
        index["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    // Every media type of the image, each with what it must be.
    let oci = |kind: &str| format!("application/vnd.oci.image.{kind}");
    let mut media_types = vec![(index["mediaType"].clone(), oci("index.v1+json"))];
    for child in index["manifests"].as_array().unwrap() {
        let by_digest = format!(
            "{}/team/app@{}",
            registry.host(),
            child["digest"].as_str().unwrap()
        );
        let manifest = inspect(&by_digest, &["--raw"]);
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.base.name"],
            base_tag.as_str()
        );
        media_types.push((child["mediaType"].clone(), oci("manifest.v1+json")));
        media_types.push((manifest["mediaType"].clone(), oci("manifest.v1+json")));
        media_types.push((
            manifest["config"]["mediaType"].clone(),
            oci("config.v1+json"),
        ));
        for layer in manifest["layers"].as_array().unwrap() {
            media_types.push((layer["mediaType"].clone(), oci("layer.v1.tar+gzip")));
        }
    }
    for (found, wanted) in &media_types {
        assert_eq!(found, wanted.as_str(), "{media_types:#?}");
    }
    let root = unpack(&tag, work.path());
    assert_eq!(
        std::fs::read_to_string(root.join("etc/os-release")).unwrap(),
        "ID=testos\n",
        "the base's layer reads back under its OCI name"
    );
    assert_eq!(std::fs::read_to_string(root.join("hello")).unwrap(), "hi\n");
}

/// A base image whose registry cannot be reached is a runtime failure (exit 1), not a mistake in
/// the Dockerfile (exit 2): the same build may pass once the network is back. The message still
/// says which line and which registry.
#[test]
fn an_unreachable_base_image_registry_is_a_runtime_failure() {
    let work = tempfile::tempdir().unwrap();
    write_files(
        work.path(),
        &[("Dockerfile", "FROM 127.0.0.1:1/nothing:1\nCOPY . /app\n")],
    );
    let layout = work.path().join("layout");
    let out = build(work.path(), &["--oci-layout", layout.to_str().unwrap()])
        .limit(std::time::Duration::from_secs(90))
        .run()
        .fails(1);
    out.stderr_has("Dockerfile:1:")
        .stderr_has("127.0.0.1:1")
        .stderr_has("help:");
    assert!(!layout.exists(), "nothing written");
}
