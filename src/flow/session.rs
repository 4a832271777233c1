//! The steps every command that renders shares: load the Score files and the baseline, pick the
//! environment and app, read the platform key and the run's provenance, resolve resources,
//! render manifests.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use crate::baseline::{self, Baseline, Environment};
use crate::ci::provenance::Provenance;
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::render::{self, Images, ManifestSet, Rendered};
use crate::resolve::{self, Graph, Key};
use crate::score::{self, LoadedWorkload};

/// What the user asked for (flags of `render`, `resources explain`, `deploy`, `diff`).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub platform: Option<PathBuf>,
    pub env: Option<String>,
    pub app: Option<String>,
}

/// Valid workloads and baseline, the chosen environment and app, and what this run reads from
/// its surroundings once: the platform key and where the run comes from.
pub struct Session {
    pub workloads: Vec<LoadedWorkload>,
    pub baseline: Baseline,
    pub environment: Environment,
    pub app: String,
    key: Key,
    /// Read when first needed (it runs git): rendering alone does not.
    provenance: OnceCell<Provenance>,
}

/// The baseline of `--platform DIR`, or the embedded one.
pub(super) fn load_baseline(platform: Option<&Path>) -> baseline::Outcome {
    match platform {
        Some(dir) => baseline::load_dir(dir),
        None => Ok((baseline::embedded(), Vec::new())),
    }
}

/// Loads the inputs (the run's provenance, when needed, is read in the first Score file's
/// repository). The inputs' warnings join `warnings`; their errors, with the warnings, make
/// the error.
pub fn load(inputs: &Inputs, warnings: &mut Vec<Diagnostic>) -> Result<Session, Error> {
    load_for(inputs, None, warnings)
}

/// As `load`, with the run's provenance when it is already read.
pub(super) fn load_for(
    inputs: &Inputs,
    provenance: Option<Provenance>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Session, Error> {
    let files = score_files(&inputs.files);
    let scores = score::load(&files);
    let baseline = load_baseline(inputs.platform.as_deref());
    // Report the problems of both inputs together.
    let mut diagnostics = scores.diagnostics.clone();
    let baseline = match baseline {
        Ok((baseline, found)) => {
            diagnostics.extend(found);
            Some(baseline)
        }
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    };
    crate::diagnostic::sort(&mut diagnostics);
    let baseline = match baseline {
        Some(b) if !scores.has_errors() => b,
        _ => return Err(Error::Invalid(diagnostics)),
    };
    let environment = choose_environment(&baseline, inputs.env.as_deref())?;
    let app = match &inputs.app {
        Some(app) => app_name(app)?,
        None => scores.workloads[0].workload.metadata.name.clone(),
    };
    warnings.extend(diagnostics);
    Ok(Session {
        workloads: scores.workloads,
        baseline,
        environment,
        app,
        key: Key::from_env(),
        provenance: provenance.map(OnceCell::from).unwrap_or_default(),
    })
}

/// The Score files named, or ./score.yaml.
pub(super) fn score_files(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("score.yaml")]
    } else {
        files.to_vec()
    }
}

/// An app named on the command line: a DNS label, as app names are, and so never a path that
/// would lead outside the app's folder (`../staging/shop`).
pub(super) fn app_name(app: &str) -> Result<String, Error> {
    if resolve::dns_label(app, app, 63) != app {
        return Err(Error::Usage(format!(
            "--app `{app}` must be lowercase letters, digits and '-' (at most 63 characters)"
        )));
    }
    Ok(app.to_owned())
}

pub(super) fn choose_environment(
    baseline: &Baseline,
    wanted: Option<&str>,
) -> Result<Environment, Error> {
    let names = baseline.environment_names().join(", ");
    match wanted {
        Some(name) => baseline
            .environment(name)
            .ok_or_else(|| Error::Usage(baseline.unknown_environment(name))),
        None => baseline
            .environment("development")
            .or_else(|| {
                let only = &baseline.environments;
                (only.len() == 1 && !only[0].is_pattern()).then(|| only[0].clone())
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "name an environment with --env (environments: {names})"
                ))
            }),
    }
}

impl Session {
    pub fn request(&self) -> resolve::Request<'_> {
        resolve::Request {
            workloads: &self.workloads,
            baseline: &self.baseline,
            environment: &self.environment,
            app: &self.app,
            key: self.key.clone(),
        }
    }

    /// Where this run comes from: the CI's variables, and git in the first workload's repository.
    pub(super) fn provenance(&self) -> &Provenance {
        self.provenance
            .get_or_init(|| Provenance::detect(&self.workloads[0].workspace.root))
    }

    pub(super) fn key(&self) -> &Key {
        &self.key
    }

    /// The identity of a render of these inputs (keyed: it covers Secret values).
    pub fn id(&self, set: &ManifestSet) -> String {
        set.digest(&self.key)
    }

    /// Resolves and renders; the warnings of both steps join `warnings`.
    pub fn render(
        &self,
        images: &Images,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(Graph, Rendered), Error> {
        // Everything a render writes is keyed: no key, or a weak one, refuses before anything runs.
        self.key
            .check(&self.environment)
            .map_err(|d| Error::Refused(vec![d]))?;
        let graph = resolve::resolve(&self.request())?;
        warnings.extend(graph.warnings.iter().cloned());
        let options = render::Options {
            environment: &self.environment,
            policy: &self.baseline.policy,
            images,
            app: &self.app,
            key: &self.key,
        };
        let rendered = render::render(&self.workloads, &graph, &options)?;
        Ok((graph, rendered))
    }
}
