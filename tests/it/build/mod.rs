//! `scoreline build` as a user runs it, against a real OCI registry (Debian's `docker-registry`
//! on loopback, started per test), read back with `skopeo` and `umoci`. Request counting and
//! failure injection go through `tests/support/registry_proxy.py` in front of the registry;
//! container runtimes and credential helpers are fakes that follow their CLIs.

mod bases;
mod cache;
mod credentials;
mod dockerfile;
mod push;
mod reproducible;
mod runtime;
mod tls;
mod tokens;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::registry::{inspect, skopeo, umoci_unpack};
use crate::support::{Cli, Outcome, text, write_files};

/// `build --context CONTEXT ARGS…` with no registry credentials from the environment nor from
/// the developer's own Docker login, and no SOURCE_DATE_EPOCH; the layer cache beside the
/// context (`cache_beside`), never the developer's own.
pub(crate) fn build(context: &Path, args: &[&str]) -> Cli {
    [
        "SOURCE_DATE_EPOCH",
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
        "CI_REGISTRY",
        "CI_REGISTRY_USER",
        "CI_REGISTRY_PASSWORD",
        "GITHUB_TOKEN",
    ]
    .iter()
    .fold(
        Cli::new(["build", "--context"]).arg(context).args(args),
        |cli, var| cli.env_remove(var),
    )
    .env("DOCKER_CONFIG", context.join(".no-docker-config"))
    .env("SCORELINE_CACHE_DIR", cache_beside(context))
}

/// The layer cache the builds of `context` use: shared by the contexts of one folder.
fn cache_beside(context: &Path) -> PathBuf {
    context
        .parent()
        .expect("contexts are in a folder")
        .join("cache")
}

/// The last stdout line of a successful build: the pinned reference (or digest).
fn pinned(out: Outcome) -> String {
    out.success()
        .stdout
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

/// Copies `reference` from the registry into an OCI layout (`work/layout`, tag `image`) and
/// unpacks it with umoci; its root filesystem.
pub(crate) fn unpack(reference: &str, work: &Path) -> PathBuf {
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

/// `skopeo inspect --raw` of `reference`, logged in.
fn inspect_with(reference: &str, user: &str, password: &str) -> Value {
    inspect(
        reference,
        &["--raw", "--creds", &format!("{user}:{password}")],
    )
}

/// Whether `docker://REFERENCE` exists, asked with `extra` skopeo flags.
fn exists(reference: &str, extra: &[&str]) -> bool {
    let target = format!("docker://{reference}");
    let mut args = vec!["inspect", "--tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(&target);
    skopeo(&args).status.success()
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
