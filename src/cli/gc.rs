use std::path::PathBuf;

use serde_json::json;

use super::help;
use crate::ci::report::{OutputFormat, Reporter};
use crate::error::Error;
use crate::flow;

const ABOUT: &str = "Remove expired preview environments: instances of preview patterns (pr-{n}) \
whose last deployment is older than their pattern's ttl, or than --older-than";

// The about text holds `pr-{n}`: see `help::literal`.
#[derive(Debug, clap::Args)]
#[command(
    about = help::literal(ABOUT),
    after_help = "Run it on a schedule (a nightly CI job).",
    help_template = help::template(
        "  scoreline gc --platform platform/
  scoreline gc --platform platform/ --older-than 72h --dry-run",
        &[help::SUCCESS, (1, "git or the environment repository failed"), help::INVALID],
    )
)]
pub struct Args {
    /// Remove instances last deployed longer ago than this (e.g. 72h, 7d), instead of each
    /// pattern's ttl.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    older_than: Option<std::time::Duration>,

    /// Only list what would be removed.
    #[arg(long)]
    dry_run: bool,

    /// The platform baseline folder (default: the embedded baseline).
    #[arg(long, value_name = "DIR")]
    platform: Option<PathBuf>,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let mut warnings = Vec::new();
    let removed = flow::gc(
        args.platform.as_deref(),
        args.older_than,
        args.dry_run,
        &mut warnings,
    );
    reporter.warnings(&warnings);
    let removed = removed?;
    if reporter.format == OutputFormat::Json {
        let list: Vec<_> = removed
            .iter()
            .map(|(env, app)| json!({"environment": env, "app": app}))
            .collect();
        reporter.json(&json!({"dry_run": args.dry_run, "expired": list}));
    } else if removed.is_empty() {
        reporter.say("no expired preview environments");
    } else {
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for (env, app) in &removed {
            reporter.say(format!("{verb} {env}/{app}"));
        }
    }
    Ok(())
}
