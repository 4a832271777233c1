//! Reading a baseline (a folder, or the embedded files): each file checked against its schema
//! with located errors, turned into typed values, then checked across files.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock};

use sha2::{Digest, Sha256};

use super::criteria::Rule;
use super::definition::{Definition, Driver, Program, Templates, parse_timeout};
use super::environment::Environment;
use super::policy::WorkloadPolicy;
use super::{Baseline, delivery, schemas, template_syntax};
use crate::diagnostic::{self, Diagnostic};
use crate::json_schema::Schema;
use crate::position::Pos;
use crate::score::placeholder::Template;
use crate::score::quantity::Quantity;
use crate::source::SourceFile;
use crate::yaml::{self, Located, Node, Value};

static ENVIRONMENTS: LazyLock<Schema> =
    LazyLock::new(|| Schema::new(schemas::ENVIRONMENTS.text, "environments.yaml"));
static DEFINITION: LazyLock<Schema> =
    LazyLock::new(|| Schema::new(schemas::RESOURCE_DEFINITION.text, "the definition"));
static POLICY: LazyLock<Schema> =
    LazyLock::new(|| Schema::new(schemas::WORKLOAD_POLICY.text, "the workload policy"));

/// What a baseline file is, by its place in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Environments,
    Policy,
    Resources,
}

/// The baseline and its warnings, or every error (with the warnings found alongside).
pub type Outcome = Result<(Baseline, Vec<Diagnostic>), Vec<Diagnostic>>;

/// Loads a baseline folder: `environments.yaml`, `resources/**/*.yaml`, `workload-policy.yaml`.
pub fn load_dir(dir: &Path) -> Outcome {
    if !dir.is_dir() {
        return Err(vec![
            Diagnostic::error(dir, Pos::START, "the platform baseline is not a folder").with_help(
                "--platform names a folder holding environments.yaml and resources/*.yaml",
            ),
        ]);
    }
    // Every file is read from inside this folder: a symbolic link may not lead out of it.
    let root = match dir.canonicalize() {
        Ok(root) => root,
        Err(e) => {
            return Err(vec![
                Diagnostic::error(
                    dir,
                    Pos::START,
                    format!("cannot read the platform baseline: {e}"),
                )
                .with_help("check that --platform names a folder you can read"),
            ]);
        }
    };
    let (wanted, mut problems) = discover(dir, &root);
    let has_environments = wanted.iter().any(|(role, _)| *role == Role::Environments);
    let mut files = Vec::new();
    for (role, path) in wanted {
        match SourceFile::read(&path) {
            Ok(file) => files.push((role, file)),
            Err(d) => problems.push(d),
        }
    }
    if !has_environments {
        problems.push(
            Diagnostic::error(&dir.join("environments.yaml"), Pos::START, "the baseline has no environments.yaml")
                .with_help("create it, e.g. `environments: [{name: development, type: development, namespace: dev}]`"),
        );
    }
    if problems.iter().any(Diagnostic::is_error) {
        return Err(problems);
    }
    let origin = dir.display().to_string();
    match load_sources(files, dir, Some(root), origin) {
        Ok((baseline, mut warnings)) => {
            warnings.extend(problems);
            Ok((baseline, warnings))
        }
        Err(mut errors) => {
            errors.extend(problems);
            Err(errors)
        }
    }
}

/// The files of a baseline folder's layout by role (environments.yaml, workload-policy.yaml,
/// resources/**.yaml), and the problems of what else is there; `root` is the folder, canonical.
fn discover(dir: &Path, root: &Path) -> (Vec<(Role, PathBuf)>, Vec<Diagnostic>) {
    let mut wanted = Vec::new();
    let mut problems = Vec::new();
    for entry in sorted_entries(dir) {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let role = match name.as_str() {
            "environments.yaml" | "environments.yml" => Role::Environments,
            "workload-policy.yaml" | "workload-policy.yml" => Role::Policy,
            "resources" if entry.is_dir() => Role::Resources,
            _ => {
                if is_yaml(&entry) {
                    problems.push(
                        Diagnostic::warning(
                            &entry,
                            Pos::START,
                            "ignored: not part of the baseline layout",
                        )
                        .with_help(
                            "a baseline holds environments.yaml, workload-policy.yaml and resources/*.yaml",
                        ),
                    );
                }
                continue;
            }
        };
        if let Some(problem) = link_out(root, &entry) {
            problems.push(problem);
        } else if role == Role::Resources {
            let mut seen = Vec::new();
            for file in yaml_files_below(root, &entry, &mut seen, &mut problems) {
                wanted.push((Role::Resources, file));
            }
        } else {
            wanted.push((role, entry));
        }
    }
    (wanted, problems)
}

/// The files a baseline folder's layout holds (for a report of one test case per file).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    match dir.canonicalize() {
        Ok(root) => discover(dir, &root).0.into_iter().map(|(_, f)| f).collect(),
        Err(_) => Vec::new(),
    }
}

/// `root` is the folder the files' paths start with (`<embedded>` for the embedded baseline);
/// `dir` the baseline folder, absolute (`cmd` programs run there), none when embedded.
pub(super) fn load_sources(
    files: Vec<(Role, SourceFile)>,
    root: &Path,
    dir: Option<PathBuf>,
    origin: String,
) -> Outcome {
    let revision = revision(&files, root);
    let mut out = Vec::new();
    let mut environments = Vec::new();
    let mut definitions = Vec::new();
    let mut policy = WorkloadPolicy::default();
    // Whether environments.yaml was read whole: criteria are checked against its names only then.
    let mut environments_read = true;
    for (role, file) in files {
        let source = Arc::new(file);
        // Duplicate keys are reported with the file's other problems, not instead of them.
        let documents = match yaml::parse_keeping_duplicates(&source, yaml::Limits::default()) {
            Ok(parsed) => {
                out.extend(parsed.duplicates);
                parsed.documents
            }
            Err(errors) => {
                environments_read &= role != Role::Environments;
                out.extend(errors);
                continue;
            }
        };
        if role != Role::Resources && documents.len() != 1 {
            environments_read &= role != Role::Environments;
            out.push(source.error(
                Pos::START,
                format!("expected one YAML document, found {}", documents.len()),
            ));
            continue;
        }
        // An empty document (a trailing `---`) holds nothing, as kubectl treats it.
        for document in documents
            .into_iter()
            .filter(|d| d.value != yaml::Value::Null)
        {
            let json = document.to_json();
            let schema = match role {
                Role::Environments => &*ENVIRONMENTS,
                Role::Policy => &*POLICY,
                Role::Resources => &*DEFINITION,
            };
            let problems = schema.check(&source, &document, &json);
            if !problems.is_empty() {
                environments_read &= role != Role::Environments;
                out.extend(problems);
                continue;
            }
            match role {
                Role::Environments => {
                    out.extend(delivery::check_paths(&source, &document));
                    out.extend(super::environment::check_urls(&source, &document));
                    environments.extend(read_environments(&source, &document, &json))
                }
                Role::Policy => {
                    policy = serde_json::from_value(json["spec"].clone()).unwrap_or_default();
                    out.extend(check_policy(&source, &document));
                }
                Role::Resources => {
                    out.extend(check_passed_variables(&source, &document));
                    let definition = read_definition(&source, &document, &json, dir.as_deref());
                    out.extend(check_definition(&definition));
                    definitions.push(definition);
                }
            }
        }
    }
    out.extend(check_across(&environments, &definitions, environments_read));
    out.extend(delivery::check_overlaps(&environments));
    diagnostic::sort(&mut out);
    if out.iter().any(Diagnostic::is_error) {
        return Err(out);
    }
    let baseline = Baseline {
        origin,
        dir,
        environments,
        definitions,
        policy,
        revision,
    };
    Ok((baseline, out))
}

fn read_environments(
    source: &Arc<SourceFile>,
    document: &Node,
    json: &serde_json::Value,
) -> Vec<Environment> {
    let nodes = document
        .get("environments")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    json["environments"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(nodes)
        .filter_map(|(value, node)| {
            let mut environment: Environment = serde_json::from_value(value.clone()).ok()?;
            environment.location = Some(Located {
                source: source.clone(),
                node: node.get("name").unwrap_or(node).clone(),
            });
            environment.delivery_location = node.get("delivery").map(|delivery| Located {
                source: source.clone(),
                node: delivery.clone(),
            });
            environment.repo_location =
                node.lookup(&["delivery", "repo"]).map(|(_, repo)| Located {
                    source: source.clone(),
                    node: repo.clone(),
                });
            Some(environment)
        })
        .collect()
}

fn read_definition(
    source: &Arc<SourceFile>,
    document: &Node,
    json: &serde_json::Value,
    dir: Option<&Path>,
) -> Definition {
    let located = |path: &[&str]| {
        document.lookup(path).map(|(_, node)| Located {
            source: source.clone(),
            node: node.clone(),
        })
    };
    let spec = &json["spec"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let driver = match spec["driver"].as_str().unwrap_or_default() {
        "template" => Driver::Template(Templates {
            outputs: located(&["spec", "template", "outputs"]),
            secrets: located(&["spec", "template", "secrets"]),
            manifests: located(&["spec", "template", "manifests"]),
        }),
        "cmd" => {
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array().into_iter().flatten().map(text).collect()
            };
            let command = strings(&spec["command"]);
            Driver::Cmd(Program {
                path: program_path(&command[0], dir),
                command,
                dir: dir.map(Path::to_path_buf),
                timeout: spec["timeout"]
                    .as_str()
                    .map_or(std::time::Duration::from_secs(60), parse_timeout),
                env: strings(&spec["env"]),
            })
        }
        _ => Driver::Static {
            outputs: located(&["spec", "outputs"]),
            secrets: located(&["spec", "secrets"]),
        },
    };
    Definition {
        name: text(&json["metadata"]["name"]),
        description: json["metadata"]["description"].as_str().map(str::to_owned),
        resource_type: text(&spec["type"]),
        criteria: serde_json::from_value::<Vec<Rule>>(spec["criteria"].clone()).unwrap_or_default(),
        driver,
        location: located(&["metadata", "name"]).expect("the schema requires metadata.name"),
    }
}

/// Template syntax, `${env.VAR}` syntax in static values, and relative `cmd` programs.
fn check_definition(definition: &Definition) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match &definition.driver {
        Driver::Template(templates) => {
            let engine = template_syntax::engine();
            for (part, template) in templates.parts() {
                let text = template.node.as_str().unwrap_or_default();
                if let Err(e) = engine.template_from_str(text) {
                    let at = template.position_at(template_syntax::error_offset(text, &e));
                    out.push(
                        template
                            .source
                            .error(at, format!("template `{part}` of definition `{}`: {}", definition.name, template_syntax::error_message(&e)))
                            .with_help("fix the minijinja syntax: {{ expression }}, {% statement %}, {# comment #}"),
                    );
                }
            }
        }
        Driver::Static { outputs, secrets } => {
            for values in [outputs, secrets].into_iter().flatten() {
                for (node, errors) in env_placeholder_errors(&values.node) {
                    for e in errors {
                        out.push(
                            values
                                .source
                                .error(node.position_at(&values.source, e.offset), e.message)
                                .with_help(e.help),
                        );
                    }
                }
            }
        }
        Driver::Cmd(program) => out.extend(check_program(definition, program)),
    }
    out
}

/// A relative path (`bin/provision`) from the baseline folder; a bare name (`python3`) is
/// looked up on PATH when run, an absolute path taken as it is.
fn program_path(program: &str, dir: Option<&Path>) -> PathBuf {
    let path = Path::new(program);
    match dir {
        Some(dir) if path.is_relative() && path.components().count() > 1 => dir.join(path),
        _ => path.to_path_buf(),
    }
}

/// A relative program exists, and is inside the baseline folder, symbolic links resolved.
fn check_program(definition: &Definition, program: &Program) -> Option<Diagnostic> {
    let dir = program.dir.as_ref()?;
    let written = Path::new(&program.command[0]);
    if program.path == written {
        return None; // a bare name or an absolute path
    }
    let error = |problem: String, help: String| {
        let at = &definition.location;
        at.source
            .error(
                at.node.span.start,
                format!(
                    "definition `{}` runs `{}`, {problem}",
                    definition.name,
                    written.display()
                ),
            )
            .with_help(help)
    };
    if !program.path.is_file() {
        return Some(error(
            "which is not in the baseline folder".into(),
            format!(
                "relative programs are resolved from {}; bare names from PATH",
                dir.display()
            ),
        ));
    }
    match program.path.canonicalize() {
        Ok(resolved) if resolved.starts_with(dir) => None,
        Ok(resolved) if written.components().any(|c| c == Component::ParentDir) => Some(error(
            format!("which is outside the baseline folder ({})", resolved.display()),
            "keep the program in the baseline folder, or name an installed program by its bare name or absolute path".into(),
        )),
        Ok(resolved) => Some(error(
            format!(
                "a symbolic link out of the baseline folder (to {})",
                resolved.display()
            ),
            "copy the program into the baseline folder, or name an installed program by its bare name or absolute path".into(),
        )),
        Err(e) => Some(error(format!("which cannot be read: {e}"), String::new())),
    }
}

/// `spec.env` of a `cmd` definition never names the platform key: it derives every secret.
fn check_passed_variables(source: &SourceFile, document: &Node) -> Vec<Diagnostic> {
    let Some((_, names)) = document.lookup(&["spec", "env"]) else {
        return Vec::new();
    };
    let definition = document
        .lookup(&["metadata", "name"])
        .and_then(|(_, n)| n.as_str())
        .unwrap_or_default();
    names
        .as_seq()
        .unwrap_or_default()
        .iter()
        .filter(|n| n.as_str() == Some("SCORELINE_KEY"))
        .map(|n| {
            source
                .error(
                    n.span.start,
                    format!("definition `{definition}` passes `SCORELINE_KEY` to its program: the platform key derives every secret and never leaves scoreline"),
                )
                .with_help("remove it from `env`; derive secrets with the template driver's derive() instead")
        })
        .collect()
}

/// The malformed `${env.…}` placeholders of every string under a node.
fn env_placeholder_errors(
    node: &Node,
) -> Vec<(&Node, Vec<crate::score::placeholder::PlaceholderError>)> {
    let mut found = Vec::new();
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        match &node.value {
            Value::String(s) => {
                if let Err(errors) = Template::parse_env(s) {
                    found.push((node, errors));
                }
            }
            Value::Seq(items) => pending.extend(items),
            Value::Map(entries) => pending.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    found
}

fn check_policy(source: &SourceFile, document: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for bound in ["requests", "limits"] {
        for kind in ["cpu", "memory"] {
            let Some((_, node)) = document.lookup(&["spec", "resources", bound, kind]) else {
                continue;
            };
            if let Some(Err(e)) = node.as_str().map(str::parse::<Quantity>) {
                out.push(
                    source
                        .error(node.span.start, format!("default {kind} {bound}: {e}"))
                        .with_help(e.help()),
                );
            }
        }
    }
    out
}

/// Unique names, and criteria that name environments or types no environment has (when the
/// environments were read: a typo in environments.yaml is its own error, not one warning per
/// definition).
fn check_across(
    environments: &[Environment],
    definitions: &[Definition],
    environments_read: bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen: HashMap<&str, &Located> = HashMap::new();
    for env in environments {
        let Some(at) = &env.location else { continue };
        if let Some(first) = seen.insert(&env.name, at) {
            out.push(
                at.source
                    .error(
                        at.node.span.start,
                        format!("environment `{}` is defined twice", env.name),
                    )
                    .with_help(format!("the first is at {}", first.origin())),
            );
        }
    }
    let mut names: HashMap<&str, &Definition> = HashMap::new();
    for d in definitions {
        if let Some(first) = names.insert(&d.name, d) {
            out.push(
                d.location
                    .source
                    .error(
                        d.location.node.span.start,
                        format!("resource definition `{}` is defined twice", d.name),
                    )
                    .with_help(format!(
                        "the first is {}; names must be unique in a baseline",
                        first.describe()
                    )),
            );
        }
    }
    if !environments_read {
        return out;
    }
    let env_names: Vec<&str> = environments.iter().map(|e| e.name.as_str()).collect();
    let mut env_types: Vec<&str> = environments.iter().map(|e| e.env_type.as_str()).collect();
    env_types.sort();
    env_types.dedup();
    for d in definitions {
        for rule in &d.criteria {
            for (field, value, known) in [
                ("env", &rule.env, &env_names),
                ("env_type", &rule.env_type, &env_types),
            ] {
                if let Some(value) = value
                    && !known.contains(&value.as_str())
                {
                    out.push(
                        d.location
                            .source
                            .warning(d.location.node.span.start, format!("definition `{}` has a rule for {field} `{value}`, which no environment has", d.name))
                            .with_help(super::suggest::known(value, known)),
                    );
                }
            }
        }
    }
    out
}

/// A digest of every file (by its path inside the baseline), so a deployment can say which
/// baseline it was rendered with, wherever that baseline was checked out.
fn revision(files: &[(Role, SourceFile)], root: &Path) -> String {
    let mut sorted: Vec<(String, &SourceFile)> = files
        .iter()
        .map(|(_, f)| {
            (
                f.path
                    .strip_prefix(root)
                    .unwrap_or(&f.path)
                    .to_string_lossy()
                    .into_owned(),
                f,
            )
        })
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = Sha256::new();
    for (path, file) in sorted {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    format!(
        "sha256:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The YAML files below `dir`, each folder once (`seen`: the canonical folders visited, so a
/// link back up is not followed round); links leading out of `root` are problems instead.
fn yaml_files_below(
    root: &Path,
    dir: &Path,
    seen: &mut Vec<PathBuf>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    if let Ok(canonical) = dir.canonicalize() {
        if seen.contains(&canonical) {
            return Vec::new();
        }
        seen.push(canonical);
    }
    let mut found = Vec::new();
    for entry in sorted_entries(dir) {
        let is_dir = entry.is_dir();
        if !is_dir && !is_yaml(&entry) {
            continue;
        }
        if let Some(problem) = link_out(root, &entry) {
            problems.push(problem);
        } else if is_dir {
            found.extend(yaml_files_below(root, &entry, seen, problems));
        } else {
            found.push(entry);
        }
    }
    found
}

/// A symbolic link whose target is outside `root` (canonical), or leads nowhere: an error at
/// the link. A baseline is often checked out from a repository: a link in it must not make
/// scoreline read (and quote in its messages) files from elsewhere on the machine.
fn link_out(root: &Path, path: &Path) -> Option<Diagnostic> {
    let is_link = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return None;
    }
    let target = std::fs::read_link(path).unwrap_or_default();
    match path.canonicalize() {
        Ok(resolved) if resolved.starts_with(root) => None,
        Ok(resolved) => Some(
            Diagnostic::error(
                path,
                Pos::START,
                format!(
                    "a symbolic link out of the baseline folder (to {})",
                    resolved.display()
                ),
            )
            .with_help("copy the file into the baseline folder, or link to a file inside it"),
        ),
        Err(e) => Some(
            Diagnostic::error(
                path,
                Pos::START,
                format!(
                    "a symbolic link to {}, which cannot be read: {e}",
                    target.display()
                ),
            )
            .with_help("remove the link, or point it at a file inside the baseline folder"),
        ),
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}
