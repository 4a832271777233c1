use std::path::PathBuf;

use super::deploy::report;
use super::help;
use crate::ci::report::Reporter;
use crate::error::Error;
use crate::flow;

/// Promote an app: take its current deployment in one environment — the exact Score inputs and
/// image digests — resolve it against another environment's baseline, and deliver it there.
/// Nothing is rebuilt.
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline promote --from staging --to production --platform platform/
  scoreline promote --from staging --to production --app shop --message \"release 1.4\"",
        &[(0, "promoted, or unchanged"), help::RUNTIME, (2, "invalid input or usage (no deployment to promote, an unknown environment)"), help::REFUSED],
    )
)]
pub struct Args {
    /// The environment to take the deployment from.
    #[arg(long, value_name = "NAME")]
    from: String,

    /// The environment to deliver to.
    #[arg(long, value_name = "NAME")]
    to: String,

    /// The app (default: the only app of the source environment).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,

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
    let deployed = flow::promote(
        args.platform.as_deref(),
        &args.from,
        &args.to,
        args.app.as_deref(),
        args.message.as_deref(),
        &args.talk.talk(),
        &mut warnings,
    );
    reporter.warnings(&warnings);
    let deployed = deployed?;
    report(&deployed, reporter, args.dotenv.as_deref())
}
