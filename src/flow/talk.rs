//! What a delivery tells the forge: a deployment with statuses around it, the pull/merge
//! request of a `mode: pull-request` delivery (and waiting for its merge), and a sticky comment
//! on the run's own pull/merge request. Statuses and comments never fail a deploy: their
//! failures are warnings. The pull/merge request is the delivery itself: a deploy whose request
//! cannot be opened has failed (its branch is pushed; running it again opens it).

use std::time::Duration;

use super::deployed::Deployed;
use crate::deploy::{Delivered, Plan, Record, Target};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;
use crate::forge::{self, Proposal, Topic};

/// What the forge is to be told, beyond the delivery itself.
#[derive(Debug, Clone, Default)]
pub struct Talk {
    /// Report a deployment with statuses (also when the environment's `forge.deployments`).
    pub deployment: bool,
    /// Post or update a sticky comment on the run's pull/merge request.
    pub comment: bool,
    /// With `mode: pull-request`: wait this long for the request to be merged.
    pub wait: Option<Duration>,
}

/// How often a wait for a merge asks.
const POLL: Duration = Duration::from_secs(5);

fn warning(message: impl Into<String>) -> Diagnostic {
    Diagnostic::general(Severity::Warning, message.into())
}

/// Runs `deliver` told about on the forge as `talk` says; what the forge calls say joins
/// `warnings`.
pub(super) fn around(
    target: &mut Target,
    record: &Record,
    talk: &Talk,
    warnings: &mut Vec<Diagnostic>,
    deliver: impl FnOnce(&mut Target) -> Result<Deployed, Error>,
) -> Result<Deployed, Error> {
    let environment = target.environment.clone();
    let environment = &environment;
    let wanted = talk.deployment || environment.forge.as_ref().is_some_and(|f| f.deployments);
    let run = if wanted || talk.comment {
        this_run(
            "deployment statuses and comments are told to the forge of the CI run (GitHub Actions, GitLab CI): none was found, so none is sent",
            "the forge is not told about this deploy",
            warnings,
        )
    } else {
        None
    };
    let log_url = record.provenance.run_url.clone();
    let deployment = run.as_ref().filter(|_| wanted).and_then(|run| {
        forge::start_deployment(
            run,
            &environment.name,
            environment.pattern.is_some(),
            log_url.as_deref(),
        )
        .map_err(|e| warnings.push(warning(format!("deployment status not reported: {e}"))))
        .ok()
    });
    let result = deliver(target).and_then(|deployed| propose(target, deployed, talk, warnings));
    let url = result.as_ref().ok().and_then(|d| d.url.clone());
    if let Some(deployment) = deployment
        && let Err(e) = deployment.finish(result.is_ok(), url.as_deref())
    {
        warnings.push(warning(format!("deployment status not reported: {e}")));
    }
    if talk.comment
        && let Some(run) = &run
        && let Ok(deployed) = &result
    {
        post(
            run,
            Topic::Deploy,
            &environment.name,
            &summary(deployed, url.as_deref()),
            warnings,
        );
    }
    result
}

/// Bytes a plan comment may take: GitHub's 65,536 characters, less room for the marker.
const PLAN_COMMENT_LIMIT: usize = 65_000;

/// Posts, or edits in place, one sticky comment per environment of `plan` on the CI run's
/// pull/merge request. Failures are warnings: a plan is never failed by its comment.
pub fn comment_plan(plan: &Plan, warnings: &mut Vec<Diagnostic>) {
    let Some(run) = this_run(NO_REQUEST, "the plan is not posted", warnings) else {
        return;
    };
    let job = crate::ci::provenance::Provenance::run_url(&crate::ci::System::detect());
    for env in &plan.environments {
        let body = env.markdown(PLAN_COMMENT_LIMIT, job.as_deref());
        if !post(&run, Topic::Plan, &env.environment, &body, warnings) {
            return;
        }
    }
}

const NO_REQUEST: &str =
    "--comment: this run is for no pull/merge request, so no comment was posted";

/// The CI run's forge, looked up once per command (connecting makes its client); a warning,
/// `absent` or `failed: …`, when there is none.
fn this_run(absent: &str, failed: &str, warnings: &mut Vec<Diagnostic>) -> Option<forge::Run> {
    match forge::this_run() {
        Ok(Some(run)) => Some(run),
        Ok(None) => {
            warnings.push(warning(absent));
            None
        }
        Err(e) => {
            warnings.push(warning(format!("{failed}: {e}")));
            None
        }
    }
}

/// Posts one sticky comment; false when there is no pull/merge request to post on.
fn post(
    run: &forge::Run,
    topic: Topic,
    environment: &str,
    body: &str,
    warnings: &mut Vec<Diagnostic>,
) -> bool {
    match forge::comment(run, topic, environment, body) {
        Ok(Some(_)) => true,
        Ok(None) => {
            warnings.push(warning(NO_REQUEST));
            false
        }
        Err(e) => {
            warnings.push(warning(format!(
                "comment for `{environment}` not posted: {e}"
            )));
            true
        }
    }
}

/// A `mode: pull-request` delivery's request, opened or updated (and, with `--wait`, merged).
fn propose(
    target: &Target,
    mut deployed: Deployed,
    talk: &Talk,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Deployed, Error> {
    let record = &deployed.record;
    let Some(branch) = target.proposal_branch(&record.app) else {
        return Ok(deployed);
    };
    if deployed.delivered == Delivered::Unchanged {
        return Ok(deployed);
    }
    let failed = |e: forge::Error| {
        let message = format!(
            "the change is pushed to branch `{branch}` of {}, but its pull/merge request could not be opened: {e}",
            deployed.store
        );
        match e {
            forge::Error::Setup(_) => Error::Usage(message),
            _ => Error::Runtime(message),
        }
    };
    let url = target.url.as_deref().unwrap_or_default();
    let repository =
        forge::for_repository(url, target.environment.forge.as_ref()).map_err(&failed)?;
    let base = target.branch();
    let title = format!(
        "Deploy {} to {} ({})",
        record.app,
        record.environment,
        record.short_id()
    );
    let auto_merge = target
        .environment
        .delivery
        .as_ref()
        .is_some_and(|d| d.auto_merge);
    let body = request_body(record);
    let proposal = Proposal {
        head: &branch,
        base: &base,
        title: &title,
        body: &body,
        auto_merge,
    };
    let (mut change, warned) = forge::propose(&repository, &proposal).map_err(&failed)?;
    warnings.extend(warned.map(warning));
    if let Some(timeout) = talk.wait {
        change = forge::wait_merged(&repository, &change, timeout, POLL.min(timeout / 10))
            .map_err(|e| Error::Runtime(e.to_string()))?;
        if let Some(commit) = &change.merge_commit {
            deployed.revision = commit.clone();
        }
    }
    deployed.change = Some(change);
    Ok(deployed)
}

/// A request's description: what is deployed, from which commit and run, and its record.
fn request_body(record: &Record) -> String {
    let p = &record.provenance;
    let commit = match (&p.repository, &p.commit) {
        (Some(repo), Some(sha)) if repo.starts_with("https://") => {
            format!(
                "[`{}`]({}/commit/{sha})",
                &sha[..sha.len().min(12)],
                repo.trim_end_matches(".git")
            )
        }
        (_, Some(sha)) => format!("`{sha}`"),
        _ => "unknown".into(),
    };
    let run = p
        .run_url
        .as_deref()
        .map_or("run by hand".into(), |u| format!("[CI run]({u})"));
    let images: Vec<String> = record
        .images
        .iter()
        .map(|i| format!("- `{}.{}`: `{}`", i.workload, i.container, i.image))
        .collect();
    format!(
        "Deploys **{}** to **{}** (namespace `{}`).\n\n- Source commit: {commit}\n- {run}\n- Record: `{}`\n\nImages:\n{}\n\nOpened by scoreline: merging this pull/merge request is the deployment.",
        record.app,
        record.environment,
        record.namespace,
        record.id,
        images.join("\n")
    )
}

/// The sticky comment of a deploy: what went where.
fn summary(deployed: &Deployed, url: Option<&str>) -> String {
    let record = &deployed.record;
    let status = match (&deployed.delivered, &deployed.change) {
        (Delivered::Unchanged, _) => "unchanged".to_owned(),
        (_, Some(change)) => format!("proposed in {}", change.url),
        _ => "deployed".to_owned(),
    };
    let link = url.map(|u| format!("\n\nOpen it: {u}")).unwrap_or_default();
    format!(
        "### scoreline: **{}** → **{}**: {status}\n\n| record | revision | where |\n| --- | --- | --- |\n| `{}` | `{}` | {} |{link}",
        record.app,
        record.environment,
        record.short_id(),
        &deployed.revision[..deployed.revision.len().min(12)],
        deployed.store
    )
}
