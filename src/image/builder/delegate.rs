//! Dockerfiles with RUN need a container runtime: the whole build goes to the first of
//! `docker buildx`, `buildah` or `podman` found on PATH, with the same tags, platforms, labels
//! and build arguments. Without one, the RUN line is the error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use serde_json::Value;

use super::build_error::BuildError;
use super::built::{Built, PlatformBuilt};
use super::request::Request;
use crate::image::event::{Event, Sink};
use crate::image::registry::{Access, Registry, RegistryError, is_loopback};
use crate::position::Pos;
use crate::source::SourceFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builder {
    Buildx,
    Buildah,
    Podman,
}

impl Builder {
    fn name(self) -> &'static str {
        match self {
            Builder::Buildx => "docker buildx",
            Builder::Buildah => "buildah",
            Builder::Podman => "podman",
        }
    }

    fn program(self) -> &'static str {
        match self {
            Builder::Buildx => "docker",
            Builder::Buildah => "buildah",
            Builder::Podman => "podman",
        }
    }
}

/// The first builder that can build here, or why none can. `docker buildx inspect` needs a
/// reachable builder (a daemon, or a remote one): a bare docker CLI does not count.
fn available() -> Result<Builder, String> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("docker", &["buildx", "inspect"]) {
        return Ok(Builder::Buildx);
    }
    if works("buildah", &["--version"]) {
        return Ok(Builder::Buildah);
    }
    if works("podman", &["--version"]) {
        return Ok(Builder::Podman);
    }
    Err(if works("docker", &["--version"]) {
        "docker is on PATH but has no usable buildx builder (no buildx plugin, or no daemon or remote builder to reach), and neither buildah nor podman is".into()
    } else {
        "none of docker buildx, buildah or podman is on PATH".into()
    })
}

pub fn run(
    request: &Request,
    source: &SourceFile,
    run_at: Pos,
    progress: Sink<'_>,
) -> Result<Built, BuildError> {
    let builder = available().map_err(|why| {
        BuildError::Dockerfile(vec![source
            .error(run_at, format!("RUN needs a container runtime: {why}"))
            .with_help("install one of them on the runner (scoreline then hands the build to it), or build without RUN: copy files built in earlier CI steps")])
    })?;
    progress(Event::Delegating {
        builder: builder.name().into(),
    });
    // The name the image is built under: the first tag, else a local one (buildah and podman
    // push from it).
    let manifest = request
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| "scoreline-build".into());
    execute(
        builder,
        &command(builder, request, &manifest, &source.text)?,
    )?;
    if builder != Builder::Buildx {
        push_from_store(builder, request, &manifest)?;
    }
    read_back(request)
}

/// The builder's build command: buildx pushes and writes the layout itself.
fn build_arguments(builder: Builder, request: &Request, manifest: &str) -> Vec<String> {
    let dockerfile = request
        .dockerfile
        .clone()
        .unwrap_or_else(|| request.context.join("Dockerfile"));
    let platforms: Vec<String> = request.platforms.iter().map(ToString::to_string).collect();
    let mut args: Vec<String> = match builder {
        Builder::Buildx => vec!["buildx".into(), "build".into()],
        Builder::Buildah | Builder::Podman => vec!["build".into()],
    };
    args.extend(["--file".into(), dockerfile.display().to_string()]);
    if !platforms.is_empty() {
        args.extend(["--platform".into(), platforms.join(",")]);
    }
    match (builder, platforms.len() > 1) {
        (Builder::Buildah | Builder::Podman, true) => {
            args.extend(["--manifest".into(), manifest.to_owned()])
        }
        _ if request.tags.is_empty() => args.extend(["--tag".into(), manifest.to_owned()]),
        _ => args.extend(
            request
                .tags
                .iter()
                .flat_map(|t| ["--tag".to_owned(), t.clone()]),
        ),
    }
    args.extend(
        request
            .labels
            .iter()
            .flat_map(|(k, v)| ["--label".to_owned(), format!("{k}={v}")]),
    );
    args.extend(
        request
            .build_args
            .iter()
            .flat_map(|(k, v)| ["--build-arg".to_owned(), format!("{k}={v}")]),
    );
    if builder == Builder::Buildx {
        if !request.tags.is_empty() {
            args.push("--push".into());
        }
        if let Some(dir) = &request.oci_layout {
            args.extend([
                "--output".into(),
                format!("type=oci,dest={},tar=false", dir.display()),
            ]);
        }
    }
    args.push(request.context.display().to_string());
    args
}

/// The builder's build command; buildah and podman also get the TLS setting of their pulls.
fn command(
    builder: Builder,
    request: &Request,
    manifest: &str,
    dockerfile: &str,
) -> Result<Vec<String>, BuildError> {
    let mut arguments = build_arguments(builder, request, manifest);
    if builder != Builder::Buildx {
        let context = arguments.len() - 1;
        arguments.splice(context..context, pull_tls(request, dockerfile)?);
    }
    Ok(arguments)
}

/// buildah's and podman's `--tls-verify` for the build's pulls: `false` when the base images come
/// from registries reached over plain HTTP (on loopback, or named with --insecure-registry). It
/// covers every registry the build pulls from, so a build that also pulls from another
/// registry is refused rather than pulling from that one unverified.
fn pull_tls(request: &Request, dockerfile: &str) -> Result<Vec<String>, BuildError> {
    let plain = |host: &str| is_loopback(host) || request.insecure.iter().any(|h| h == host);
    let mut stages = Vec::new();
    let (mut plain_hosts, mut verified_hosts) = (Vec::new(), Vec::new());
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("from")) {
            continue;
        }
        let mut words = words.filter(|w| !w.starts_with("--"));
        let Some(image) = words.next() else { continue };
        let earlier_stage = stages.contains(&image.to_ascii_lowercase());
        if let (Some(r#as), Some(name)) = (words.next(), words.next())
            && r#as.eq_ignore_ascii_case("as")
        {
            stages.push(name.to_ascii_lowercase());
        }
        if image == "scratch" || earlier_stage {
            continue;
        }
        // A registry host has a dot or a port, or is localhost (Docker's rule); else Docker Hub.
        let host = image
            .split_once('/')
            .map(|(first, _)| first)
            .filter(|first| first.contains(['.', ':']) || *first == "localhost")
            .unwrap_or("docker.io");
        if plain(host) {
            plain_hosts.push(host.to_owned());
        } else {
            verified_hosts.push(host.to_owned());
        }
    }
    match (plain_hosts.first(), verified_hosts.first()) {
        (None, _) => Ok(Vec::new()),
        (Some(_), None) => Ok(vec!["--tls-verify=false".into()]),
        (Some(plain), Some(verified)) => Err(BuildError::Usage(format!(
            "the Dockerfile pulls from {plain} over plain HTTP and from {verified} over TLS: buildah and podman verify TLS for every pull of a build or for none; mirror the base images to one kind of registry"
        ))),
    }
}

/// buildah and podman build into their store: the image (or manifest list) is pushed from
/// there to every tag and to the OCI layout.
fn push_from_store(builder: Builder, request: &Request, manifest: &str) -> Result<(), BuildError> {
    let plain = |tag: &str| {
        is_loopback(tag.split('/').next().unwrap_or(""))
            || request
                .insecure
                .iter()
                .any(|h| tag.starts_with(&format!("{h}/")))
    };
    let destinations = request.tags.iter().map(|t| {
        (
            format!("--tls-verify={}", !plain(t)),
            format!("docker://{t}"),
        )
    });
    let layout = request.oci_layout.iter().map(|dir| {
        (
            "--tls-verify=true".to_owned(),
            format!("oci:{}", dir.display()),
        )
    });
    for (tls, destination) in destinations.chain(layout) {
        let push: Vec<String> = if request.platforms.len() > 1 {
            vec![
                "manifest".into(),
                "push".into(),
                "--all".into(),
                tls,
                manifest.to_owned(),
                destination,
            ]
        } else {
            vec!["push".into(), tls, manifest.to_owned(), destination]
        };
        execute(builder, &push)?;
    }
    Ok(())
}

/// What the builder pushed (or wrote, without a tag), read back: the digest to pin, and the
/// image's shape.
fn read_back(request: &Request) -> Result<Built, BuildError> {
    let Some(tag) = request.tags.first() else {
        let dir = request
            .oci_layout
            .as_deref()
            .expect("a build without --tag has --oci-layout");
        let image = futures::executor::block_on(written(dir))?;
        return Ok(Built {
            digest: image.digest,
            media_type: image.media_type,
            reference: None,
            tags: Vec::new(),
            size: image.size,
            platforms: image.platforms,
            layout: request.oci_layout.clone(),
            transfers: Vec::new(),
            layers: Vec::new(),
        });
    };
    let parsed = oci_client::Reference::from_str(tag)
        .map_err(|e| BuildError::Usage(format!("--tag `{tag}`: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BuildError::Io(e.to_string()))?;
    let access = Access {
        insecure: request.insecure.clone(),
        pushed_to: vec![parsed.resolve_registry().to_owned()],
    };
    let registry = Registry::new(parsed.resolve_registry(), &access);
    let pushed = runtime
        .block_on(async {
            let (bytes, digest) = registry.manifest(&parsed).await?;
            shape(bytes, digest, async |child: String| {
                let reference = parsed.clone_with_digest(child);
                registry.manifest(&reference).await.map(|(bytes, _)| bytes)
            })
            .await
        })
        .map_err(|e: RegistryError| BuildError::Registry(e.to_string()))?;
    Ok(Built {
        reference: Some(format!(
            "{}/{}@{}",
            parsed.resolve_registry(),
            parsed.repository(),
            pushed.digest
        )),
        digest: pushed.digest,
        media_type: pushed.media_type,
        tags: request.tags.clone(),
        size: pushed.size,
        platforms: pushed.platforms,
        layout: request.oci_layout.clone(),
        transfers: Vec::new(),
        layers: Vec::new(),
    })
}

struct Pushed {
    digest: String,
    media_type: String,
    size: u64,
    platforms: Vec<PlatformBuilt>,
}

/// The image the builder wrote to an OCI layout: the last entry of its `index.json` (builders
/// append theirs).
async fn written(dir: &Path) -> Result<Pushed, BuildError> {
    let read = |path: PathBuf| {
        std::fs::read(&path).map_err(|e| {
            BuildError::Io(format!(
                "reading the OCI layout the builder wrote, {}: {e}",
                path.display()
            ))
        })
    };
    let blob = |digest: &str| {
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index_path = dir.join("index.json");
    let index: Value = serde_json::from_slice(&read(index_path.clone())?).unwrap_or_default();
    let digest = index["manifests"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["digest"].as_str())
        .ok_or_else(|| {
            BuildError::Io(format!(
                "{} names no image: the builder wrote no OCI layout",
                index_path.display()
            ))
        })?
        .to_owned();
    let top = read(blob(&digest))?;
    shape(top, digest, async |child: String| read(blob(&child))).await
}

/// An image (or index) and its children, however fetched: media type, total size, platforms.
async fn shape<E>(
    bytes: Vec<u8>,
    digest: String,
    child: impl AsyncFn(String) -> Result<Vec<u8>, E>,
) -> Result<Pushed, E> {
    let top: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let mut size = bytes.len() as u64;
    let mut platforms = Vec::new();
    let mut manifests = Vec::new();
    match top["manifests"].as_array() {
        Some(children) => {
            for entry in children {
                let Some(child_digest) = entry["digest"].as_str() else {
                    continue;
                };
                let os = entry["platform"]["os"].as_str().unwrap_or("unknown");
                let architecture = entry["platform"]["architecture"]
                    .as_str()
                    .unwrap_or("unknown");
                if os == "unknown" {
                    continue; // attestations, not images
                }
                platforms.push(PlatformBuilt {
                    platform: format!("{os}/{architecture}"),
                    digest: child_digest.to_owned(),
                });
                let child_bytes = child(child_digest.to_owned()).await?;
                size += child_bytes.len() as u64;
                manifests.push(serde_json::from_slice::<Value>(&child_bytes).unwrap_or_default());
            }
        }
        None => manifests.push(top.clone()),
    }
    let mut seen = std::collections::BTreeSet::new();
    for manifest in &manifests {
        for blob in std::iter::once(&manifest["config"])
            .chain(manifest["layers"].as_array().into_iter().flatten())
        {
            if blob["digest"]
                .as_str()
                .is_some_and(|d| seen.insert(d.to_owned()))
            {
                size += blob["size"].as_u64().unwrap_or(0);
            }
        }
    }
    Ok(Pushed {
        digest,
        media_type: top["mediaType"].as_str().unwrap_or_default().to_owned(),
        size,
        platforms,
    })
}

/// Runs the builder with its output on our stderr (stdout is for the result).
fn execute(builder: Builder, args: &[String]) -> Result<(), BuildError> {
    let mut command = Command::new(builder.program());
    // buildah and podman take $DOCKER_CONFIG/config.json as their auth file when DOCKER_CONFIG
    // is set, and refuse to push when it does not exist (`checking authfile`): a DOCKER_CONFIG
    // without one holds no logins, so they get none from it.
    if std::env::var_os("DOCKER_CONFIG")
        .is_some_and(|dir| !Path::new(&dir).join("config.json").is_file())
    {
        command.env_remove("DOCKER_CONFIG");
    }
    let status = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| BuildError::Io(format!("cannot run {}: {e}", builder.name())))?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Registry(format!(
            "`{} {}` failed with {status}",
            builder.program(),
            args.first().map(String::as_str).unwrap_or("")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(insecure: &[&str]) -> Request {
        Request {
            context: PathBuf::from("ctx"),
            tags: vec!["registry.internal:5000/shop:1".into()],
            insecure: insecure.iter().map(|h| (*h).to_owned()).collect(),
            ..Request::default()
        }
    }

    #[test]
    fn a_base_on_an_insecure_registry_is_pulled_without_tls_verification() {
        let dockerfile = "FROM --platform=$BUILDPLATFORM registry.internal:5000/base:1 AS build\nRUN make\nFROM build\n";
        assert_eq!(
            pull_tls(&request(&["registry.internal:5000"]), dockerfile).unwrap(),
            vec!["--tls-verify=false"]
        );
        // Loopback registries are plain HTTP too.
        assert_eq!(
            pull_tls(&request(&[]), "FROM 127.0.0.1:5000/base\nRUN true\n").unwrap(),
            vec!["--tls-verify=false"]
        );
    }

    #[test]
    fn other_bases_keep_tls_verified_and_a_mix_is_refused() {
        let insecure = request(&["registry.internal:5000"]);
        assert!(
            pull_tls(&insecure, "FROM debian:13\nRUN true\n")
                .unwrap()
                .is_empty()
        );
        assert!(
            pull_tls(&insecure, "FROM scratch\nRUN true\n")
                .unwrap()
                .is_empty()
        );
        let mixed = "FROM registry.internal:5000/base AS a\nFROM ghcr.io/acme/tools\nRUN true\n";
        let refused = pull_tls(&insecure, mixed).unwrap_err().to_string();
        assert!(
            refused.contains("registry.internal:5000") && refused.contains("ghcr.io"),
            "{refused}"
        );
    }

    #[test]
    fn buildahs_build_command_has_the_flag_and_buildxs_has_none() {
        let request = request(&["registry.internal:5000"]);
        let dockerfile = "FROM registry.internal:5000/base\nRUN make\n";
        let manifest = "registry.internal:5000/shop:1";
        assert_eq!(
            command(Builder::Buildah, &request, manifest, dockerfile).unwrap(),
            [
                "build",
                "--file",
                "ctx/Dockerfile",
                "--tag",
                "registry.internal:5000/shop:1",
                "--tls-verify=false",
                "ctx"
            ]
        );
        let buildx = command(Builder::Buildx, &request, manifest, dockerfile).unwrap();
        assert!(
            !buildx.iter().any(|a| a.starts_with("--tls-verify")),
            "{buildx:?}"
        );
    }
}
