//! `scoreline build` as a user runs it, against a real OCI registry (Debian's `docker-registry`
//! on loopback, started per test), read back with `skopeo` and `umoci`. Request counting and
//! failure injection go through `tests/support/registry_proxy.py` in front of the registry.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;

use common::registry::{
    TestRegistry, TokenServer, inspect, is_root, layer_owners, skopeo, umoci_unpack,
};
use common::{run, scoreline, text, write_files};
use scoreline::image::registry::{Access, Registry};
use serde_json::Value;

fn build(context: &Path, args: &[&str]) -> Command {
    let mut cmd = scoreline();
    cmd.arg("build").arg("--context").arg(context).args(args);
    for var in [
        "SOURCE_DATE_EPOCH",
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
        "CI_REGISTRY",
        "CI_REGISTRY_USER",
        "CI_REGISTRY_PASSWORD",
        "GITHUB_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    // No credentials from the developer's own Docker login.
    cmd.env("DOCKER_CONFIG", context.join(".no-docker-config"));
    cmd
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The last stdout line: the pinned reference.
fn pinned(out: &Output) -> String {
    ok(out)
        .lines()
        .last()
        .expect("a pinned reference")
        .to_owned()
}

fn digest_of(pinned: &str) -> String {
    pinned.split_once('@').expect("REF@DIGEST").1.to_owned()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Copies `reference` from the registry into an OCI layout and unpacks it with umoci.
fn unpack(reference: &str, work: &Path) -> std::path::PathBuf {
    let layout = work.join("layout");
    let out = skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{reference}"),
        &format!("oci:{}:image", layout.display()),
    ]);
    assert!(out.status.success(), "skopeo copy: {}", text(&out.stderr));
    umoci_unpack(&layout, "image", &work.join("bundle"))
}

/// A service's context: app files, configs, a vendored tarball, a script, and files that
/// `.dockerignore` keeps out.
fn shop_context(dir: &Path) {
    write_files(
        dir,
        &[
            (
                "Dockerfile",
                "# syntax=docker/dockerfile:1\n\
                 ARG GREETING=hello\n\
                 FROM scratch\n\
                 ARG GREETING\n\
                 ENV GREETING=${GREETING} \\\n    APP_HOME=/srv/app\n\
                 WORKDIR $APP_HOME\n\
                 COPY --chown=1000:1000 app/ ./\n\
                 COPY --chmod=0600 config/*.toml /etc/shop/\n\
                 ADD vendor.tar.gz /opt/vendor/\n\
                 COPY [\"bin/run.sh\", \"/usr/local/bin/run\"]\n\
                 USER 1000:1000\n\
                 EXPOSE 8080 9090/udp\n\
                 LABEL org.example.team=\"checkout\" org.example.tier=web\n\
                 ENTRYPOINT [\"/usr/local/bin/run\"]\n\
                 CMD [\"--port\", \"8080\"]\n",
            ),
            (
                ".dockerignore",
                "**/*.env\n!app/public.env\napp/node_modules\nDockerfile\n",
            ),
            ("app/main.py", "print('shop')\n"),
            ("app/static/app.js", "console.log('shop');\n"),
            ("app/secret.env", "TOKEN=do-not-ship\n"),
            ("app/public.env", "MODE=public\n"),
            ("app/node_modules/left/index.js", "module.exports = 1;\n"),
            ("config/a.toml", "a = 1\n"),
            ("config/b.toml", "b = 2\n"),
            ("config/c.yaml", "c: 3\n"),
            (
                "bin/run.sh",
                "#!/bin/sh\nexec python3 /srv/app/main.py \"$@\"\n",
            ),
            ("vendor/lib/x.txt", "vendored\n"),
        ],
    );
    chmod(&dir.join("bin/run.sh"), 0o755);
    chmod(&dir.join("vendor/lib/x.txt"), 0o640);
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(dir.join("vendor.tar.gz"))
        .arg("-C")
        .arg(dir.join("vendor"))
        .arg("lib")
        .status()
        .unwrap();
    assert!(tar.success());
    std::fs::remove_dir_all(dir.join("vendor")).unwrap();
}

#[test]
fn build_pushes_to_a_real_registry_and_skopeo_and_umoci_read_the_files_back() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("shop");
    shop_context(&context);
    // Big enough to be compressed in several pieces (gzip members) in parallel.
    let data: Vec<u8> = (0u32..9 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 % 61)
        .collect();
    std::fs::write(context.join("app/data.bin"), &data).unwrap();
    let dotenv = work.path().join("build.env");
    let tag = format!("{}/acme/shop:1.4.2", registry.host());
    let out = run(build(
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
    .env("SOURCE_DATE_EPOCH", "1700000000")
    .env("GITLAB_CI", "true")
    .env("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop")
    .env("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"));
    let pinned = pinned(&out);
    assert!(
        pinned.starts_with(&format!("{}/acme/shop@sha256:", registry.host())),
        "{pinned}"
    );
    let digest = digest_of(&pinned);
    assert_eq!(
        std::fs::read_to_string(&dotenv).unwrap(),
        format!("SCORELINE_IMAGE={pinned}\nSCORELINE_DIGEST={digest}\n")
    );

    let image = inspect(&tag, &[]);
    assert_eq!(image["Digest"], digest.as_str());
    let mut tags: Vec<&str> = image["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.4.2", "main"]);
    let config = inspect(&tag, &["--config"]);
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
    let manifest = inspect(&tag, &["--raw"]);
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

    let root = unpack(&tag, work.path());
    let file = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let meta = |path: &str| {
        std::fs::symlink_metadata(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert_eq!(file("srv/app/main.py"), "print('shop')\n");
    assert!(
        std::fs::read(root.join("srv/app/data.bin")).unwrap() == data,
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
    let headers = (!is_root()).then(|| layer_owners(&work.path().join("layout"), "image"));
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

/// Docker looks inside an excluded folder when a `!` exception may match below it.
#[test]
fn dockerignore_exceptions_inside_an_excluded_folder_are_copied_as_docker_copies_them() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("ctx");
    write_files(
        &context,
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY . /x\nCOPY logs /only-logs/\n",
            ),
            (
                ".dockerignore",
                "Dockerfile\ndocs\n!docs/keep.md\nlogs\n!logs/**/important.log\n",
            ),
            ("docs/keep.md", "kept\n"),
            ("docs/guide.md", "left out\n"),
            ("logs/app/important.log", "important\n"),
            ("logs/app/noise.log", "noise\n"),
            ("logs/other/noise.log", "noise\n"),
            ("main.txt", "main\n"),
        ],
    );
    chmod(&context.join("docs"), 0o750);
    let layout = work.path().join("layout");
    ok(&run(&mut build(
        &context,
        &["--oci-layout", layout.to_str().unwrap()],
    )));
    let root = umoci_unpack(&layout, "latest", &work.path().join("bundle"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).ok();
    assert_eq!(read("x/main.txt").as_deref(), Some("main\n"));
    assert_eq!(
        read("x/docs/keep.md").as_deref(),
        Some("kept\n"),
        "`!` re-includes"
    );
    assert_eq!(
        std::fs::metadata(root.join("x/docs")).unwrap().mode() & 0o7777,
        0o750,
        "the excluded folder comes in as it is, with what it holds"
    );
    assert_eq!(read("x/docs/guide.md"), None);
    assert_eq!(
        read("x/logs/app/important.log").as_deref(),
        Some("important\n")
    );
    assert_eq!(read("x/logs/app/noise.log"), None);
    assert!(
        !root.join("x/logs/other").exists(),
        "a folder with nothing re-included stays out"
    );
    assert_eq!(
        read("only-logs/app/important.log").as_deref(),
        Some("important\n"),
        "an excluded folder named by COPY holds its exceptions"
    );
    assert_eq!(read("only-logs/app/noise.log"), None);
}

#[test]
fn the_same_inputs_give_the_same_digest_and_an_unchanged_rebuild_uploads_no_blobs() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    shop_context(&first);
    let tag = format!("{}/acme/shop:1", proxy.host());
    let digest = digest_of(&pinned(&run(&mut build(&first, &["--tag", &tag]))));
    assert!(!proxy.blob_uploads().is_empty(), "the first push uploads");

    // The same files elsewhere, written later (other mtimes, other inode order): same image.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = work.path().join("second");
    shop_context(&second);
    proxy.clear();
    let again = run(&mut build(&second, &["--tag", &tag, "--output", "json"]));
    let built: Value = serde_json::from_str(&ok(&again)).unwrap();
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
        ok(&run(&mut build(
            &second,
            &["--oci-layout", layout.to_str().unwrap()]
        )))
        .lines()
        .last()
        .unwrap()
    ));
    assert_eq!(from_layout, digest);
}

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
    ok(&run(&mut build(
        &base,
        &["--tag", &base_tag, "--platform", "linux/amd64,linux/arm64"],
    )));

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
    let out = run(&mut build(
        &app,
        &[
            "--tag",
            &tag,
            "--platform",
            "linux/amd64,linux/arm64",
            "--output",
            "json",
        ],
    ));
    let built: Value = serde_json::from_str(&ok(&out)).unwrap();
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

/// A base image's context: one file, `/etc/os-release`.
fn base_context(dir: &Path) {
    write_files(
        dir,
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY os-release /etc/os-release\n",
            ),
            ("os-release", "ID=testos\n"),
        ],
    );
}

/// An app's context on `base`: it adds `/hello`.
fn app_context(dir: &Path, base: &str) {
    write_files(
        dir,
        &[
            ("Dockerfile", &format!("FROM {base}\nCOPY hello /hello\n")),
            ("hello", "hi\n"),
        ],
    );
}

#[test]
fn a_tag_and_an_oci_layout_together_get_the_same_image() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("app");
    app_context(&context, "scratch");
    let layout = work.path().join("layout");
    let tag = format!("{}/acme/both:1.0", registry.host());
    let out = run(&mut build(
        &context,
        &[
            "--tag",
            &tag,
            "--oci-layout",
            layout.to_str().unwrap(),
            "--output",
            "json",
        ],
    ));
    let built: Value = serde_json::from_str(&ok(&out)).unwrap();
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
    let mut cmd = Command::new("script");
    let line = std::iter::once(scoreline.get_program())
        .chain(scoreline.get_args())
        .map(|a| format!("'{}'", a.to_str().unwrap()))
        .collect::<Vec<_>>()
        .join(" ");
    cmd.args(["-qec", &line, "/dev/null"])
        .current_dir(scoreline.get_current_dir().unwrap())
        .env("CI", "true");
    for (name, value) in scoreline.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    let log = ok(&run(&mut cmd));
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

/// CMD and ENTRYPOINT in shell form run through the shell, SHELL's when one is set.
#[test]
fn shell_form_cmd_and_entrypoint_run_through_the_shell() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("app");
    write_files(
        &context,
        &[
            (
                "Dockerfile",
                "FROM scratch\nCMD echo \"hi $USER\" && exec sleep 1\n",
            ),
            (
                "Entrypoint.Dockerfile",
                "FROM scratch\nSHELL [\"/bin/bash\", \"-eu\", \"-c\"]\nENTRYPOINT exec /app --port 8080\n",
            ),
        ],
    );
    let cmd_tag = format!("{}/acme/shell:cmd", registry.host());
    ok(&run(&mut build(&context, &["--tag", &cmd_tag])));
    assert_eq!(
        inspect(&cmd_tag, &["--config"])["config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "echo \"hi $USER\" && exec sleep 1"])
    );
    let entrypoint_tag = format!("{}/acme/shell:entrypoint", registry.host());
    ok(&run(build(&context, &["--tag", &entrypoint_tag])
        .arg("--file")
        .arg(context.join("Entrypoint.Dockerfile"))));
    let config = inspect(&entrypoint_tag, &["--config"]);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/bin/bash", "-eu", "-c", "exec /app --port 8080"])
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
    let with_login = |cmd: &mut Command| {
        cmd.env("REGISTRY_USERNAME", user)
            .env("REGISTRY_PASSWORD", password);
    };
    let base = work.path().join("base");
    base_context(&base);
    let base_tag = format!("{}/platform/base:1", proxy.host());
    let mut push_base = build(&base, &["--tag", &base_tag]);
    with_login(&mut push_base);
    ok(&run(&mut push_base));
    let base_layer = inspect_with(&base_tag, user, password)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    let app = work.path().join("app");
    app_context(&app, &base_tag);
    proxy.clear();
    let tag = format!("{}/team/app:1", proxy.host());
    let mut push_app = build(&app, &["--tag", &tag, "--output", "json"]);
    with_login(&mut push_app);
    let built: Value = serde_json::from_str(&ok(&run(&mut push_app))).unwrap();
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

/// `skopeo inspect --raw` of `reference`, logged in.
fn inspect_with(reference: &str, user: &str, password: &str) -> Value {
    inspect(
        reference,
        &["--raw", "--creds", &format!("{user}:{password}")],
    )
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
    ok(&run(&mut build(
        &base,
        &[
            "--oci-layout",
            layout.to_str().unwrap(),
            "--platform",
            "linux/amd64,linux/arm64",
        ],
    )));
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
    ok(&run(build(
        &app,
        &["--tag", &tag, "--platform", "linux/amd64,linux/arm64"],
    )
    .env("SOURCE_DATE_EPOCH", "1700000000")));
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

#[test]
fn a_dockerfile_with_run_and_no_container_runtime_exits_2_naming_the_line() {
    let work = tempfile::tempdir().unwrap();
    write_files(
        work.path(),
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY . /src\nRUN make install\n",
            ),
            ("Makefile", "install:\n"),
        ],
    );
    let empty_path = tempfile::tempdir().unwrap();
    let out =
        run(build(work.path(), &["--tag", "127.0.0.1:1/never/pushed:1"])
            .env("PATH", empty_path.path()));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Dockerfile:3:1"), "{stderr}");
    assert!(stderr.contains("RUN needs a container runtime"), "{stderr}");
    for runtime in ["docker buildx", "buildah", "podman"] {
        assert!(stderr.contains(runtime), "names {runtime}: {stderr}");
    }
    assert!(text(&out.stdout).is_empty());
}

/// Runners often carry a docker CLI (even its buildx plugin) with no daemon to build on (this
/// machine's kind does): a fake `docker` that answers `--version` and `buildx version` and fails
/// `buildx inspect`, as such a CLI does, must not be taken for a runtime.
#[test]
fn a_docker_cli_without_a_usable_buildx_fake_docker_is_not_taken_for_a_runtime() {
    let work = tempfile::tempdir().unwrap();
    write_files(
        work.path(),
        &[
            ("Dockerfile", "FROM scratch\nRUN true\n"),
            (
                "bin/docker",
                "#!/bin/sh\ncase \"$1 $2\" in\n  '--version '|'buildx version') echo 'Docker version 28.2.2'; exit 0 ;;\nesac\necho 'ERROR: Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2\nexit 1\n",
            ),
        ],
    );
    chmod(&work.path().join("bin/docker"), 0o755);
    let out = run(build(work.path(), &["--tag", "127.0.0.1:1/never/pushed:1"])
        .env("PATH", work.path().join("bin")));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Dockerfile:2:1"), "{stderr}");
    assert!(
        stderr.contains("docker is on PATH but has no usable buildx builder"),
        "{stderr}"
    );
    assert!(
        stderr.contains("buildah") && stderr.contains("podman"),
        "{stderr}"
    );
}

#[test]
fn a_registry_that_fails_requests_through_a_fault_injecting_proxy_still_gets_the_image() {
    let registry = TestRegistry::start();
    let proxy = registry.proxy(&["--faults"]);
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("shop");
    shop_context(&context);
    let tag = format!("{}/acme/shop:flaky", proxy.host());
    let pinned = pinned(&run(&mut build(&context, &["--tag", &tag])));
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

#[test]
fn a_push_that_fails_for_good_leaves_no_tag_behind() {
    let registry = TestRegistry::start();
    // Every blob upload's final PUT is refused: the manifest must never be put.
    let proxy = registry.proxy(&["--refuse=PUT:/blobs/uploads/"]);
    let work = tempfile::tempdir().unwrap();
    shop_context(work.path());
    let out = run(&mut build(
        work.path(),
        &["--tag", &format!("{}/acme/shop:broken", proxy.host())],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("registry"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| !r.path.contains("/manifests/")),
        "no manifest put"
    );
    let missing = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/acme/shop:broken", registry.host()),
    ]);
    assert!(!missing.status.success(), "the tag does not exist");
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
    let out = run(&mut build(work.path(), &["--tag", &a, "--tag", &b]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
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
        let tagged = skopeo(&[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{}/{repository}:1", registry.host()),
        ]);
        assert!(!tagged.status.success(), "{repository}:1 does not exist");
    }
}

#[test]
fn credentials_come_from_the_environment_and_docker_config_and_are_never_printed() {
    let (user, password) = ("ci-bot", "pa55-W0rd-never-shown");
    let registry = TestRegistry::start_with_login(user, password);
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("ctx");
    write_files(
        &context,
        &[
            ("Dockerfile", "FROM scratch\nCOPY hello /hello\n"),
            ("hello", "hi\n"),
        ],
    );
    let host = registry.host();

    let wrong = run(build(&context, &["--tag", &format!("{host}/a/b:1")])
        .env("REGISTRY_USERNAME", user)
        .env("REGISTRY_PASSWORD", "wrong-password"));
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = text(&wrong.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("help: check the credentials"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-password") && !text(&wrong.stdout).contains("wrong-password"));

    let via_env = run(build(&context, &["--tag", &format!("{host}/a/b:1")])
        .env("REGISTRY_USERNAME", user)
        .env("REGISTRY_PASSWORD", password));
    ok(&via_env);
    let via_gitlab = run(build(&context, &["--tag", &format!("{host}/a/c:1")])
        .env("CI_REGISTRY", &host)
        .env("CI_REGISTRY_USER", user)
        .env("CI_REGISTRY_PASSWORD", password));
    ok(&via_gitlab);

    let docker_config = work.path().join("docker");
    let auth = base64_encode(format!("{user}:{password}").as_bytes());
    write_files(
        &docker_config,
        &[(
            "config.json",
            &format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"{auth}\"}}}}}}"),
        )],
    );
    let via_docker =
        run(build(&context, &["--tag", &format!("{host}/a/d:1")])
            .env("DOCKER_CONFIG", &docker_config));
    ok(&via_docker);

    for out in [&via_env, &via_gitlab, &via_docker] {
        assert!(!text(&out.stdout).contains(password) && !text(&out.stderr).contains(password));
    }
    let check = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        &format!("{user}:{password}"),
        &format!("docker://{host}/a/d:1"),
    ]);
    assert!(check.status.success(), "{}", text(&check.stderr));
}

/// A fake `docker-credential-NAME` in `bin` following the docker-credential-helpers protocol:
/// `get` reads the server on stdin and prints its credentials as JSON (for `host` only; any
/// other server is "not found", exit 1); every server asked for is appended to `log`.
fn fake_credential_helper(
    bin: &Path,
    name: &str,
    host: &str,
    user: &str,
    secret: &str,
    log: &Path,
) {
    write_files(
        bin,
        &[(
            &format!("docker-credential-{name}"),
            &format!(
                "#!/bin/sh
[ \"$1\" = get ] || exit 1
read -r server
echo \"$server\" >> '{log}'
if [ \"$server\" = '{host}' ]; then
  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"
else
  echo 'credentials not found in native keychain'
  exit 1
fi
",
                log = log.display()
            ),
        )],
    );
    chmod(&bin.join(format!("docker-credential-{name}")), 0o755);
}

#[test]
fn credentials_come_from_credhelpers_before_auths_and_from_credsstore_fake_credential_helpers() {
    let (user, password) = ("helper-bot", "helper-pw-never-shown");
    let registry = TestRegistry::start_with_login(user, password);
    let host = registry.host();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("ctx");
    write_files(
        &context,
        &[
            ("Dockerfile", "FROM scratch\nCOPY hello /hello\n"),
            ("hello", "hi\n"),
        ],
    );
    let bin = work.path().join("bin");
    let log = work.path().join("helpers.log");
    fake_credential_helper(&bin, "per-host", &host, user, password, &log);
    fake_credential_helper(&bin, "store", &host, user, password, &log);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let push = |config: &str, repository: &str| {
        let dir = work.path().join(repository);
        write_files(&dir, &[("config.json", config)]);
        run(
            build(&context, &["--tag", &format!("{host}/{repository}:1")])
                .env("DOCKER_CONFIG", &dir)
                .env("PATH", &path),
        )
    };
    let wrong = base64_encode(format!("{user}:wrong").as_bytes());
    // Docker asks a host's credHelpers entry before its auths entry.
    let helped = push(
        &format!(
            "{{\"auths\":{{\"{host}\":{{\"auth\":\"{wrong}\"}}}},\"credHelpers\":{{\"{host}\":\"per-host\"}}}}"
        ),
        "helped",
    );
    ok(&helped);
    let stored = push("{\"credsStore\":\"store\"}", "stored");
    ok(&stored);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{host}\n{host}\n"),
        "each helper was asked for the registry's host"
    );
    for out in [&helped, &stored] {
        assert!(!text(&out.stdout).contains(password) && !text(&out.stderr).contains(password));
    }
    for repository in ["helped", "stored"] {
        inspect_with(&format!("{host}/{repository}:1"), user, password);
    }
    // A store that knows nothing of the host: anonymous, refused with what to do.
    let unknown = push("{\"credsStore\":\"missing\"}", "unknown");
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown.stderr));
    assert!(
        text(&unknown.stderr).contains("help: check the credentials"),
        "{}",
        text(&unknown.stderr)
    );
}

/// REGISTRY_USERNAME/REGISTRY_PASSWORD are for the registry pushed to: the base image's registry
/// (here one that wants other credentials, from Docker's config) never sees them.
#[test]
fn push_credentials_from_the_environment_never_reach_the_base_image_registry() {
    let (pusher, push_password) = ("ci-bot", "push-secret-only-for-the-target");
    let target = TestRegistry::start_with_login(pusher, push_password);
    let (reader, read_password) = ("reader", "base-reader-pw");
    let base_registry = TestRegistry::start_with_login(reader, read_password);
    let base_proxy = base_registry.proxy(&[]);
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("base");
    base_context(&base);
    let base_tag = format!("{}/platform/base:1", base_proxy.host());
    ok(&run(build(&base, &["--tag", &base_tag])
        .env("REGISTRY_USERNAME", reader)
        .env("REGISTRY_PASSWORD", read_password)));

    let docker_config = work.path().join("docker");
    let auth = base64_encode(format!("{reader}:{read_password}").as_bytes());
    write_files(
        &docker_config,
        &[(
            "config.json",
            &format!(
                "{{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}",
                base_proxy.host()
            ),
        )],
    );
    let app = work.path().join("app");
    app_context(&app, &base_tag);
    base_proxy.clear();
    let tag = format!("{}/acme/app:1", target.host());
    let out = run(build(&app, &["--tag", &tag])
        .env("REGISTRY_USERNAME", pusher)
        .env("REGISTRY_PASSWORD", push_password)
        .env("DOCKER_CONFIG", &docker_config));
    ok(&out);
    let users: Vec<String> = base_proxy.requests().into_iter().map(|r| r.user).collect();
    assert!(
        users.iter().any(|u| u == reader),
        "the base registry got its own credentials: {users:?}"
    );
    assert!(
        !users.iter().any(|u| u == pusher),
        "the push credentials reached the base registry: {users:?}"
    );
    let pushed = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        &format!("{pusher}:{push_password}"),
        &format!("docker://{tag}"),
    ]);
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `git -C DIR ARGS…` with author and commit time `time`; its stdout, trimmed.
fn git(dir: &Path, time: u64, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_AUTHOR_DATE", format!("{time} +0000"))
        .env("GIT_COMMITTER_DATE", format!("{time} +0000"))
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

fn commit_all(dir: &Path, time: u64) {
    git(dir, time, &["add", "."]);
    git(dir, time, &["commit", "-qm", "change"]);
}

/// The layer digests and the `created` annotation of the image in an OCI layout.
fn layers_and_created(layout: &Path) -> (Vec<Value>, Value) {
    let image = skopeo(&["inspect", "--raw", &format!("oci:{}", layout.display())]);
    assert!(image.status.success(), "{}", text(&image.stderr));
    let manifest: Value = serde_json::from_slice(&image.stdout).unwrap();
    let digests = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].clone())
        .collect();
    (
        digests,
        manifest["annotations"]["org.opencontainers.image.created"].clone(),
    )
}

/// Without SOURCE_DATE_EPOCH the mtimes are 0, not the commit time: a commit that changes nothing
/// in the context changes no layer (nothing to upload again); `created` is still the commit's.
#[test]
fn a_commit_outside_the_context_changes_no_layer_digest_without_source_date_epoch() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    write_files(
        &repo,
        &[
            (
                "service/Dockerfile",
                "FROM scratch\nCOPY app.txt /app.txt\n",
            ),
            ("service/app.txt", "app\n"),
            ("NOTES.md", "first\n"),
        ],
    );
    git(&repo, 1_710_000_000, &["init", "-q"]);
    commit_all(&repo, 1_710_000_000);
    let context = repo.join("service");
    let first = work.path().join("first");
    ok(&run(&mut build(
        &context,
        &["--oci-layout", first.to_str().unwrap()],
    )));
    std::fs::write(repo.join("NOTES.md"), "second\n").unwrap();
    commit_all(&repo, 1_720_000_000);
    let second = work.path().join("second");
    ok(&run(&mut build(
        &context,
        &["--oci-layout", second.to_str().unwrap()],
    )));
    let (first_layers, first_created) = layers_and_created(&first);
    let (second_layers, second_created) = layers_and_created(&second);
    assert_eq!(first_layers, second_layers, "the same layers");
    assert_eq!(
        first_created, "2024-03-09T16:00:00Z",
        "the first commit's time"
    );
    assert_eq!(
        second_created, "2024-07-03T09:46:40Z",
        "the second commit's time"
    );
    let root = umoci_unpack(&second, "latest", &work.path().join("bundle"));
    assert_eq!(std::fs::metadata(root.join("app.txt")).unwrap().mtime(), 0);
}

#[test]
fn an_oci_layout_build_needs_no_registry_and_takes_provenance_from_git() {
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("repo");
    write_files(
        &context,
        &[
            ("Dockerfile", "FROM scratch\nCOPY site/ /usr/share/site/\n"),
            ("site/index.html", "<h1>hi</h1>\n"),
        ],
    );
    let git = |args: &[&str]| git(&context, 1_710_000_000, args);
    git(&["init", "-q"]);
    commit_all(&context, 1_710_000_000);
    git(&[
        "remote",
        "add",
        "origin",
        "https://deploy:glpat-secret@gitlab.example.com/acme/site.git",
    ]);
    let head = git(&["rev-parse", "HEAD"]);

    let layout = work.path().join("out/site");
    let only_layout = run(&mut build(
        &context,
        &["--oci-layout", layout.to_str().unwrap()],
    ));
    let digest = ok(&only_layout).lines().last().unwrap().to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let image = skopeo(&["inspect", "--raw", &format!("oci:{}", layout.display())]);
    assert!(image.status.success(), "{}", text(&image.stderr));
    let manifest: Value = serde_json::from_slice(&image.stdout).unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"],
        head.as_str()
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.source"],
        "https://gitlab.example.com/acme/site.git",
        "credentials are stripped"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.created"], "2024-03-09T16:00:00Z",
        "the commit's time"
    );
    let root = umoci_unpack(&layout, "latest", &work.path().join("bundle"));
    assert_eq!(
        std::fs::read_to_string(root.join("usr/share/site/index.html")).unwrap(),
        "<h1>hi</h1>\n"
    );
}

#[test]
fn bad_dockerfiles_exit_2_with_file_line_column_and_write_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "FROM scratch\nFROBNICATE x\n",
            "Dockerfile:2:1",
            "unknown instruction `FROBNICATE`",
        ),
        (
            "LABEL a=b\nFROM scratch\n",
            "Dockerfile:1:1",
            "LABEL comes before the first FROM",
        ),
        (
            "FROM scratch\nCOPY missing.txt /x\n",
            "Dockerfile:2:1",
            "`missing.txt` matches nothing",
        ),
        (
            "FROM scratch\nCOPY --chown=app:app a.txt /a\n",
            "Dockerfile:2:1",
            "--chown=app:app must be numeric",
        ),
        (
            "FROM scratch\nCOPY --chmod=rwx a.txt /a\n",
            "Dockerfile:2:1",
            "--chmod=rwx is not an octal mode",
        ),
        (
            "FROM scratch\nCOPY a.txt b.txt /dest\n",
            "Dockerfile:2:1",
            "needs a destination folder ending in `/`",
        ),
        (
            "FROM scratch\nADD https://example.com/x.tgz /x\n",
            "Dockerfile:2:1",
            "ADD from a URL",
        ),
        (
            "FROM scratch\nCOPY ../outside /x\n",
            "Dockerfile:2:1",
            "leaves the build context",
        ),
        (
            "FROM scratch\nHEALTHCHECK --interval=soon CMD [\"/x\"]\n",
            "Dockerfile:2:1",
            "is not a duration",
        ),
    ];
    for (dockerfile, at, message) in cases {
        let work = tempfile::tempdir().unwrap();
        let context = work.path().join("ctx");
        write_files(
            &context,
            &[
                ("Dockerfile", dockerfile),
                ("a.txt", "a\n"),
                ("b.txt", "b\n"),
            ],
        );
        let layout = work.path().join("layout");
        let out = run(&mut build(
            &context,
            &["--oci-layout", layout.to_str().unwrap()],
        ));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{dockerfile}: {stderr}");
        assert!(
            stderr.contains(at) && stderr.contains(message),
            "{dockerfile}: wanted {at} {message}, got:\n{stderr}"
        );
        assert!(
            stderr.contains("help:"),
            "{dockerfile}: says what to do:\n{stderr}"
        );
        assert!(!layout.exists(), "{dockerfile}: nothing written");
    }
    let work = tempfile::tempdir().unwrap();
    write_files(work.path(), &[("Dockerfile", "FROM scratch\n")]);
    let nowhere = run(&mut build(work.path(), &[]));
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(
        text(&nowhere.stderr).contains("--tag"),
        "{}",
        text(&nowhere.stderr)
    );
}

/// A CA and a certificate it signed for `0.0.0.0` (which Linux connects to locally, and which
/// is not a loopback name, so TLS applies), made with the openssl CLI.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            text(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=scoreline test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=registry",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:0.0.0.0\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
}

#[test]
fn tls_is_verified_unless_the_registry_is_named_insecure() {
    let work = tempfile::tempdir().unwrap();
    certificates(work.path());
    let tls =
        TestRegistry::start_with_tls(&work.path().join("cert.pem"), &work.path().join("key.pem"));
    let context = work.path().join("ctx");
    write_files(
        &context,
        &[
            ("Dockerfile", "FROM scratch\nCOPY hello /hello\n"),
            ("hello", "hi\n"),
        ],
    );
    let tls_tag = format!("0.0.0.0:{}/a/b:1", tls.port);

    let untrusted = run(&mut build(&context, &["--tag", &tls_tag]));
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(
        text(&untrusted.stderr).contains("not trusted"),
        "{}",
        text(&untrusted.stderr)
    );
    let trusted =
        run(build(&context, &["--tag", &tls_tag]).env("SSL_CERT_FILE", work.path().join("ca.pem")));
    assert!(pinned(&trusted).starts_with(&format!("0.0.0.0:{}/a/b@sha256:", tls.port)));

    // A plain-HTTP registry under a non-loopback name needs --insecure-registry.
    let plain = TestRegistry::start();
    let plain_host = format!("0.0.0.0:{}", plain.port);
    let refused = run(&mut build(
        &context,
        &["--tag", &format!("{plain_host}/a/b:1")],
    ));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("--insecure-registry"),
        "{}",
        text(&refused.stderr)
    );
    ok(&run(&mut build(
        &context,
        &[
            "--tag",
            &format!("{plain_host}/a/b:1"),
            "--insecure-registry",
            &plain_host,
        ],
    )));
}

/// Podman cannot run here (no user namespaces or storage driver): a fake `podman` on PATH that
/// follows its CLI (`--version`, `build`, `push SOURCE DESTINATION`) records what it is asked in
/// the log and "pushes" an image prepared beforehand with skopeo. Returns the folder to put on
/// PATH, the log, and the prepared image's digest.
fn fake_podman(work: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let prepared = work.join("prepared");
    let simple = work.join("simple");
    write_files(
        &simple,
        &[
            ("Dockerfile", "FROM scratch\nCOPY hello /hello\n"),
            ("hello", "built by podman\n"),
        ],
    );
    let digest = pinned(&run(&mut build(
        &simple,
        &["--oci-layout", prepared.to_str().unwrap()],
    )));
    let bin = work.join("bin");
    let log = work.join("podman.log");
    let skopeo_path = text(
        &Command::new("sh")
            .args(["-c", "command -v skopeo"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_owned();
    write_files(
        &bin,
        &[(
            "podman",
            &format!(
                "#!/bin/sh\necho \"$*\" >> '{log}'\ncase \"$1\" in\n  --version) echo 'podman version 5.2.0' ;;\n  build) ;;\n  push) exec '{skopeo_path}' copy --quiet --dest-tls-verify=false 'oci:{prepared}' \"$4\" ;;\n  *) exit 125 ;;\nesac\n",
                log = log.display(),
                prepared = prepared.display()
            ),
        )],
    );
    chmod(&bin.join("podman"), 0o755);
    (bin, log, digest)
}

#[test]
fn run_is_handed_to_podman_on_path_fake_podman_following_its_cli() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let (bin, log, _) = fake_podman(work.path());
    let context = work.path().join("app");
    write_files(
        &context,
        &[("Dockerfile", "FROM scratch\nCOPY . /src\nRUN make\n")],
    );
    let tag = format!("{}/acme/app:1", registry.host());
    let out = run(build(
        &context,
        &[
            "--tag",
            &tag,
            "--label",
            "team=shop",
            "--build-arg",
            "VERSION=1.2",
            "--output",
            "json",
        ],
    )
    .env("PATH", &bin));
    let built: Value = serde_json::from_str(&ok(&out)).unwrap();
    let calls = std::fs::read_to_string(&log).unwrap();
    let dockerfile = context.join("Dockerfile");
    assert!(
        calls.contains(&format!(
            "build --file {} --tag {tag} --label team=shop --build-arg VERSION=1.2 {}",
            dockerfile.display(),
            context.display()
        )),
        "{calls}"
    );
    assert!(
        calls.contains(&format!("push --tls-verify=false {tag} docker://{tag}")),
        "loopback is plain HTTP: {calls}"
    );
    let pushed = inspect(&tag, &[]);
    assert_eq!(built["digest"], pushed["Digest"]);
    assert_eq!(
        built["reference"],
        format!(
            "{}/acme/app@{}",
            registry.host(),
            pushed["Digest"].as_str().unwrap()
        )
        .as_str()
    );
    assert_eq!(
        built["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(built["size"].as_u64().unwrap() > 0);
}

#[test]
fn a_run_build_into_an_oci_layout_only_pins_the_digest_podman_wrote_fake_podman() {
    let work = tempfile::tempdir().unwrap();
    let (bin, log, prepared) = fake_podman(work.path());
    let context = work.path().join("app");
    write_files(
        &context,
        &[("Dockerfile", "FROM scratch\nCOPY . /src\nRUN make\n")],
    );
    let layout = work.path().join("out");
    let out = run(build(&context, &["--oci-layout", layout.to_str().unwrap()]).env("PATH", &bin));
    let digest = pinned(&out);
    assert_eq!(digest, prepared, "the digest of what podman wrote");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains(&format!(
            "push --tls-verify=true scoreline-build oci:{}",
            layout.display()
        )),
        "podman pushed into the layout: {calls}"
    );

    std::fs::remove_file(&log).unwrap();
    let nowhere = run(build(&context, &[]).env("PATH", &bin));
    assert_eq!(nowhere.status.code(), Some(2), "{}", text(&nowhere.stderr));
    assert!(
        text(&nowhere.stderr).contains("nowhere to put the image"),
        "{}",
        text(&nowhere.stderr)
    );
    assert!(
        !log.exists(),
        "podman is not asked to build what goes nowhere"
    );
}
