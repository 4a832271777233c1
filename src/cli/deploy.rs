use std::path::PathBuf;

use serde_json::json;

use super::help;
use super::render::InputArgs;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::deploy::{Delivered, Kind, Plan};
use crate::error::Error;
use crate::flow::{self, Deployed};
use crate::render::Images;

/// Render for an environment and deliver: commit and push to its git environment repository
/// (or write its local folder), with a deployment record. Identical output is a no-op.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The environment's `delivery` (environments.yaml) says where: `kind: git` (repo, branch, path) or \
`kind: dir` (path). A push that loses a race with another deploy is re-applied on the new tip \
and retried. https credentials come from GIT_TOKEN, GITHUB_TOKEN or CI_JOB_TOKEN.",
    help_template = help::template(
        "  scoreline deploy -f score.yaml
  scoreline deploy -f score.yaml --platform platform/ --env staging --image \"web=$IMAGE\"   # IMAGE: the build's name@sha256:… output
  scoreline deploy -f score.yaml --env pr-123 --message \"preview of #123\"",
        &[(0, "deployed, or unchanged"), (1, "git or the environment repository failed (or a driver program)"), help::INVALID, (3, "refused by policy (a secret outside Secret data, Secrets with no `secrets:` setting)")],
    )
)]
pub struct Args {
    #[command(flatten)]
    inputs: InputArgs,

    /// The image for a container: `[WORKLOAD.]CONTAINER=REF`, or a bare `REF` for every
    /// container whose Score image is `.` (repeatable).
    #[arg(long = "image", value_name = "[WORKLOAD.]CONTAINER=REF")]
    images: Vec<String>,

    /// More text for the commit message.
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,

    /// Also write the outputs as a dotenv file (GitLab `artifacts:reports:dotenv`).
    #[arg(long, value_name = "FILE")]
    dotenv: Option<PathBuf>,

    /// Deliver exactly this plan (`scoreline plan --out FILE`): its inputs rendered again,
    /// refused (exit 3) when a Score file, the render or the environment's folder changed since.
    /// --env picks one environment of a plan of several.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["files", "platform", "app", "images"])]
    plan: Option<PathBuf>,

    #[command(flatten)]
    talk: TalkArgs,
}

/// What deploy, promote and rollback tell the forge.
#[derive(Debug, clap::Args)]
pub struct TalkArgs {
    /// Report a deployment with statuses (in progress, then success or failure) on the CI
    /// run's repository, as the environment's `forge: {deployments: true}` does.
    #[arg(long)]
    deployment: bool,

    /// Post, or update, a comment saying what was deployed on the CI run's pull/merge request.
    #[arg(long)]
    comment: bool,

    /// With `delivery.mode: pull-request`: wait for the pull/merge request to be merged (at most
    /// `--wait-timeout`) and report its merge commit.
    #[arg(long)]
    wait: bool,

    /// How long `--wait` waits.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    wait_timeout: std::time::Duration,
}

impl TalkArgs {
    pub fn talk(&self) -> flow::Talk {
        flow::Talk {
            deployment: self.deployment,
            comment: self.comment,
            wait: self.wait.then_some(self.wait_timeout),
        }
    }
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let mut warnings = Vec::new();
    let deployed = match &args.plan {
        Some(path) => {
            let plan = Plan::read(path)?;
            flow::deploy_plan(
                &plan,
                args.inputs.env.as_deref(),
                args.message.as_deref(),
                &args.talk.talk(),
                &mut warnings,
            )
        }
        None => {
            let images = Images::parse(&args.images).map_err(|e| Error::Usage(e.to_string()))?;
            flow::load(&args.inputs.inputs(), &mut warnings).and_then(|session| {
                session.deploy(
                    &images,
                    args.message.as_deref(),
                    &args.talk.talk(),
                    &mut warnings,
                )
            })
        }
    };
    reporter.warnings(&warnings);
    let deployed = deployed?;
    report(&deployed, reporter, args.dotenv.as_deref())
}

/// How deploy, rollback and promote say what happened (also as CI step outputs).
pub fn report(
    deployed: &Deployed,
    reporter: &Reporter,
    dotenv: Option<&std::path::Path>,
) -> Result<(), Error> {
    let record = &deployed.record;
    let status = match (&deployed.delivered, &deployed.change) {
        (Delivered::Unchanged, _) => "unchanged",
        (Delivered::Written { .. }, Some(c)) if c.merge_commit.is_none() => "proposed",
        (Delivered::Written { .. }, _) => "deployed",
    };
    let change = deployed.change.as_ref().map(|c| c.url.clone());
    // Unchanged, the revision is the one that already holds this deployment.
    let revision = deployed.revision.as_str();
    let mut outputs = vec![
        ("status", status.to_owned()),
        ("changed", (status == "deployed").to_string()),
        ("record-id", record.id.clone()),
        ("revision", revision.to_owned()),
        ("folder", deployed.folder.clone()),
        ("pull-request", change.clone().unwrap_or_default()),
    ];
    outputs.extend(deployed.url.clone().map(|url| ("environment-url", url)));
    super::outputs(&outputs, dotenv)?;
    reporter.summary(&summary(deployed, status));
    if reporter.format == OutputFormat::Json {
        reporter.json(&json!({"status": status, "record": record, "revision": revision, "folder": deployed.folder, "url": deployed.url, "store": deployed.store, "pull_request": change}));
        return Ok(());
    }
    let verb = verb(record.kind);
    let short = &revision[..revision.len().min(12)];
    if let Some(change) = &deployed.change {
        let state = match &change.merge_commit {
            Some(commit) => format!("merged as {}", &commit[..commit.len().min(12)]),
            None if change.created => "opened".to_owned(),
            None => "updated".to_owned(),
        };
        reporter.say(format!(
            "proposed {} for {}: {} → {} ({state})",
            record.app,
            record.environment,
            record.short_id(),
            change.url
        ));
        return Ok(());
    }
    match deployed.delivered {
        Delivered::Written { .. } => reporter.say(format!(
            "{verb} {} to {}: {} → {} (revision {short})",
            record.app,
            record.environment,
            record.short_id(),
            deployed.store,
        )),
        Delivered::Unchanged => reporter.say(format!(
            "unchanged: {} already holds {} (revision {short})",
            deployed.store,
            record.short_id()
        )),
    }
    Ok(())
}

fn verb(kind: Kind) -> &'static str {
    match kind {
        Kind::Deploy => "deployed",
        Kind::Rollback => "rolled back",
        Kind::Promote => "promoted",
    }
}

/// A delivery as a job summary: environment, record, commit, folder and link.
fn summary(deployed: &Deployed, status: &str) -> Markdown {
    let record = &deployed.record;
    let mut doc = Markdown::new();
    let title = match deployed.delivered {
        Delivered::Written { .. } => format!(
            "🚀 {} `{}` to `{}`",
            verb(record.kind),
            cell(&record.app),
            cell(&record.environment)
        ),
        Delivered::Unchanged => format!(
            "`{}` in `{}` is unchanged",
            cell(&record.app),
            cell(&record.environment)
        ),
    };
    doc.heading(3, &title);
    let mut rows = vec![
        vec!["environment".to_owned(), record.environment.clone()],
        vec!["status".to_owned(), status.to_owned()],
        vec!["record".to_owned(), record.id.clone()],
        vec!["revision".to_owned(), deployed.revision.clone()],
        vec!["delivered to".to_owned(), deployed.store.clone()],
    ];
    if let Some(from) = &record.from {
        rows.push(vec![
            "from".to_owned(),
            format!("{} in {}", from.id, from.environment),
        ]);
    }
    rows.extend(record.images.iter().map(|i| {
        vec![
            format!("image of {}.{}", i.workload, i.container),
            i.image.clone(),
        ]
    }));
    doc.table(&["what", "value"], &rows);
    if let Some(url) = &deployed.url {
        doc.paragraph(&format!("Environment: <{}>", cell(url)));
    }
    doc
}
