//! The steps every command that renders shares: load the Score files and the baseline, pick the
//! environment and app, resolve resources, render manifests.

use std::path::PathBuf;

use crate::baseline::{self, Baseline, Environment};
use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::render::{self, Images, ManifestSet};
use crate::resolve::{self, Graph, Key};
use crate::score::{self, LoadedWorkload};

/// What the user asked for (flags of `render`, `resources explain`, `deploy`).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub platform: Option<PathBuf>,
    pub env: Option<String>,
    pub app: Option<String>,
}

/// Valid workloads and baseline, the chosen environment and app, and the warnings so far.
pub struct Loaded {
    pub workloads: Vec<LoadedWorkload>,
    pub baseline: Baseline,
    pub environment: Environment,
    pub app: String,
    pub warnings: Vec<Diagnostic>,
}

pub fn load(inputs: &Inputs) -> Result<Loaded, Error> {
    let files = if inputs.files.is_empty() {
        vec![PathBuf::from("score.yaml")]
    } else {
        inputs.files.clone()
    };
    let scores = score::load(&files);
    let baseline = match &inputs.platform {
        Some(dir) => baseline::load_dir(dir),
        None => Ok((baseline::embedded(), Vec::new())),
    };
    // Report the problems of both inputs together.
    let mut diagnostics = scores.diagnostics.clone();
    let baseline = match baseline {
        Ok((baseline, warnings)) => {
            diagnostics.extend(warnings);
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
    let environment = choose_environment(&baseline, inputs.env.as_deref())?.clone();
    let app = match &inputs.app {
        Some(app) => {
            if resolve::dns_label(app, app, 63) != *app {
                return Err(Error::Usage(format!(
                    "--app `{app}` must be lowercase letters, digits and '-' (at most 63 characters)"
                )));
            }
            app.clone()
        }
        None => scores.workloads[0].workload.metadata.name.clone(),
    };
    Ok(Loaded {
        workloads: scores.workloads,
        baseline,
        environment,
        app,
        warnings: diagnostics,
    })
}

fn choose_environment<'b>(
    baseline: &'b Baseline,
    wanted: Option<&str>,
) -> Result<&'b Environment, Error> {
    let names = baseline.environment_names().join(", ");
    match wanted {
        Some(name) => baseline.environment(name).ok_or_else(|| {
            Error::Usage(format!(
                "environment `{name}` is not defined in {} (environments: {names})",
                baseline.origin
            ))
        }),
        None => baseline
            .environment("development")
            .or_else(|| (baseline.environments.len() == 1).then(|| &baseline.environments[0]))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "name an environment with --env (environments: {names})"
                ))
            }),
    }
}

impl Loaded {
    pub fn request(&self) -> resolve::Request<'_> {
        resolve::Request {
            workloads: &self.workloads,
            baseline: &self.baseline,
            environment: &self.environment,
            app: &self.app,
            key: Key::from_env(),
        }
    }

    /// Resolves and renders; warnings of both steps join `self.warnings`.
    pub fn render(&mut self, images: &Images) -> Result<(Graph, ManifestSet), Error> {
        let graph = resolve::resolve(&self.request())?;
        self.warnings.extend(graph.warnings.iter().cloned());
        let options = render::Options {
            environment: &self.environment,
            policy: &self.baseline.policy,
            images,
            app: &self.app,
        };
        let set = render::render(&self.workloads, &graph, &options)?;
        Ok((graph, set))
    }
}
