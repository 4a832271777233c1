//! A build from start to finish: read the Dockerfile, build the stages the last one needs for
//! every platform, assemble manifests (and an index for several platforms) with their
//! annotations, then write an OCI layout and/or push to every tag. Layers an earlier build made
//! of the same files come from the layer cache (`cache`) unwritten. A Dockerfile with RUN is
//! handed to a container runtime instead (`delegate`).

pub mod base;
mod build_error;
mod built;
pub mod cache;
pub mod context;
mod copy;
mod delegate;
pub mod dockerfile;
pub mod filesystem;
pub mod layer;
mod manifest;
mod platform;
mod request;
pub mod stage;
mod stage_error;

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use oci_client::Reference;

pub use build_error::BuildError;
pub use built::{BlobTransfer, Built, LayerBuilt, PlatformBuilt};
use cache::LayerCache;
use context::Context;
use dockerfile::Dockerfile;
use manifest::{Image, assemble};
pub use request::Request;
use stage::Settings;

use crate::image::blob::Blob;
use crate::image::event::{Event, Sink};
use crate::image::layout;
use crate::image::oci::{self, Platform};
use crate::image::registry::Access;
use crate::image::registry::push::{self, Needed, Push};
use crate::source::SourceFile;

/// Builds (or hands to a container runtime, for RUN) and pushes as asked.
pub fn run(request: &Request, progress: Sink<'_>) -> Result<Built, BuildError> {
    if request.tags.is_empty() && request.oci_layout.is_none() {
        return Err(BuildError::Usage("nowhere to put the image: give --tag REGISTRY/REPOSITORY:TAG (repeatable) and/or --oci-layout DIR".into()));
    }
    let path = request
        .dockerfile
        .clone()
        .unwrap_or_else(|| request.context.join("Dockerfile"));
    let source = SourceFile::read(&path).map_err(|d| BuildError::Dockerfile(vec![d]))?;
    let dockerfile = dockerfile::parse(&source).map_err(BuildError::Dockerfile)?;
    if let Some(run_at) = dockerfile.first_run {
        return delegate::run(request, &source, run_at, progress);
    }
    let cache = LayerCache::open(request.cache.as_deref(), true);
    let mut built = build(request, &dockerfile, &source, &cache, progress);
    cache.prune();
    if built.is_err() && cache.is_stale() {
        progress(Event::CacheStale);
        let refresh = LayerCache::open(request.cache.as_deref(), false);
        built = build(request, &dockerfile, &source, &refresh, progress);
        refresh.prune();
    }
    built
}

/// Builds without a container runtime (the Dockerfile has no RUN).
fn build(
    request: &Request,
    dockerfile: &Dockerfile,
    source: &SourceFile,
    cache: &LayerCache,
    progress: Sink<'_>,
) -> Result<Built, BuildError> {
    let tags: Vec<Reference> = request
        .tags
        .iter()
        .map(|t| {
            Reference::from_str(t).map_err(|e| {
                BuildError::Usage(format!("--tag `{t}` is not an image reference: {e}"))
            })
        })
        .collect::<Result<_, _>>()?;
    let access = Access {
        insecure: request.insecure.clone(),
        pushed_to: tags
            .iter()
            .map(|t| t.resolve_registry().to_owned())
            .collect(),
    };
    let platforms = if request.platforms.is_empty() {
        vec![Platform::host()]
    } else {
        request.platforms.clone()
    };
    let context = Context::open(&request.context).map_err(|e| BuildError::Usage(e.to_string()))?;
    let created = created(context.root());
    let scratch = crate::scratch::tempdir("build")
        .map_err(|e| BuildError::Io(format!("temporary folder: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BuildError::Io(e.to_string()))?;
    runtime.block_on(async {
        let mut images = Vec::new();
        for platform in &platforms {
            let settings = Settings {
                platform,
                build_args: &request.build_args,
                mtime: source_date_epoch().unwrap_or(0),
                created,
                scratch: scratch.path(),
                cache,
            };
            let image = platform::build_platform(
                dockerfile, source, &context, &settings, &access, progress,
            )
            .await?;
            images.push(assemble(image, platform, request, created, scratch.path())?);
        }
        let image = manifest::image(images, request, created, scratch.path())?;
        if let Some(dir) = &request.oci_layout {
            write_layout(dir, &image, &tags, scratch.path()).await?;
        }
        let transfers = if tags.is_empty() {
            Vec::new()
        } else {
            push_tags(&image, &tags, &access, scratch.path(), progress).await?
        };
        let top = &image.top.digest;
        Ok(Built {
            digest: top.clone(),
            media_type: image.top_media_type.to_owned(),
            reference: tags
                .first()
                .map(|t| format!("{}/{}@{}", t.resolve_registry(), t.repository(), top)),
            tags: tags.iter().map(Reference::whole).collect(),
            size: image.size(),
            platforms: image
                .platforms
                .iter()
                .map(|p| PlatformBuilt {
                    platform: p.platform.to_string(),
                    digest: p.manifest.digest.clone(),
                })
                .collect(),
            layout: request.oci_layout.clone(),
            transfers,
            layers: image
                .platforms
                .iter()
                .flat_map(|p| {
                    let own = &p.image.layers[p.image.layers.len() - p.image.own.len()..];
                    own.iter().map(|l| LayerBuilt {
                        platform: p.platform.to_string(),
                        digest: l.descriptor.digest.clone(),
                        size: l.descriptor.size,
                        cached: l.is_deferred(),
                    })
                })
                .collect(),
        })
    })
}

/// Writes the image as an OCI layout, named by the tags' tags.
async fn write_layout(
    dir: &Path,
    image: &Image,
    tags: &[Reference],
    scratch: &Path,
) -> Result<(), BuildError> {
    let mut blobs: Vec<Blob> = Vec::new();
    let mut layers = BTreeSet::new();
    for p in &image.platforms {
        blobs.push(p.config.clone());
        if image.has_index() {
            blobs.push(p.manifest.clone());
        }
        for l in p
            .image
            .layers
            .iter()
            .filter(|l| layers.insert(l.descriptor.digest.clone()))
        {
            // A layer known from the cache is written only when the layout lacks it.
            let kept = dir
                .join("blobs/sha256")
                .join(l.descriptor.digest.trim_start_matches("sha256:"));
            let kept = l
                .is_deferred()
                .then(|| std::fs::metadata(&kept).ok())
                .flatten()
                .filter(|m| m.is_file() && m.len() == l.descriptor.size)
                .map(|_| Blob {
                    path: kept,
                    digest: l.descriptor.digest.clone(),
                    size: l.descriptor.size,
                });
            blobs.push(match kept {
                Some(blob) => blob,
                None => l
                    .local(scratch)
                    .await
                    .map_err(|e| BuildError::Registry(e.to_string()))?,
            });
        }
    }
    blobs.push(image.top.clone());
    let names: Vec<String> = tags
        .iter()
        .filter_map(|t| t.tag().map(str::to_owned))
        .collect();
    let contents = layout::Contents {
        blobs: blobs.iter().collect(),
        top: (&image.top.digest, image.top.size, image.top_media_type),
    };
    layout::write(dir, &contents, &names).map_err(|e| BuildError::Usage(e.to_string()))
}

/// Pushes the image to every tag (each blob once); returns how each blob got where.
async fn push_tags(
    image: &Image,
    tags: &[Reference],
    access: &Access,
    scratch: &Path,
    progress: Sink<'_>,
) -> Result<Vec<BlobTransfer>, BuildError> {
    let mut blobs: Vec<Needed<'_>> = Vec::new();
    let mut digests = BTreeSet::new();
    for p in &image.platforms {
        if digests.insert(p.config.digest.clone()) {
            blobs.push(Needed::Local(&p.config));
        }
        for l in &p.image.layers {
            if digests.insert(l.descriptor.digest.clone()) {
                blobs.push(Needed::Layer(l));
            }
        }
    }
    let children: Vec<(&[u8], &'static str)> = if image.has_index() {
        image
            .platforms
            .iter()
            .map(|p| (p.manifest_bytes.as_slice(), oci::MANIFEST))
            .collect()
    } else {
        Vec::new()
    };
    let what = Push {
        blobs,
        children,
        top: (&image.top_bytes, image.top_media_type),
    };
    let report = push::push(&what, tags, access, scratch, progress)
        .await
        .map_err(|e| BuildError::Registry(e.to_string()))?;
    Ok(report
        .into_iter()
        .map(|(repository, digest, transfer)| BlobTransfer {
            repository,
            digest,
            transfer,
        })
        .collect())
}

/// SOURCE_DATE_EPOCH, when set.
fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

/// When the image was made: SOURCE_DATE_EPOCH, else the context's last commit, else 0.
fn created(context: &Path) -> u64 {
    source_date_epoch()
        .or_else(|| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(context)
                .args(["log", "-1", "--format=%ct"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        })
        .unwrap_or(0)
}
