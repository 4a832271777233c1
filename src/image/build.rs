//! A build from start to finish: read the Dockerfile, build the stages the last one needs for
//! every platform, assemble manifests (and an index for several platforms) with provenance
//! annotations, then write an OCI layout and/or push to every tag.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_client::Reference;
use serde::Serialize;
use serde_json::Value;

use super::base;
use super::context::Context;
use super::dockerfile::{self, Dockerfile, Instruction};
use super::layer::{self, Blob};
use super::layout;
use super::oci::{self, Descriptor, Index, Manifest, Platform};
use super::progress::{Event, Sink};
use super::push::{self, Needed, Push};
use super::registry::{Access, Transfer};
use super::stage::{self, Settings, Source, StageError, StageImage, State, Vars};
use crate::ci::provenance::Provenance;
use crate::diagnostic::Diagnostic;
use crate::position::Pos;
use crate::source::SourceFile;

/// What `scoreline build` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub context: PathBuf,
    /// Default: `CONTEXT/Dockerfile`.
    pub dockerfile: Option<PathBuf>,
    pub tags: Vec<String>,
    /// Default: the machine's platform.
    pub platforms: Vec<Platform>,
    pub oci_layout: Option<PathBuf>,
    pub insecure: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub build_args: BTreeMap<String, String>,
}

/// The result: the image's digest, where it went, and how the blobs got there.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub digest: String,
    pub media_type: String,
    /// `registry/repository@digest` of the first tag.
    pub reference: Option<String>,
    pub tags: Vec<String>,
    /// Bytes of every blob and manifest of the image.
    pub size: u64,
    pub platforms: Vec<PlatformBuilt>,
    pub layout: Option<PathBuf>,
    pub transfers: Vec<BlobTransfer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlatformBuilt {
    pub platform: String,
    pub digest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlobTransfer {
    pub repository: String,
    pub digest: String,
    pub transfer: Transfer,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Problems located in the Dockerfile (exit 2).
    #[error("the Dockerfile cannot be built")]
    Dockerfile(Vec<Diagnostic>),
    #[error("{0}")]
    Usage(String),
    /// A registry or the network failed (exit 1).
    #[error("{0}")]
    Registry(String),
    #[error("{0}")]
    Io(String),
}

/// One platform's image, assembled.
struct PlatformImage {
    platform: Platform,
    image: StageImage,
    config: Blob,
    manifest: Blob,
    manifest_bytes: Vec<u8>,
}

pub fn build(
    request: &Request,
    dockerfile: &Dockerfile,
    source: &SourceFile,
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
    let provenance = Provenance::detect(context.root());
    let created = created(context.root());
    let scratch = tempfile::Builder::new()
        .prefix("scoreline-build-")
        .tempdir()
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
            };
            let image =
                build_platform(dockerfile, source, &context, &settings, &access, progress).await?;
            images.push(assemble(
                image,
                platform,
                &request.labels,
                &provenance,
                created,
                scratch.path(),
            )?);
        }
        let (top_bytes, top_media_type) = match images.as_slice() {
            [one] => (one.manifest_bytes.clone(), oci::MANIFEST),
            many => index(many, &provenance, created),
        };
        let top = layer::write_blob(&top_bytes, scratch.path())
            .map_err(|e| BuildError::Io(e.to_string()))?;
        let mut size = top.size;
        let mut seen = BTreeSet::new();
        for p in &images {
            size += if images.len() > 1 { p.manifest.size } else { 0 } + p.config.size;
            for l in &p.image.layers {
                if seen.insert(l.descriptor.digest.clone()) {
                    size += l.descriptor.size;
                }
            }
        }
        if let Some(dir) = &request.oci_layout {
            let mut blobs: Vec<Blob> = Vec::new();
            for p in &images {
                blobs.push(p.config.clone());
                if images.len() > 1 {
                    blobs.push(p.manifest.clone());
                }
                for l in &p.image.layers {
                    blobs.push(
                        l.local(scratch.path())
                            .await
                            .map_err(|e| BuildError::Registry(e.to_string()))?,
                    );
                }
            }
            blobs.push(top.clone());
            let names: Vec<String> = tags
                .iter()
                .filter_map(|t| t.tag().map(str::to_owned))
                .collect();
            let contents = layout::Contents {
                blobs: blobs.iter().collect(),
                top: (&top.digest, top.size, top_media_type),
            };
            layout::write(dir, &contents, &names).map_err(|e| BuildError::Usage(e.to_string()))?;
        }
        let mut transfers = Vec::new();
        if !tags.is_empty() {
            let mut blobs: Vec<Needed<'_>> = Vec::new();
            let mut digests = BTreeSet::new();
            for p in &images {
                if digests.insert(p.config.digest.clone()) {
                    blobs.push(Needed::Local(&p.config));
                }
                for l in &p.image.layers {
                    if digests.insert(l.descriptor.digest.clone()) {
                        blobs.push(Needed::Layer(l));
                    }
                }
            }
            let children: Vec<(&[u8], &'static str)> = if images.len() > 1 {
                images
                    .iter()
                    .map(|p| (p.manifest_bytes.as_slice(), oci::MANIFEST))
                    .collect()
            } else {
                Vec::new()
            };
            let what = Push {
                blobs,
                children,
                top: (&top_bytes, top_media_type),
            };
            let report = push::push(&what, &tags, &access, scratch.path(), progress)
                .await
                .map_err(|e| BuildError::Registry(e.to_string()))?;
            transfers = report
                .into_iter()
                .map(|(repository, digest, transfer)| BlobTransfer {
                    repository,
                    digest,
                    transfer,
                })
                .collect();
        }
        Ok(Built {
            digest: top.digest.clone(),
            media_type: top_media_type.to_owned(),
            reference: tags
                .first()
                .map(|t| format!("{}/{}@{}", t.resolve_registry(), t.repository(), top.digest)),
            tags: tags.iter().map(Reference::whole).collect(),
            size,
            platforms: images
                .iter()
                .map(|p| PlatformBuilt {
                    platform: p.platform.to_string(),
                    digest: p.manifest.digest.clone(),
                })
                .collect(),
            layout: request.oci_layout.clone(),
            transfers,
        })
    })
}

/// Builds the last stage (and the stages it needs) for one platform.
async fn build_platform(
    dockerfile: &Dockerfile,
    source: &SourceFile,
    context: &Context,
    settings: &Settings<'_>,
    access: &Access,
    progress: Sink<'_>,
) -> Result<StageImage, BuildError> {
    let at = |pos: Pos, message: String, help: String| {
        BuildError::Dockerfile(vec![source.error(pos, message).with_help(help)])
    };
    let automatic = stage::automatic_args(settings.platform);
    let mut global = automatic.clone();
    for arg in &dockerfile.global_args {
        if let Some(value) = settings.build_args.get(&arg.name).cloned().or_else(|| {
            arg.default
                .as_deref()
                .map(|d| dockerfile::expand(d, &global))
        }) {
            global.insert(arg.name.clone(), value);
        }
    }
    let stage_index = |name: &str, before: usize| -> Option<usize> {
        dockerfile.stages[..before]
            .iter()
            .position(|s| s.alias.as_deref() == Some(&name.to_lowercase()))
            .or_else(|| name.parse::<usize>().ok().filter(|i| *i < before))
    };
    let needed = needed_stages(dockerfile, &global, &stage_index);
    let mut built: Vec<Option<StageImage>> = Vec::new();
    for (i, stage) in dockerfile.stages.iter().enumerate() {
        if !needed.contains(&i) {
            built.push(None);
            continue;
        }
        let name = stage.alias.clone().unwrap_or_else(|| i.to_string());
        progress(Event::Stage {
            platform: settings.platform.clone(),
            stage: name,
        });
        let base_name = dockerfile::expand(&stage.base, &global);
        let mut image = if base_name.eq_ignore_ascii_case("scratch") {
            StageImage::scratch(settings.platform, settings.created)
        } else if let Some(j) = stage_index(&base_name, i) {
            built[j].clone().expect("needed stages are built first")
        } else {
            let platform = match &stage.platform {
                Some(text) => Platform::parse(&dockerfile::expand(text, &global))
                    .map_err(|m| at(stage.at, m, "FROM --platform=OS/ARCH".into()))?,
                None => settings.platform.clone(),
            };
            from_base(&base_name, &platform, access).await.map_err(|m| at(stage.at, m, "check the image name, that it exists for this platform, and registry credentials".into()))?
        };
        let mut vars = Vars::new(&automatic, &global, &image);
        let mut state = State::default();
        for (pos, instruction) in &stage.instructions {
            let located = |e: StageError| match e {
                StageError::Instruction { message, help } => at(*pos, message, help),
                StageError::Io(m) => BuildError::Io(m),
            };
            let files;
            let source = match instruction {
                Instruction::Copy(copy) => match &copy.from {
                    None => Some(Source::Context(context)),
                    Some(from) => {
                        let other =
                            match stage_index(from, i) {
                                Some(j) => built[j].clone().expect("needed stages are built first"),
                                None => from_base(from, settings.platform, access).await.map_err(
                                    |m| {
                                        at(
                                            *pos,
                                            m,
                                            "--from names an earlier stage or an image".into(),
                                        )
                                    },
                                )?,
                            };
                        files = other.filesystem(settings.scratch).await.map_err(located)?;
                        Some(Source::Files(&files))
                    }
                },
                _ => None,
            };
            let layers_before = image.layers.len();
            stage::apply(
                &mut image,
                &mut vars,
                &mut state,
                instruction,
                source,
                settings,
            )
            .map_err(located)?;
            if let Some(l) = image.layers.get(layers_before) {
                progress(Event::Layer {
                    platform: settings.platform.clone(),
                    digest: l.descriptor.digest.clone(),
                    size: l.descriptor.size,
                });
            }
        }
        built.push(Some(image));
    }
    Ok(built
        .pop()
        .flatten()
        .expect("the last stage is always needed"))
}

/// The stages the last stage needs (through FROM and COPY --from), itself included.
fn needed_stages(
    dockerfile: &Dockerfile,
    global: &BTreeMap<String, String>,
    index: &dyn Fn(&str, usize) -> Option<usize>,
) -> BTreeSet<usize> {
    let mut needed = BTreeSet::new();
    let mut pending = vec![dockerfile.stages.len() - 1];
    while let Some(i) = pending.pop() {
        if !needed.insert(i) {
            continue;
        }
        let stage = &dockerfile.stages[i];
        let mut references = vec![dockerfile::expand(&stage.base, global)];
        references.extend(stage.instructions.iter().filter_map(|(_, ins)| match ins {
            Instruction::Copy(c) => c.from.clone(),
            _ => None,
        }));
        pending.extend(references.iter().filter_map(|r| index(r, i)));
    }
    needed
}

async fn from_base(
    image: &str,
    platform: &Platform,
    access: &Access,
) -> Result<StageImage, String> {
    let base = base::pull(image, platform, access).await?;
    let mut config = base.config;
    if !config["config"].is_object() {
        config["config"] = Value::Object(Default::default());
    }
    Ok(StageImage {
        config,
        layers: base.layers,
        own: Vec::new(),
        base: Some((base.reference.whole(), base.digest)),
    })
}

/// The config and manifest of a built platform image.
fn assemble(
    mut image: StageImage,
    platform: &Platform,
    labels: &[(String, String)],
    provenance: &Provenance,
    created: u64,
    scratch: &Path,
) -> Result<PlatformImage, BuildError> {
    let io = |e: std::io::Error| BuildError::Io(e.to_string());
    image.config["created"] = stage::timestamp(created).into();
    for (k, v) in labels {
        image.config["config"]["Labels"][k] = v.clone().into();
    }
    let config_bytes = serde_json::to_vec(&image.config).expect("JSON");
    let config = layer::write_blob(&config_bytes, scratch).map_err(io)?;
    let mut annotations = annotations(provenance, created);
    if let Some((name, digest)) = &image.base {
        annotations.insert("org.opencontainers.image.base.name".into(), name.clone());
        annotations.insert(
            "org.opencontainers.image.base.digest".into(),
            digest.clone(),
        );
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: oci::MANIFEST.into(),
        config: Descriptor {
            media_type: oci::CONFIG.into(),
            digest: config.digest.clone(),
            size: config.size,
            platform: None,
            annotations: BTreeMap::new(),
        },
        layers: image.layers.iter().map(|l| l.descriptor.clone()).collect(),
        annotations,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).expect("JSON");
    let manifest = layer::write_blob(&manifest_bytes, scratch).map_err(io)?;
    Ok(PlatformImage {
        platform: platform.clone(),
        image,
        config,
        manifest,
        manifest_bytes,
    })
}

fn index(
    images: &[PlatformImage],
    provenance: &Provenance,
    created: u64,
) -> (Vec<u8>, &'static str) {
    let index = Index {
        schema_version: 2,
        media_type: oci::INDEX.into(),
        manifests: images
            .iter()
            .map(|p| Descriptor {
                media_type: oci::MANIFEST.into(),
                digest: p.manifest.digest.clone(),
                size: p.manifest.size,
                platform: Some(p.platform.clone()),
                annotations: BTreeMap::new(),
            })
            .collect(),
        annotations: annotations(provenance, created),
    };
    (serde_json::to_vec(&index).expect("JSON"), oci::INDEX)
}

fn annotations(provenance: &Provenance, created: u64) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "org.opencontainers.image.created".into(),
        stage::timestamp(created),
    );
    if let Some(source) = &provenance.repository {
        a.insert("org.opencontainers.image.source".into(), source.clone());
    }
    if let Some(revision) = &provenance.commit {
        a.insert("org.opencontainers.image.revision".into(), revision.clone());
    }
    a
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
