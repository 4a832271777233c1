use std::path::PathBuf;

use serde_json::json;

use super::help;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::error::Error;
use crate::flow;

/// Tear down a preview environment: remove every app folder it owns, in one commit.
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline destroy --env pr-123 --platform platform/
  scoreline destroy --env staging --app shop --force     # not a preview: needs --force",
        &[(0, "destroyed, or nothing to remove"), (1, "git or the environment repository failed"), (2, "invalid input or usage (not a preview environment without --force)")],
    )
)]
pub struct Args {
    #[arg(
        long,
        value_name = "NAME",
        help = help::literal("The environment (an instance of a preview pattern such as pr-{n})")
    )]
    env: String,

    /// Only this app (default: every app of the environment).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,

    /// Allow removing deployments of an environment that is not a preview.
    #[arg(long)]
    force: bool,

    /// The platform baseline folder (default: the embedded baseline).
    #[arg(long, value_name = "DIR")]
    platform: Option<PathBuf>,

    /// Also write the outputs (changed, removed) as a dotenv file (GitLab
    /// `artifacts:reports:dotenv`).
    #[arg(long, value_name = "FILE")]
    dotenv: Option<PathBuf>,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let mut warnings = Vec::new();
    let destroyed = flow::destroy(
        args.platform.as_deref(),
        &args.env,
        args.app.as_deref(),
        args.force,
        &mut warnings,
    );
    reporter.warnings(&warnings);
    let (apps, store) = destroyed?;
    let outputs = [
        ("changed", (!apps.is_empty()).to_string()),
        ("removed", apps.join(",")),
    ];
    super::outputs(&outputs, args.dotenv.as_deref())?;
    let mut doc = Markdown::new();
    doc.heading(
        3,
        &match apps.is_empty() {
            true => format!("nothing to remove in `{}`", cell(&args.env)),
            false => format!(
                "🗑️ destroyed `{}`: removed {} from {}",
                cell(&args.env),
                cell(&apps.join(", ")),
                cell(&store)
            ),
        },
    );
    reporter.summary(&doc);
    if reporter.format == OutputFormat::Json {
        reporter.json(&json!({"environment": args.env, "removed": apps}));
    } else if !apps.is_empty() {
        reporter.say(format!(
            "destroyed {}: removed {} from {store}",
            args.env,
            apps.join(", ")
        ));
    } else {
        reporter.say(format!(
            "nothing to remove: {} holds no deployments in {store}",
            args.env
        ));
    }
    Ok(())
}
