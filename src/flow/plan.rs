//! Plan, then deliver exactly the plan: `plan` renders for each environment and compares with
//! what its delivery holds now, binding each app folder's revision and the render's keyed id;
//! `deploy --plan` renders the plan's inputs again and delivers only when the render is the
//! same (same keyed id) and the folder has not moved — checked where the change is applied, on
//! every attempt of the push.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::delivery::{Terms, deliver, unpinned};
use super::deployed::Deployed;
use super::session::{Inputs, load, score_files};
use super::talk::Talk;
use crate::baseline::DeliveryKind;
use crate::deploy::{
    self, EnvironmentPlan, InputFile, PLAN_FORMAT, Plan, PlanInputs, PlannedResource,
};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;
use crate::render::Images;

/// What to plan: the Score files, platform, app and images (as for `deploy`), for each of
/// `environments`.
pub struct PlanRequest<'a> {
    pub files: &'a [PathBuf],
    pub platform: Option<&'a Path>,
    pub app: Option<&'a str>,
    pub images: &'a [String],
    pub environments: &'a [String],
}

/// A plan, and the environments that could not be planned (each with its error): a plan with
/// failures is shown but never written.
pub struct Planned {
    pub plan: Plan,
    pub failures: Vec<(String, Error)>,
}

/// Plans each environment; what each says joins `warnings`.
pub fn plan(request: &PlanRequest<'_>, warnings: &mut Vec<Diagnostic>) -> Result<Planned, Error> {
    let images = Images::parse(request.images).map_err(|e| Error::Usage(e.to_string()))?;
    let files = score_files(request.files);
    let inputs = PlanInputs {
        files: files
            .iter()
            .map(|path| InputFile {
                path: path.display().to_string(),
                sha256: sha256(path).unwrap_or_default(),
            })
            .collect(),
        platform: request.platform.map(|p| p.display().to_string()),
        app: request.app.map(str::to_owned),
        images: request.images.to_vec(),
    };
    let mut plan = Plan {
        format: PLAN_FORMAT.to_owned(),
        created: deploy::timestamp(SystemTime::now()),
        inputs,
        environments: Vec::new(),
    };
    let mut failures = Vec::new();
    for env in request.environments {
        let inputs = Inputs {
            files: files.clone(),
            platform: request.platform.map(Path::to_path_buf),
            env: Some(env.clone()),
            app: request.app.map(str::to_owned),
        };
        match plan_environment(&inputs, &images, warnings) {
            Ok(planned) => plan.environments.push(planned),
            Err(e) => failures.push((env.clone(), e)),
        }
    }
    Ok(Planned { plan, failures })
}

fn plan_environment(
    inputs: &Inputs,
    images: &Images,
    warnings: &mut Vec<Diagnostic>,
) -> Result<EnvironmentPlan, Error> {
    let session = load(inputs, warnings)?;
    let preview = session.preview(images, warnings)?;
    let staged = &preview.staged;
    Ok(EnvironmentPlan {
        environment: session.environment.name.clone(),
        app: session.app.clone(),
        namespace: session.environment.namespace.clone(),
        location: staged.target.location(&session.app),
        revision: preview.revision.clone(),
        id: staged.record.id.clone(),
        deployed: preview.deployed.as_ref().map(|r| r.id.clone()),
        baseline: session.baseline.revision.clone(),
        url: deploy::environment_url(&session.environment, &session.app, &staged.files),
        resources: PlannedResource::of(&staged.graph),
        images: staged.record.images.clone(),
        changes: preview.changes,
    })
}

/// Delivers the plan's environment `env` (or its only one) exactly as planned: refused (exit
/// 3, nothing written) when a Score file changed, the render differs from the plan's, or the
/// app folder moved since.
pub fn deploy_plan(
    plan: &Plan,
    env: Option<&str>,
    message: Option<&str>,
    talk: &Talk,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let planned = plan.environment(env)?;
    for file in &plan.inputs.files {
        let now = sha256(Path::new(&file.path));
        if now.as_deref() != Some(file.sha256.as_str()) {
            let now = now.unwrap_or_else(|| "unreadable".into());
            return Err(refused(
                planned,
                format!(
                    "the Score file {} changed since the plan was made (planned {}, now {})",
                    file.path,
                    deploy::short(&file.sha256),
                    deploy::short(&now)
                ),
            ));
        }
    }
    let inputs = Inputs {
        files: plan
            .inputs
            .files
            .iter()
            .map(|f| PathBuf::from(&f.path))
            .collect(),
        platform: plan.inputs.platform.as_ref().map(PathBuf::from),
        env: Some(planned.environment.clone()),
        app: plan.inputs.app.clone(),
    };
    let images = Images::parse(&plan.inputs.images).map_err(|e| Error::Usage(e.to_string()))?;
    let session = load(&inputs, warnings)?;
    let mut staged = session.stage(&images, None, warnings)?;
    if staged.record.id != planned.id {
        let why = if session.baseline.revision != planned.baseline {
            format!(
                "the baseline changed (planned revision {}, now {})",
                deploy::short(&planned.baseline),
                deploy::short(&session.baseline.revision)
            )
        } else {
            "an input the Score files and baseline do not show changed: the platform key, a `cmd` driver's answer, or a file a Score file reads".to_owned()
        };
        return Err(refused(
            planned,
            format!(
                "the render differs from the plan's (planned {}, now {}): {why}",
                deploy::short(&planned.id),
                deploy::short(&staged.record.id)
            ),
        ));
    }
    if staged.target.kind == DeliveryKind::Git {
        warnings.extend(unpinned(&staged.record));
    }
    deliver(
        &mut staged.target,
        &session.app,
        staged.files,
        staged.record,
        &Terms {
            message,
            planned: Some(&planned.revision),
            talk,
        },
        warnings,
    )
}

fn refused(planned: &EnvironmentPlan, what: String) -> Error {
    Error::Refused(vec![
        Diagnostic::general(
            Severity::Error,
            format!(
                "environment `{}`: {what}; nothing was delivered",
                planned.environment
            ),
        )
        .with_help("run `scoreline plan` again, review the new plan, and deploy that one"),
    ])
}

fn sha256(path: &Path) -> Option<String> {
    Some(deploy::digest(&std::fs::read(path).ok()?))
}
