use std::path::PathBuf;

use super::help;
use crate::ci::junit::Suite;
use crate::ci::report::{OutputFormat, Reporter};
use crate::error::{Error, Outcome};
use crate::flow::{self, PlanRequest};

/// Show what deploying would do in each environment — the resources and the definition each
/// matched, the images, and the object changes as unified diffs against what the environment
/// holds now (Secret values masked) — and with --out write a plan file that `deploy --plan`
/// delivers exactly.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The plan file binds each environment's app folder revision (the git tree id at the branch \
tip; a local folder's newest snapshot) and the render's keyed id (the record id deploy writes), \
with the inputs to render it again (Score files and their sha256, platform, app, images); it \
never holds the manifests. `scoreline deploy --plan FILE` refuses (exit 3) when a Score file, \
the render or the folder changed since. Under GitHub Actions the plan is added to the job \
summary; under GitLab CI each environment's diff is a collapsed log section.",
    help_template = help::template(
        "  scoreline plan -f score.yaml --platform platform/ --env staging --image \"web=$IMAGE\" --out plan.json
  scoreline plan -f score.yaml --platform platform/ --env staging --env production --exit-code
  scoreline plan -f score.yaml --env staging --junit plan.xml --output json",
        &[(0, "planned (with or without changes)"), (1, "git, the environment repository or a driver program failed"), help::INVALID, help::REFUSED, (4, "with --exit-code: there are changes")],
    )
)]
pub struct Args {
    /// A Score file (repeatable; default ./score.yaml).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,

    /// The platform baseline folder (default: the embedded baseline).
    #[arg(long, value_name = "DIR")]
    platform: Option<PathBuf>,

    /// An environment to plan (repeatable).
    #[arg(long = "env", value_name = "NAME", required = true)]
    environments: Vec<String>,

    /// The app the workloads belong to (default: the first workload's name).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,

    /// The image for a container (as for render and deploy; repeatable).
    #[arg(long = "image", value_name = "[WORKLOAD.]CONTAINER=REF")]
    images: Vec<String>,

    /// Write the plan file here (for `scoreline deploy --plan FILE`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Write a JUnit XML report here: a test case per environment.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Exit 4 when some environment would change (for CI gates).
    #[arg(long)]
    exit_code: bool,

    /// Post the plan on the CI run's pull/merge request: one comment per environment, edited in
    /// place on the next run (GitHub: GITHUB_TOKEN or GH_TOKEN; GitLab: GITLAB_TOKEN).
    #[arg(long)]
    comment: bool,

    /// Also write the outputs as a dotenv file (GitLab `artifacts:reports:dotenv`).
    #[arg(long, value_name = "FILE")]
    dotenv: Option<PathBuf>,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<Outcome, Error> {
    let mut warnings = Vec::new();
    let request = PlanRequest {
        files: &args.files,
        platform: args.platform.as_deref(),
        app: args.app.as_deref(),
        images: &args.images,
        environments: &args.environments,
    };
    let planned = flow::plan(&request, &mut warnings);
    reporter.warnings(&warnings);
    let planned = planned?;
    let plan = &planned.plan;
    if let Some(path) = &args.junit {
        let mut suite = Suite::new("plan");
        for env in &args.environments {
            match planned.failures.iter().find(|(e, _)| e == env) {
                Some((_, error)) => {
                    let errors: Vec<_> = error
                        .diagnostics()
                        .iter()
                        .filter(|d| d.is_error())
                        .collect();
                    if errors.is_empty() {
                        suite.fail(env, &error.to_string(), &error.to_string());
                    } else {
                        suite.check(env, &errors);
                    }
                }
                None => suite.pass(env),
            }
        }
        suite
            .write(path)
            .map_err(|e| Error::Runtime(format!("writing the JUnit report: {e}")))?;
    }
    if let Some((env, error)) = planned.failures.into_iter().next() {
        reporter.say(format!("scoreline: could not plan environment `{env}`"));
        return Err(error);
    }
    if let Some(out) = &args.out {
        plan.write(out)?;
    }
    if args.comment {
        let mut told = Vec::new();
        flow::comment_plan(plan, &mut told);
        reporter.warnings(&told);
    }
    let plan_file = args.out.as_ref().map(|p| p.display().to_string());
    super::outputs(
        &[
            ("changed", plan.has_changes().to_string()),
            ("plan", plan_file.unwrap_or_default()),
        ],
        args.dotenv.as_deref(),
    )?;
    if reporter.format == OutputFormat::Json {
        reporter.json(plan);
    } else {
        for env in &plan.environments {
            if env.changes.is_empty() {
                continue;
            }
            reporter.section(
                &format!("plan_{}", env.environment),
                &format!("diff for `{}`", env.environment),
                || {
                    for change in &env.changes {
                        reporter.say(change.diff.trim_end());
                    }
                },
            );
        }
        for env in &plan.environments {
            reporter.say(env.verdict().replace('`', ""));
        }
        if let Some(out) = &args.out {
            reporter.say(format!(
                "wrote the plan to {}: deliver it with `scoreline deploy --plan {}`",
                out.display(),
                out.display()
            ));
        }
    }
    reporter.summary(&plan.document());
    Ok(if args.exit_code && plan.has_changes() {
        Outcome::Changed
    } else {
        Outcome::Done
    })
}
