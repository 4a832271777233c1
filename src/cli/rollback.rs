use std::path::PathBuf;

use super::deploy::report;
use super::help;
use crate::ci::report::Reporter;
use crate::error::Error;
use crate::flow;

/// Redeploy an earlier deployment as a new commit (history is never rewritten, so GitOps
/// controllers simply follow).
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline rollback --env staging --app shop                 # back to the previous deployment
  scoreline rollback --env staging --app shop --to 3f2a9c     # back to a given record id",
        &[(0, "rolled back, or unchanged"), (1, "git or the environment repository failed"), (2, "invalid input or usage (no earlier deployment, an unknown record id)")],
    )
)]
pub struct Args {
    /// The environment.
    #[arg(long, value_name = "NAME")]
    env: String,

    /// The app (default: the environment's only app).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,

    /// The deployment to return to: a record id or a prefix (default: the previous one).
    #[arg(long, value_name = "ID")]
    to: Option<String>,

    /// More text for the commit message.
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,

    /// The platform baseline folder (default: the embedded baseline).
    #[arg(long, value_name = "DIR")]
    platform: Option<PathBuf>,

    #[command(flatten)]
    talk: super::deploy::TalkArgs,

    /// Also write the outputs as a dotenv file (GitLab `artifacts:reports:dotenv`).
    #[arg(long, value_name = "FILE")]
    dotenv: Option<PathBuf>,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let mut warnings = Vec::new();
    let deployed = flow::rollback(
        args.platform.as_deref(),
        &args.env,
        args.app.as_deref(),
        args.to.as_deref(),
        args.message.as_deref(),
        &args.talk.talk(),
        &mut warnings,
    );
    reporter.warnings(&warnings);
    let deployed = deployed?;
    report(&deployed, reporter, args.dotenv.as_deref())
}
