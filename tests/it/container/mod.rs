//! The image every step runs in, built by scoreline itself from `container/Dockerfile.release`
//! (no RUN: the prebuilt binary onto a base carrying glibc, CA certificates and git), pushed to a
//! real registry on loopback, unpacked with umoci and run in a chroot as the CI systems run it:
//! as root (GitHub), through a shell (GitLab, Jenkins), and as an uid of no account with HOME
//! unset (Jenkins' `agent { docker … }`).

mod debian;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::build::{build, unpack};
use crate::support::registry::{TestRegistry, inspect, is_root};
use crate::support::{repo_root, text};

/// This machine's architecture as image platforms name it.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("no image platform for {other}"),
    }
}

/// The repository's files the release build reads, and the binary as the release workflow puts
/// it: `dist/OS-ARCH/scoreline`.
fn release_context(context: &Path) {
    std::fs::create_dir_all(context.join("container")).unwrap();
    for file in ["Dockerfile.release", "gitconfig"] {
        std::fs::copy(
            repo_root().join("container").join(file),
            context.join("container").join(file),
        )
        .unwrap();
    }
    let dist = context.join(format!("dist/linux-{}", architecture()));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_scoreline"), dist.join("scoreline")).unwrap();
}

/// `chroot ROOT PROGRAM ARGS…` as `user` (`uid:gid`, none for root) with only PATH (and
/// HOME when given) set, as a container runtime would start it; its stdout.
fn chroot(root: &Path, user: Option<&str>, home: Option<&str>, args: &[&str]) -> String {
    // By path: the program is looked up in the PATH given to it, the image's.
    let mut cmd = Command::new("/usr/sbin/chroot");
    if let Some(user) = user {
        cmd.arg(format!("--userspec={user}"));
    }
    cmd.arg(root)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let out = cmd.output().expect("chroot (coreutils)");
    assert!(
        out.status.success(),
        "{args:?} as {user:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Release",
            "-c",
            "user.email=release@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[test]
fn scoreline_builds_its_own_release_image_reproducibly_and_it_runs_as_root_in_a_shell_and_as_a_user_without_home()
 {
    assert!(
        is_root(),
        "this test unpacks the image with its owners and chroots into it: run it as root, as .ci/run does"
    );
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let base = format!("{}/debian/git:bookworm", registry.host());
    debian::push_base(&work.path().join("base"), &base);

    let context = work.path().join("release");
    release_context(&context);
    let tag = format!("{}/scoreline/scoreline:1.2.3", registry.host());
    // Two builds with caches of their own: every layer is made twice.
    let release = |cache: &str| -> Value {
        build(
            &context,
            &[
                "--file",
                context
                    .join("container/Dockerfile.release")
                    .to_str()
                    .unwrap(),
                "--build-arg",
                &format!("BASE={base}"),
                "--build-arg",
                "VERSION=1.2.3",
                "--tag",
                &tag,
                "--output",
                "json",
            ],
        )
        .env("SCORELINE_CACHE_DIR", work.path().join(cache))
        .limit(std::time::Duration::from_secs(300))
        .run()
        .success()
        .json()
    };
    let first = release("cache-1");
    let second = release("cache-2");
    assert_eq!(
        first["digest"], second["digest"],
        "reproducible: {first}\n{second}"
    );

    let manifest = inspect(&tag, &["--raw"]);
    let sizes: Vec<u64> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .collect();
    let base_layers = inspect(&base, &["--raw"])["layers"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        sizes.len(),
        base_layers + 2,
        "the base's layers, /etc/gitconfig and the binary: {manifest}"
    );
    let (base_size, own_size) = (
        sizes[..base_layers].iter().sum::<u64>(),
        sizes[base_layers..].iter().sum::<u64>(),
    );
    println!(
        "release image (compressed): base {} + scoreline {} = {}",
        megabytes(base_size),
        megabytes(own_size),
        megabytes(base_size + own_size)
    );
    let config = inspect(&tag, &["--config"]);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["scoreline"])
    );
    assert_eq!(
        config["config"]["User"], "0:0",
        "GitHub runs Docker actions as the image's user"
    );
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "scoreline");
    assert_eq!(labels["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");

    let root = unpack(&tag, work.path());
    // What a container runtime provides.
    std::fs::create_dir_all(root.join("dev")).unwrap();
    let made = Command::new("mknod")
        .args(["-m", "666"])
        .arg(root.join("dev/null"))
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success());

    // GitHub: root, the entrypoint's program and git.
    let version = format!("scoreline {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        chroot(&root, None, Some("/root"), &["scoreline", "--version"]),
        version
    );
    assert!(chroot(&root, None, Some("/root"), &["git", "--version"]).starts_with("git version "));
    // GitLab and Jenkins: job scripts through sh, Jenkins' `cat` keeping the container up.
    assert_eq!(
        chroot(
            &root,
            None,
            None,
            &["sh", "-c", "scoreline --version | cat"]
        ),
        version
    );

    // Jenkins: the agent's uid, in no passwd, HOME unset, in a checkout owned by someone else.
    let checkout = root.join("workspace");
    std::fs::create_dir_all(&checkout).unwrap();
    std::fs::write(
        checkout.join("Dockerfile"),
        "FROM scratch\nCOPY Dockerfile /Dockerfile\n",
    )
    .unwrap();
    git(&checkout, &["init", "-q"]);
    git(&checkout, &["add", "-A"]);
    git(&checkout, &["commit", "-q", "-m", "build me"]);
    let commit = git(&checkout, &["rev-parse", "HEAD"]);
    let agent = Some("1000:1000");
    assert_eq!(
        chroot(&root, agent, None, &["scoreline", "--version"]),
        version
    );
    assert_eq!(
        chroot(
            &root,
            agent,
            None,
            &["git", "-C", "/workspace", "rev-parse", "HEAD"]
        )
        .trim(),
        commit,
        "/etc/gitconfig marks the checkout safe whatever HOME is"
    );
    // A build there: no layer cache without a home, the commit read from the checkout.
    chroot(
        &root,
        agent,
        None,
        &[
            "scoreline",
            "build",
            "--context",
            "/workspace",
            "--oci-layout",
            "/tmp/layout",
        ],
    );
    let layout = root.join("tmp/layout");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let built: Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(&digest["sha256:".len()..])).unwrap(),
    )
    .unwrap();
    assert_eq!(
        built["annotations"]["org.opencontainers.image.revision"], commit,
        "{built}"
    );
}
