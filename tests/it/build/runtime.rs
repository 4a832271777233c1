//! RUN needs a container runtime: refused when there is none usable (a docker CLI without a
//! builder is none), handed to podman (a fake following its CLI) when there is.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{build, chmod, pinned};
use crate::support::registry::{TestRegistry, inspect};
use crate::support::{text, write_files};

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
    let out = build(work.path(), &["--tag", "127.0.0.1:1/never/pushed:1"])
        .env("PATH", empty_path.path())
        .run()
        .fails(2);
    let stderr = &out.stderr;
    out.stderr_has("Dockerfile:3:1");
    out.stderr_has("RUN needs a container runtime");
    for runtime in ["docker buildx", "buildah", "podman"] {
        assert!(stderr.contains(runtime), "names {runtime}: {stderr}");
    }
    assert!(out.stdout.is_empty());
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
    let out = build(work.path(), &["--tag", "127.0.0.1:1/never/pushed:1"])
        .env("PATH", work.path().join("bin"))
        .run()
        .fails(2);
    out.stderr_has("Dockerfile:2:1");
    out.stderr_has("docker is on PATH but has no usable buildx builder");
    out.stderr_has("buildah").stderr_has("podman");
}

/// Podman cannot run here (no user namespaces or storage driver): a fake `podman` on PATH that
/// follows its CLI (`--version`, `build`, `push SOURCE DESTINATION`) records what it is asked in
/// the log and "pushes" an image prepared beforehand with skopeo. Returns the folder to put on
/// PATH, the log, and the prepared image's digest.
fn fake_podman(work: &Path) -> (PathBuf, PathBuf, String) {
    let prepared = work.join("prepared");
    let simple = work.join("simple");
    write_files(
        &simple,
        &[
            ("Dockerfile", "FROM scratch\nCOPY hello /hello\n"),
            ("hello", "built by podman\n"),
        ],
    );
    let digest = pinned(build(&simple, &["--oci-layout", prepared.to_str().unwrap()]).run());
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

/// `work/app`: a context whose Dockerfile RUNs a command.
fn run_context(work: &Path) -> PathBuf {
    let context = work.join("app");
    write_files(
        &context,
        &[("Dockerfile", "FROM scratch\nCOPY . /src\nRUN make\n")],
    );
    context
}

#[test]
fn run_is_handed_to_podman_on_path_fake_podman_following_its_cli() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let (bin, log, _) = fake_podman(work.path());
    let context = run_context(work.path());
    let tag = format!("{}/acme/app:1", registry.host());
    let built: Value = build(
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
    .env("PATH", &bin)
    .run()
    .success()
    .json();
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
    let context = run_context(work.path());
    let layout = work.path().join("out");
    let digest = pinned(
        build(&context, &["--oci-layout", layout.to_str().unwrap()])
            .env("PATH", &bin)
            .run(),
    );
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
}

#[test]
fn a_run_build_with_nowhere_to_put_the_image_never_asks_podman_fake_podman() {
    let work = tempfile::tempdir().unwrap();
    let (bin, log, _) = fake_podman(work.path());
    let context = run_context(work.path());
    let nowhere = build(&context, &[]).env("PATH", &bin).run().fails(2);
    nowhere.stderr_has("nowhere to put the image");
    assert!(
        !log.exists(),
        "podman is not asked to build what goes nowhere"
    );
}

/// The RUN hand-off with the real buildah (Debian's), daemonless as root: its storage in the
/// test's folder with the vfs driver (`CONTAINERS_STORAGE_CONF`) and chroot isolation
/// (`BUILDAH_ISOLATION`), as a CI container without user namespaces runs it. The base image is
/// a static busybox as `/bin/sh`, built by scoreline and pushed to a real registry; the app's
/// Dockerfile RUNs a shell command on it, and what it wrote is read back from the pushed image.
/// (`docker buildx` is not tested for real: it needs a Docker daemon or a remote BuildKit,
/// which this machine's kind cannot run.)
#[test]
fn run_is_handed_to_the_real_buildah_and_what_it_ran_is_in_the_pushed_image() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::copy("/bin/busybox", base.join("busybox")).expect("busybox-static is installed");
    write_files(
        &base,
        &[("Dockerfile", "FROM scratch\nCOPY busybox /bin/sh\n")],
    );
    let base_tag = format!("{}/platform/shell:1", registry.host());
    build(&base, &["--tag", &base_tag]).run().success();

    let app = work.path().join("app");
    write_files(
        &app,
        &[(
            "Dockerfile",
            &format!(
                "FROM {base_tag}\nARG GREETING\nRUN echo \"$GREETING from RUN\" > /greeting.txt\n"
            ),
        )],
    );
    let storage = work.path().join("storage.conf");
    std::fs::write(
        &storage,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
            work.path().display()
        ),
    )
    .unwrap();
    let tag = format!("{}/acme/app:1", registry.host());
    let built: Value = build(
        &app,
        &[
            "--tag",
            &tag,
            "--build-arg",
            "GREETING=hello",
            "--output",
            "json",
        ],
    )
    .env("CONTAINERS_STORAGE_CONF", &storage)
    .env("BUILDAH_ISOLATION", "chroot")
    .limit(std::time::Duration::from_secs(300))
    .run()
    .success()
    .json();
    let pushed = inspect(&tag, &[]);
    assert_eq!(built["digest"], pushed["Digest"]);
    let root = super::unpack(&tag, work.path());
    assert_eq!(
        std::fs::read_to_string(root.join("greeting.txt")).unwrap(),
        "hello from RUN\n"
    );
    assert!(root.join("bin/sh").is_file(), "the base's layer is there");
}
