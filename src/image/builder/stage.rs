//! Building one stage for one platform: start from the base (an image, an earlier stage, or
//! scratch), apply each instruction to the image config, and turn each COPY or ADD into a layer.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::cache::{LayerCache, Slot};
use super::copy::{self, Source};
use super::dockerfile::{Command, Copy, Healthcheck, Instruction, expand};
use super::filesystem::{Filesystem, join};
use super::layer::Entry;
use super::stage_error::{StageError, wrong};
use crate::image::oci::{self, Descriptor, Platform};
use crate::image::registry::LayerSource;

/// A stage as built so far.
#[derive(Clone)]
pub struct StageImage {
    /// The whole image config (os, architecture, config, rootfs, history), base fields kept.
    pub config: Value,
    pub layers: Vec<LayerSource>,
    /// Our layers' entries, in order (the base's files come from its layers).
    pub own: Vec<Vec<Entry>>,
    /// The base image (reference and digest), for annotations.
    pub base: Option<(String, String)>,
}

/// Build-wide settings for every instruction.
pub struct Settings<'a> {
    pub platform: &'a Platform,
    /// `--build-arg` values.
    pub build_args: &'a BTreeMap<String, String>,
    /// mtime of every entry (seconds since the epoch): fixed apart from commits, so an unchanged
    /// file gives the same layer in every build.
    pub mtime: u64,
    /// `created` of the config (seconds since the epoch).
    pub created: u64,
    /// Where layers are written.
    pub scratch: &'a Path,
    pub cache: &'a LayerCache,
}

impl StageImage {
    /// An empty image: `FROM scratch`.
    pub fn scratch(platform: &Platform, created: u64) -> StageImage {
        let mut config = json!({
            "created": timestamp(created),
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        });
        if let Some(variant) = &platform.variant {
            config["variant"] = variant.clone().into();
        }
        StageImage {
            config,
            layers: Vec::new(),
            own: Vec::new(),
            base: None,
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        self.config["config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                e.as_str()?
                    .split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    fn set_env(&mut self, key: &str, value: &str) {
        let mut env: Vec<Value> = self.config["config"]["Env"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        env.retain(|e| {
            e.as_str()
                .and_then(|s| s.split_once('='))
                .is_none_or(|(k, _)| k != key)
        });
        env.push(format!("{key}={value}").into());
        self.config["config"]["Env"] = env.into();
    }

    fn history(&mut self, created_by: &str, empty_layer: bool) {
        let mut entry = json!({"created": self.config["created"], "created_by": created_by, "comment": "scoreline"});
        if empty_layer {
            entry["empty_layer"] = true.into();
        }
        let mut history = self.config["history"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        history.push(entry);
        self.config["history"] = history.into();
    }

    /// The files of this stage (its base's layers unpacked into `scratch`, then ours).
    pub async fn filesystem(&self, scratch: &Path) -> Result<Filesystem, StageError> {
        let mut fs = Filesystem::default();
        let own_layers = self.own.len();
        for source in &self.layers[..self.layers.len() - own_layers] {
            let blob = source
                .local(scratch)
                .await
                .map_err(|e| StageError::Io(e.to_string()))?;
            fs.unpack(&blob.path, scratch)
                .map_err(|e| StageError::Io(format!("unpacking a base layer: {e}")))?;
        }
        for entries in &self.own {
            fs.add(entries);
        }
        Ok(fs)
    }
}

/// The ARGs Docker predefines: TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, and the
/// same BUILD… ones for this machine.
pub fn automatic_args(platform: &Platform) -> BTreeMap<String, String> {
    let mut args: BTreeMap<String, String> = platform.build_args().into_iter().collect();
    args.extend(
        Platform::host()
            .build_args()
            .into_iter()
            .map(|(k, v)| (k.replacen("TARGET", "BUILD", 1), v)),
    );
    args
}

/// The variables instructions expand: the automatic ARGs, the stage's ARGs, and ENV (base's too).
pub struct Vars {
    values: BTreeMap<String, String>,
    /// ARGs declared before the first FROM: a stage sees one only when it declares it again.
    globals: BTreeMap<String, String>,
}

impl Vars {
    pub fn new(
        automatic: &BTreeMap<String, String>,
        globals: &BTreeMap<String, String>,
        image: &StageImage,
    ) -> Vars {
        let mut values = automatic.clone();
        values.extend(image.env());
        Vars {
            values,
            globals: globals.clone(),
        }
    }

    pub fn expand(&self, text: &str) -> String {
        expand(text, &self.values)
    }
}

/// Applies one instruction.
pub fn apply(
    image: &mut StageImage,
    vars: &mut Vars,
    state: &mut State,
    instruction: &Instruction,
    source: Option<Source<'_>>,
    settings: &Settings<'_>,
) -> Result<(), StageError> {
    match instruction {
        Instruction::Arg(arg) => {
            let value = settings
                .build_args
                .get(&arg.name)
                .cloned()
                .or_else(|| arg.default.as_deref().map(|d| vars.expand(d)))
                .or_else(|| vars.globals.get(&arg.name).cloned());
            if let Some(value) = value {
                vars.values.insert(arg.name.clone(), value);
            }
            return Ok(());
        }
        Instruction::Env(pairs) => {
            for (k, v) in pairs {
                let value = vars.expand(v);
                image.set_env(k, &value);
                vars.values.insert(k.clone(), value);
            }
        }
        Instruction::Label(pairs) => {
            for (k, v) in pairs {
                image.config["config"]["Labels"][vars.expand(k)] = vars.expand(v).into();
            }
        }
        Instruction::Workdir(dir) => {
            let dir = join(
                image.config["config"]["WorkingDir"].as_str().unwrap_or("/"),
                &vars.expand(dir),
            );
            image.config["config"]["WorkingDir"] = dir.into();
        }
        Instruction::User(user) => image.config["config"]["User"] = vars.expand(user).into(),
        Instruction::StopSignal(signal) => {
            image.config["config"]["StopSignal"] = vars.expand(signal).into()
        }
        Instruction::Expose(ports) => {
            for port in ports.iter().map(|p| vars.expand(p)) {
                let port = if port.contains('/') {
                    port.to_lowercase()
                } else {
                    format!("{port}/tcp")
                };
                image.config["config"]["ExposedPorts"][port] = json!({});
            }
        }
        Instruction::Volume(volumes) => {
            for v in volumes {
                image.config["config"]["Volumes"][vars.expand(v)] = json!({});
            }
        }
        Instruction::Shell(shell) => state.shell = shell.clone(),
        Instruction::Entrypoint(command) => {
            image.config["config"]["Entrypoint"] = state.argv(command).into();
            if !state.cmd_set {
                // Docker: a new ENTRYPOINT drops the base image's CMD.
                image.config["config"]["Cmd"] = Value::Null;
            }
        }
        Instruction::Cmd(command) => {
            image.config["config"]["Cmd"] = state.argv(command).into();
            state.cmd_set = true;
        }
        Instruction::Healthcheck(check) => {
            image.config["config"]["Healthcheck"] = healthcheck(check.as_ref())?
        }
        Instruction::Copy(copy) => {
            let copy = Copy {
                sources: copy.sources.iter().map(|s| vars.expand(s)).collect(),
                destination: vars.expand(&copy.destination),
                chown: copy.chown.as_deref().map(|c| vars.expand(c)),
                chmod: copy.chmod.as_deref().map(|c| vars.expand(c)),
                ..copy.clone()
            };
            let workdir = image.config["config"]["WorkingDir"]
                .as_str()
                .unwrap_or("/")
                .to_owned();
            let entries = copy::entries(
                &copy,
                source.expect("COPY has a source"),
                &workdir,
                settings.scratch,
            )?;
            let platform = settings.platform.to_string();
            let expanded = describe(&Instruction::Copy(copy));
            let slot = Slot {
                platform: &platform,
                stage: &state.stage,
                instruction: &expanded,
                mtime: settings.mtime,
            };
            let (known, origin) = settings
                .cache
                .layer(&slot, &entries, settings.scratch)
                .map_err(|e| StageError::Io(format!("writing a layer: {e}")))?;
            let mut diff_ids = image.config["rootfs"]["diff_ids"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            diff_ids.push(known.diff_id.into());
            image.config["rootfs"]["diff_ids"] = diff_ids.into();
            image.layers.push(LayerSource {
                descriptor: Descriptor {
                    media_type: oci::LAYER.into(),
                    digest: known.digest,
                    size: known.size,
                    platform: None,
                    annotations: Default::default(),
                },
                origin,
            });
            image.own.push(entries);
            image.history(&describe(instruction), false);
            return Ok(());
        }
    }
    image.history(&describe(instruction), true);
    Ok(())
}

/// What one stage carries between instructions.
pub struct State {
    /// The stage's name (its alias, else its index), for the layer cache.
    pub stage: String,
    pub shell: Vec<String>,
    pub cmd_set: bool,
}

impl State {
    pub fn new(stage: &str) -> State {
        State {
            stage: stage.to_owned(),
            shell: vec!["/bin/sh".into(), "-c".into()],
            cmd_set: false,
        }
    }

    fn argv(&self, command: &Command) -> Vec<String> {
        match command {
            Command::Exec(argv) => argv.clone(),
            Command::Shell(line) => self
                .shell
                .iter()
                .cloned()
                .chain(std::iter::once(line.clone()))
                .collect(),
        }
    }
}

fn healthcheck(check: Option<&Healthcheck>) -> Result<Value, StageError> {
    let Some(check) = check else {
        return Ok(json!({"Test": ["NONE"]}));
    };
    let test: Vec<String> = match &check.test {
        Command::Exec(argv) => std::iter::once("CMD".to_owned())
            .chain(argv.iter().cloned())
            .collect(),
        Command::Shell(line) => vec!["CMD-SHELL".into(), line.clone()],
    };
    let mut value = json!({"Test": test});
    for (flag, field) in [
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ] {
        if let Some(text) = check.options.get(flag) {
            let duration = humantime::parse_duration(text).map_err(|_| {
                wrong(
                    format!("HEALTHCHECK --{flag}={text} is not a duration"),
                    "write e.g. 30s or 1m30s",
                )
            })?;
            value[field] = (duration.as_nanos() as u64).into();
        }
    }
    if let Some(retries) = check.options.get("retries") {
        value["Retries"] = retries
            .parse::<u64>()
            .map_err(|_| {
                wrong(
                    format!("HEALTHCHECK --retries={retries} is not a number"),
                    "write e.g. --retries=3",
                )
            })?
            .into();
    }
    Ok(value)
}

/// The instruction as Docker records it in the image history.
fn describe(instruction: &Instruction) -> String {
    let pairs = |p: &[(String, String)]| {
        p.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let command = |c: &Command| match c {
        Command::Exec(argv) => serde_json::to_string(argv).unwrap_or_default(),
        Command::Shell(line) => line.clone(),
    };
    match instruction {
        Instruction::Copy(c) => {
            let flags: String = [("from", &c.from), ("chown", &c.chown), ("chmod", &c.chmod)]
                .iter()
                .filter_map(|(f, v)| v.as_ref().map(|v| format!("--{f}={v} ")))
                .collect();
            format!(
                "{} {flags}{} {}",
                if c.add { "ADD" } else { "COPY" },
                c.sources.join(" "),
                c.destination
            )
        }
        Instruction::Arg(a) => format!("ARG {}", a.name),
        Instruction::Env(p) => format!("ENV {}", pairs(p)),
        Instruction::Label(p) => format!("LABEL {}", pairs(p)),
        Instruction::Workdir(dir) => format!("WORKDIR {dir}"),
        Instruction::User(user) => format!("USER {user}"),
        Instruction::Expose(ports) => format!("EXPOSE {}", ports.join(" ")),
        Instruction::Entrypoint(c) => format!("ENTRYPOINT {}", command(c)),
        Instruction::Cmd(c) => format!("CMD {}", command(c)),
        Instruction::Shell(argv) => {
            format!("SHELL {}", serde_json::to_string(argv).unwrap_or_default())
        }
        Instruction::StopSignal(signal) => format!("STOPSIGNAL {signal}"),
        Instruction::Volume(volumes) => format!(
            "VOLUME {}",
            serde_json::to_string(volumes).unwrap_or_default()
        ),
        Instruction::Healthcheck(None) => "HEALTHCHECK NONE".to_owned(),
        Instruction::Healthcheck(Some(h)) => format!("HEALTHCHECK CMD {}", command(&h.test)),
    }
}

pub fn timestamp(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch))
        .to_string()
}
