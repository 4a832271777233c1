//! Building one stage for one platform: start from the base (an image, an earlier stage, or
//! scratch), apply each instruction to the image config, and turn each COPY or ADD into a layer.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::base::{LayerSource, Origin};
use super::context::{Context, ContextError};
use super::dockerfile::{Command, Copy, Healthcheck, Instruction, expand};
use super::filesystem::Filesystem;
use super::layer::{self, Entry, EntryKind};
use super::oci::{self, Descriptor, Platform};

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

/// What COPY reads from: the build context, or another stage's (or image's) files.
pub enum Source<'a> {
    Context(&'a Context),
    Files(&'a Filesystem),
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
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A problem of one instruction (the caller locates it).
    #[error("{message}")]
    Instruction { message: String, help: String },
    #[error("{0}")]
    Io(String),
}

fn wrong(message: impl Into<String>, help: impl Into<String>) -> StageError {
    StageError::Instruction {
        message: message.into(),
        help: help.into(),
    }
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
            let entries = copy_entries(
                &copy,
                source.expect("COPY has a source"),
                &workdir,
                settings.scratch,
            )?;
            let built = layer::write(&entries, settings.mtime, settings.scratch)
                .map_err(|e| StageError::Io(format!("writing a layer: {e}")))?;
            let mut diff_ids = image.config["rootfs"]["diff_ids"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            diff_ids.push(built.diff_id.clone().into());
            image.config["rootfs"]["diff_ids"] = diff_ids.into();
            image.layers.push(LayerSource {
                descriptor: Descriptor {
                    media_type: oci::LAYER.into(),
                    digest: built.blob.digest.clone(),
                    size: built.blob.size,
                    platform: None,
                    annotations: Default::default(),
                },
                diff_id: built.diff_id,
                origin: Origin::Local(built.blob),
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
    pub shell: Vec<String>,
    pub cmd_set: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            shell: vec!["/bin/sh".into(), "-c".into()],
            cmd_set: false,
        }
    }
}

impl State {
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

/// The entries a COPY or ADD puts in its layer, following Docker's rules: a folder's contents
/// are copied, several sources need a destination folder (ending in `/`), a relative
/// destination is relative to WORKDIR, new files belong to 0:0 unless `--chown`.
fn copy_entries(
    copy: &Copy,
    source: Source<'_>,
    workdir: &str,
    scratch: &Path,
) -> Result<Vec<Entry>, StageError> {
    let keyword = if copy.add { "ADD" } else { "COPY" };
    let (uid, gid) = owner(copy.chown.as_deref())?;
    let chmod = match copy.chmod.as_deref() {
        Some(text) => Some(
            u32::from_str_radix(text, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    wrong(
                        format!("--chmod={text} is not an octal mode"),
                        "write e.g. --chmod=0755",
                    )
                })?,
        ),
        None => None,
    };
    let destination = join(workdir, &copy.destination);
    let into_dir =
        copy.destination.ends_with('/') || copy.destination == "." || copy.destination == "..";
    let several_sources = || {
        wrong(
            format!(
                "{keyword} of several sources needs a destination folder ending in `/`, not `{}`",
                copy.destination
            ),
            format!("write `{}/`", copy.destination.trim_end_matches('/')),
        )
    };
    if copy.sources.len() > 1 && !into_dir {
        return Err(several_sources());
    }
    let base = destination
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned();
    let mut entries = Vec::new();
    let mut add = |path: String, kind: EntryKind, mode: u32| {
        let mode = match (&kind, chmod) {
            (EntryKind::Symlink(_), _) => 0o777,
            (_, Some(m)) => m,
            _ => mode,
        };
        entries.push(Entry {
            path,
            kind,
            mode,
            uid,
            gid,
        });
    };
    let at = |name: &str| {
        if base.is_empty() {
            name.to_owned()
        } else if name.is_empty() {
            base.clone()
        } else {
            format!("{base}/{name}")
        }
    };
    let mut matched_many = false;
    for source_text in &copy.sources {
        match &source {
            Source::Context(context) => {
                let found = context
                    .sources(source_text)
                    .map_err(|e| context_error(keyword, e))?;
                matched_many |= found.len() > 1;
                for f in found {
                    let meta = std::fs::metadata(&f.path)
                        .map_err(|e| StageError::Io(format!("{}: {e}", f.path.display())))?;
                    let name = f.relative.rsplit('/').next().unwrap_or("").to_owned();
                    if meta.is_dir() {
                        let mut error = None;
                        context
                            .walk(
                                &f.path.canonicalize().unwrap_or(f.path.clone()),
                                &f.relative,
                                &mut |rel, path| {
                                    let inner = rel
                                        .strip_prefix(&f.relative)
                                        .unwrap_or(rel)
                                        .trim_start_matches('/');
                                    match std::fs::symlink_metadata(path) {
                                        Ok(m) if m.file_type().is_symlink() => add(
                                            at(inner),
                                            EntryKind::Symlink(
                                                std::fs::read_link(path)
                                                    .map(|t| t.to_string_lossy().into_owned())
                                                    .unwrap_or_default(),
                                            ),
                                            0o777,
                                        ),
                                        Ok(m) if m.is_dir() => {
                                            add(at(inner), EntryKind::Dir, permissions(&m))
                                        }
                                        Ok(m) => add(
                                            at(inner),
                                            EntryKind::File(path.to_path_buf()),
                                            permissions(&m),
                                        ),
                                        Err(e) => {
                                            error = Some(StageError::Io(format!(
                                                "{}: {e}",
                                                path.display()
                                            )))
                                        }
                                    }
                                },
                            )
                            .map_err(|e| context_error(keyword, e))?;
                        if let Some(e) = error {
                            return Err(e);
                        }
                    } else if copy.add && is_tar(&f.path) {
                        let mut unpacked = Filesystem::default();
                        unpacked.unpack(&f.path, scratch).map_err(|e| {
                            StageError::Io(format!("unpacking {}: {e}", f.relative))
                        })?;
                        for e in unpacked.subtree("") {
                            add(at(&e.path), e.kind.clone(), e.mode);
                        }
                    } else {
                        let target = if into_dir || matched_many {
                            at(&name)
                        } else {
                            base.clone()
                        };
                        add(
                            target,
                            EntryKind::File(f.path.canonicalize().unwrap_or(f.path.clone())),
                            permissions(&meta),
                        );
                    }
                }
            }
            Source::Files(fs) => {
                let wanted = source_text
                    .trim_start_matches('/')
                    .trim_end_matches('/')
                    .to_owned();
                let roots: Vec<String> = if wanted.contains(['*', '?', '[']) {
                    let glob = globset::GlobBuilder::new(&wanted)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| {
                            wrong(format!("`{source_text}`: {}", e.kind()), "fix the pattern")
                        })?
                        .compile_matcher();
                    fs.paths().filter(|p| glob.is_match(p)).cloned().collect()
                } else if wanted.is_empty() || fs.get(&wanted).is_some() {
                    vec![wanted.clone()]
                } else {
                    Vec::new()
                };
                if roots.is_empty() {
                    return Err(wrong(
                        format!(
                            "{keyword} --from={}: `{source_text}` does not exist in that stage",
                            copy.from.as_deref().unwrap_or("")
                        ),
                        "name a path the stage's files include",
                    ));
                }
                matched_many |= roots.len() > 1;
                for root in roots {
                    let is_dir = root.is_empty()
                        || matches!(fs.get(&root).map(|e| &e.kind), Some(EntryKind::Dir));
                    let name = root.rsplit('/').next().unwrap_or("").to_owned();
                    if is_dir {
                        for e in fs.subtree(&root).into_iter().filter(|e| e.path != root) {
                            let inner = if root.is_empty() {
                                e.path.clone()
                            } else {
                                e.path[root.len() + 1..].to_owned()
                            };
                            add(at(&inner), e.kind.clone(), e.mode);
                        }
                    } else if let Some(e) = fs.get(&root) {
                        let target = if into_dir || matched_many {
                            at(&name)
                        } else {
                            base.clone()
                        };
                        add(target, e.kind.clone(), e.mode);
                    }
                }
            }
        }
    }
    if matched_many && !into_dir {
        return Err(several_sources());
    }
    // Folders on the way to the files, created as Docker creates them.
    let listed: std::collections::HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut parents: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for e in &entries {
        let mut path = e.path.as_str();
        while let Some((parent, _)) = path.rsplit_once('/') {
            if !listed.contains(parent) && !parents.insert(parent.to_owned()) {
                break; // seen before, and so were its parents
            }
            path = parent;
        }
    }
    // Folders above the destination keep root's ownership (a `--chown` must not hand `/usr`
    // to the app user); the destination and what is inside it get the asked owner.
    let owned =
        |path: &str| base.is_empty() || path == base || path.starts_with(&format!("{base}/"));
    entries.extend(parents.into_iter().map(|path| {
        let (uid, gid) = if owned(&path) { (uid, gid) } else { (0, 0) };
        Entry {
            path,
            kind: EntryKind::Dir,
            mode: 0o755,
            uid,
            gid,
        }
    }));
    Ok(entries)
}

fn context_error(keyword: &str, e: ContextError) -> StageError {
    let help = match &e {
        ContextError::NoMatch(_) => {
            "paths are relative to the build context; check .dockerignore too".to_owned()
        }
        ContextError::Escapes(_) => "only files inside the build context can be copied".to_owned(),
        _ => "check the build context".to_owned(),
    };
    wrong(format!("{keyword}: {e}"), help)
}

/// `--chown=UID[:GID]`: numeric, since there is no /etc/passwd to look names up in.
fn owner(chown: Option<&str>) -> Result<(u64, u64), StageError> {
    let Some(text) = chown else { return Ok((0, 0)) };
    let (user, group) = text.split_once(':').unwrap_or((text, text));
    match (user.parse::<u64>(), group.parse::<u64>()) {
        (Ok(u), Ok(g)) => Ok((u, g)),
        _ => Err(wrong(
            format!("--chown={text} must be numeric (UID or UID:GID)"),
            "the daemonless builder cannot read the image's /etc/passwd: write e.g. --chown=1000:1000",
        )),
    }
}

fn permissions(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

/// Whether ADD should unpack the file: a tar archive, plain or gzip-compressed.
fn is_tar(path: &Path) -> bool {
    use std::io::{Read, Seek};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 2];
    if file.read_exact(&mut head).is_err() || file.rewind().is_err() {
        return false;
    }
    let mut reader: Box<dyn Read> = if head == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut block = [0u8; 512];
    reader.read_exact(&mut block).is_ok() && &block[257..262] == b"ustar"
}

/// A path joined to a folder, cleaned (`.`, `..`, doubled slashes), absolute.
pub fn join(dir: &str, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{dir}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = format!("/{}", parts.join("/"));
    if path.ends_with('/') && joined != "/" {
        format!("{joined}/")
    } else {
        joined
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_workdir() {
        assert_eq!(join("/srv", "app"), "/srv/app");
        assert_eq!(join("/srv", "/etc/x"), "/etc/x");
        assert_eq!(join("/srv/a", "../b/./c/"), "/srv/b/c/");
        assert_eq!(join("/", "."), "/");
    }
}
