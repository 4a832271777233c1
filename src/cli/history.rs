use std::path::PathBuf;

use serde_json::json;

use super::help;
use crate::ci::report::{OutputFormat, Reporter};
use crate::error::Error;
use crate::flow;

/// List an environment's deployments, newest first (from the environment repository's history).
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline history --env staging --platform platform/
  scoreline history --env staging --app shop --output json",
        &[help::SUCCESS, (1, "git or the environment repository failed"), help::INVALID],
    )
)]
pub struct Args {
    /// The environment.
    #[arg(long, value_name = "NAME")]
    env: String,

    /// Only this app (default: every app of the environment).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,

    /// The platform baseline folder (default: the embedded baseline).
    #[arg(long, value_name = "DIR")]
    platform: Option<PathBuf>,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let mut warnings = Vec::new();
    let folders = flow::history(
        args.platform.as_deref(),
        &args.env,
        args.app.as_deref(),
        &mut warnings,
    );
    reporter.warnings(&warnings);
    let folders = folders?;
    if reporter.format == OutputFormat::Json {
        let list: Vec<_> = folders
            .iter()
            .map(|(folder, entries)| json!({"folder": folder, "deployments": entries.iter().map(|e| json!({"revision": e.revision, "record": e.record})).collect::<Vec<_>>()}))
            .collect();
        reporter.json(&list);
        return Ok(());
    }
    if folders.is_empty() {
        reporter.say(format!("no deployments in environment `{}`", args.env));
    }
    for (folder, entries) in folders {
        reporter.say(folder);
        for e in entries {
            let r = &e.record;
            let from = r
                .from
                .as_ref()
                .map(|o| format!(" from {} {}", o.environment, crate::deploy::short(&o.id)))
                .unwrap_or_default();
            let source = r
                .provenance
                .commit
                .as_deref()
                .map(|c| format!(" source {}", &c[..c.len().min(12)]))
                .unwrap_or_default();
            reporter.say(format!(
                "  {}  {}  {:<8}  {}  revision {}{source}{from}",
                r.short_id(),
                r.time,
                format!("{:?}", r.kind).to_lowercase(),
                // Who made this deployment: a rollback's or promotion's own actor.
                r.run
                    .as_ref()
                    .map_or(r.provenance.actor.as_deref(), |run| run.actor.as_deref())
                    .unwrap_or("-"),
                &e.revision[..e.revision.len().min(12)]
            ));
        }
    }
    Ok(())
}
