//! Reproducibility beyond one machine: a small fixed context builds to a known digest, and the
//! layers carry nothing of the machine that built them (tar headers without owners' names, times
//! or host names; gzip headers without a file name or a time).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::build;
use crate::support::write_files;

/// The manifest digest of `fixed_context` built for linux/amd64 without SOURCE_DATE_EPOCH and
/// outside git (times 0). It changes when the bytes of a layer, the config or the manifest do:
/// the compressor (flate2 1.1 with zlib-rs 0.6, level 6, 4 MiB gzip members — another backend,
/// version or level compresses differently), the tar crate's header layout, our header
/// normalisation (owners, modes, times, names, entry order), or the config and manifest JSON. A
/// change there is a change users see (every image's digest moves, caches miss): update this
/// digest on purpose, and say so in the changelog.
const PINNED: &str = "sha256:435e376d497a1cbf6f77fc1cc173cda8aa7a99e8376354d7205d4b3a63392bf9";

/// Two files and a folder with set modes (no umask in the way), and a Dockerfile copying them.
fn fixed_context(dir: &Path) {
    write_files(
        dir,
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY app/ /app/\nCOPY hello.txt /hello.txt\n",
            ),
            ("hello.txt", "hello\n"),
            ("app/main.py", "print(1)\n"),
        ],
    );
    for (path, mode) in [
        ("Dockerfile", 0o644),
        ("hello.txt", 0o644),
        ("app", 0o755),
        ("app/main.py", 0o755),
    ] {
        std::fs::set_permissions(dir.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Builds `fixed_context` into an OCI layout; the layout's folder.
fn built_layout(work: &Path) -> std::path::PathBuf {
    let context = work.join("context");
    fixed_context(&context);
    let layout = work.join("layout");
    build(
        &context,
        &["--platform", "linux/amd64", "--no-cache", "--oci-layout"],
    )
    .arg(&layout)
    .run()
    .success();
    layout
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn a_small_fixed_context_builds_to_the_pinned_digest() {
    let work = tempfile::tempdir().unwrap();
    let layout = built_layout(work.path());
    let index = json(&std::fs::read(layout.join("index.json")).unwrap());
    assert_eq!(index["manifests"][0]["digest"], PINNED, "{index:#}");
}

#[test]
fn layers_carry_no_owner_names_times_or_host_names_in_tar_or_gzip_headers() {
    let work = tempfile::tempdir().unwrap();
    let layout = built_layout(work.path());
    let index = json(&std::fs::read(layout.join("index.json")).unwrap());
    let manifest = json(&blob(
        &layout,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let mut paths = Vec::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let bytes = blob(&layout, layer["digest"].as_str().unwrap());
        // Each gzip member: no file name, comment or extra field, time 0, OS byte "unknown".
        let mut rest: &[u8] = &bytes;
        let mut tar = Vec::new();
        while !rest.is_empty() {
            assert_eq!(
                &rest[..4],
                [0x1f, 0x8b, 8, 0],
                "a plain gzip header (no FLG bits)"
            );
            assert_eq!(&rest[4..8], [0, 0, 0, 0], "gzip MTIME is 0");
            assert_eq!(
                rest[9], 255,
                "gzip OS is 255 (unknown), the same on every system"
            );
            let mut member = flate2::bufread::GzDecoder::new(&mut rest);
            member.read_to_end(&mut tar).unwrap();
            let header = member.header().unwrap();
            assert!(header.filename().is_none() && header.comment().is_none());
        }
        let mut archive = tar::Archive::new(&tar[..]);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let header = entry.header();
            assert_eq!(
                (header.uid().unwrap(), header.gid().unwrap()),
                (0, 0),
                "{path}"
            );
            for name in [header.username_bytes(), header.groupname_bytes()] {
                assert!(name.is_none_or(|n| n.is_empty()), "{path}: {name:?}");
            }
            assert_eq!(header.mtime().unwrap(), 0, "{path}");
            assert!(
                header.as_ustar().is_some() || header.as_gnu().is_some(),
                "{path}"
            );
            if let Some(gnu) = header.as_gnu() {
                assert_eq!(
                    (gnu.atime().unwrap_or(0), gnu.ctime().unwrap_or(0)),
                    (0, 0),
                    "{path}"
                );
            }
            // No PAX records (they could carry atime, ctime, host or user names).
            assert!(
                entry.pax_extensions().unwrap().is_none(),
                "{path} has PAX records"
            );
            paths.push(path);
        }
    }
    assert_eq!(
        paths,
        ["app/", "app/main.py", "hello.txt"],
        "sorted, relative entries"
    );
}

/// Under GitHub Actions the pinned reference and digest are step outputs (`$GITHUB_OUTPUT`).
#[test]
fn a_build_under_github_actions_writes_image_and_digest_as_step_outputs() {
    let registry = crate::support::registry::TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    fixed_context(&context);
    let outputs = work.path().join("github_output");
    std::fs::write(&outputs, "earlier=kept\n").unwrap();
    let tag = format!("{}/acme/fixed:1", registry.host());
    let out = build(&context, &["--tag", &tag, "--platform", "linux/amd64"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .run()
        .success();
    let pinned = out.stdout.lines().last().unwrap().to_owned();
    assert_eq!(pinned, format!("{}/acme/fixed@{PINNED}", registry.host()));
    assert_eq!(
        std::fs::read_to_string(&outputs).unwrap(),
        format!("earlier=kept\nimage={pinned}\ndigest={PINNED}\n")
    );
}
