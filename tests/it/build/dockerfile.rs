//! What a Dockerfile and its context make: `.dockerignore` as Docker reads it, shell-form CMD
//! and ENTRYPOINT, reproducible layers and provenance from git, and bad Dockerfiles refused at
//! their line.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::Value;

use super::{build, chmod, pinned};
use crate::support::git::{commit_all_at, git_dated};
use crate::support::registry::{TestRegistry, inspect, skopeo, umoci_unpack};
use crate::support::{text, write_files};

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
    build(&context, &["--oci-layout", layout.to_str().unwrap()])
        .run()
        .success();
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
    build(&context, &["--tag", &cmd_tag]).run().success();
    assert_eq!(
        inspect(&cmd_tag, &["--config"])["config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "echo \"hi $USER\" && exec sleep 1"])
    );
    let entrypoint_tag = format!("{}/acme/shell:entrypoint", registry.host());
    build(&context, &["--tag", &entrypoint_tag])
        .arg("--file")
        .arg(context.join("Entrypoint.Dockerfile"))
        .run()
        .success();
    let config = inspect(&entrypoint_tag, &["--config"]);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/bin/bash", "-eu", "-c", "exec /app --port 8080"])
    );
}

/// The manifest of the image in an OCI layout (`skopeo inspect --raw`).
fn layout_manifest(layout: &Path) -> Value {
    let image = skopeo(&["inspect", "--raw", &format!("oci:{}", layout.display())]);
    assert!(image.status.success(), "{}", text(&image.stderr));
    serde_json::from_slice(&image.stdout).unwrap()
}

/// The layer digests and the `created` annotation of the image in an OCI layout.
fn layers_and_created(layout: &Path) -> (Vec<Value>, Value) {
    let manifest = layout_manifest(layout);
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
    git_dated(&repo, 1_710_000_000, &["init", "-q"]);
    commit_all_at(&repo, 1_710_000_000);
    let context = repo.join("service");
    let first = work.path().join("first");
    build(&context, &["--oci-layout", first.to_str().unwrap()])
        .run()
        .success();
    std::fs::write(repo.join("NOTES.md"), "second\n").unwrap();
    commit_all_at(&repo, 1_720_000_000);
    let second = work.path().join("second");
    build(&context, &["--oci-layout", second.to_str().unwrap()])
        .run()
        .success();
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
    let git = |args: &[&str]| git_dated(&context, 1_710_000_000, args);
    git(&["init", "-q"]);
    commit_all_at(&context, 1_710_000_000);
    git(&[
        "remote",
        "add",
        "origin",
        "https://deploy:glpat-secret@gitlab.example.com/acme/site.git",
    ]);
    let head = git(&["rev-parse", "HEAD"]);

    let layout = work.path().join("out/site");
    let digest = pinned(build(&context, &["--oci-layout", layout.to_str().unwrap()]).run());
    assert!(digest.starts_with("sha256:"), "{digest}");
    let manifest = layout_manifest(&layout);
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
        let out = build(&context, &["--oci-layout", layout.to_str().unwrap()]).run();
        let stderr = &out.stderr;
        assert_eq!(out.code(), Some(2), "{dockerfile}: {stderr}");
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
}

#[test]
fn a_build_with_nowhere_to_put_the_image_exits_2_naming_tag() {
    let work = tempfile::tempdir().unwrap();
    write_files(work.path(), &[("Dockerfile", "FROM scratch\n")]);
    let nowhere = build(work.path(), &[]).run().fails(2);
    nowhere.stderr_has("--tag");
}
