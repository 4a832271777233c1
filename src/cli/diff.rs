use serde_json::json;

use super::help;
use super::render::InputArgs;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::error::{Error, Outcome};
use crate::flow;
use crate::render::Images;

/// Show what differs, object by object, as unified YAML diffs with Secret values masked: what
/// deploying now would change (default), between two deployments (--from/--to), or between two
/// environments (--against-env).
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline diff -f score.yaml --platform platform/ --env staging --image web=REF
  scoreline diff --env staging --app shop --from 3f2a9c --to 81be07
  scoreline diff --env staging --against-env production --app shop --exit-code",
        &[(0, "compared (with or without changes)"), (1, "git or the store failed"), (2, "invalid input (an unknown or ambiguous record id, an app with no deployment)"), (4, "with --exit-code: there are changes")],
    )
)]
pub struct Args {
    #[command(flatten)]
    inputs: InputArgs,

    /// The image for a container (as for render and deploy).
    #[arg(long = "image", value_name = "[WORKLOAD.]CONTAINER=REF")]
    images: Vec<String>,

    /// Compare this earlier deployment (a record id or a prefix of it)…
    #[arg(long, value_name = "ID", conflicts_with = "against_env")]
    from: Option<String>,

    /// …with this one (default: the current deployment).
    #[arg(long, value_name = "ID", requires = "from")]
    to: Option<String>,

    /// Compare the environment's current deployment with this environment's.
    #[arg(long, value_name = "NAME")]
    against_env: Option<String>,

    /// Exit 4 when there are changes (for CI gates).
    #[arg(long)]
    exit_code: bool,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<Outcome, Error> {
    let platform = args.inputs.platform.as_deref();
    let env = args
        .inputs
        .env
        .clone()
        .ok_or_else(|| Error::Usage("name the environment with --env".into()))?;
    let app = args.inputs.app.as_deref();
    let mut warnings = Vec::new();
    let changes = match (&args.from, &args.against_env) {
        (Some(from), _) => {
            let changes =
                flow::diff_records(platform, &env, app, from, args.to.as_deref(), &mut warnings);
            reporter.warnings(&warnings);
            changes?
        }
        (None, Some(other)) => {
            let changes = flow::diff_environments(platform, &env, other, app, &mut warnings);
            reporter.warnings(&warnings);
            changes?
        }
        (None, None) => {
            let images = Images::parse(&args.images).map_err(|e| Error::Usage(e.to_string()))?;
            let session = flow::load(&args.inputs.inputs(), &mut warnings)?;
            let result = session.diff(&images, &mut warnings);
            reporter.warnings(&warnings);
            result?
        }
    };
    let mut doc = Markdown::new();
    doc.heading(
        3,
        &format!(
            "Diff of `{}`: {}",
            cell(&env),
            match changes.len() {
                0 => "no changes".to_owned(),
                n => super::plural(n, "object") + " changed",
            }
        ),
    );
    crate::deploy::summarise(&mut doc, &changes, "Diff");
    reporter.summary(&doc);
    if reporter.format == OutputFormat::Json {
        reporter.json(&json!({"changes": changes}));
    } else {
        for change in &changes {
            reporter.print(&change.diff);
        }
        reporter.say(match changes.len() {
            0 => "no changes".to_owned(),
            n => format!(
                "{n} object{} changed: {}",
                if n == 1 { "" } else { "s" },
                changes
                    .iter()
                    .map(|c| format!("{} ({})", c.file, c.change))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(if args.exit_code && !changes.is_empty() {
        Outcome::Changed
    } else {
        Outcome::Done
    })
}
