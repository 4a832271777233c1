//! One platform's image: the stages the last one needs (through FROM and COPY --from), each
//! started from its base and built instruction by instruction.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::base::{self, PullError};
use super::build_error::BuildError;
use super::context::Context;
use super::copy::Source;
use super::dockerfile::{self, Dockerfile, Instruction};
use super::stage::{self, Settings, StageImage, State, Vars};
use super::stage_error::StageError;
use crate::image::event::{Event, Sink};
use crate::image::oci::Platform;
use crate::image::registry::Access;
use crate::position::Pos;
use crate::source::SourceFile;

/// Builds the last stage (and the stages it needs) for one platform.
pub async fn build_platform(
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
    // A base image that does not fit is the Dockerfile's mistake; a registry that fails is not.
    let pulling = |pos: Pos, help: &'static str| {
        move |e: PullError| match e {
            PullError::Invalid(message) => at(pos, message, help.to_owned()),
            PullError::Registry(message) => {
                let (message, help) = match message.split_once("\n  help: ") {
                    Some((message, own)) => (message.to_owned(), own.to_owned()),
                    None => (message, "try again; check the registry's status".to_owned()),
                };
                BuildError::Pull(vec![source.error(pos, message).with_help(help)])
            }
        }
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
            stage: name.clone(),
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
            from_base(&base_name, &platform, access).await.map_err(pulling(stage.at, "check the image name, that it exists for this platform, and registry credentials"))?
        };
        let mut vars = Vars::new(&automatic, &global, &image);
        let mut state = State::new(&name);
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
                        let other = match stage_index(from, i) {
                            Some(j) => built[j].clone().expect("needed stages are built first"),
                            None => from_base(from, settings.platform, access).await.map_err(
                                pulling(*pos, "--from names an earlier stage or an image"),
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
                    cached: l.is_deferred(),
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
) -> Result<StageImage, PullError> {
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
