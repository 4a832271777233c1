use serde_json::json;

use super::help;
use super::render::InputArgs;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::deploy::RESOURCE_COLUMNS;
use crate::error::Error;
use crate::flow;
use crate::resolve;

/// Inspect how resources are provided.
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline resources explain -f score.yaml --platform platform/ --env staging",
        &[help::SUCCESS, (2, "a resource has no definition or two tie, or invalid input or usage")],
    )
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Explain(ExplainArgs),
}

/// For every resource of every workload: the definition that wins in an environment, and why
/// each other definition of its type lost.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Specificity ranks res_id > env > app > env_type; class must match (default `default`). \
Exits 2 when a resource has no definition or two definitions tie.",
    help_template = help::template(
        "  scoreline resources explain -f score.yaml --platform platform/ --env production
  scoreline resources explain -f score.yaml --env development --output json",
        &[help::SUCCESS, (2, "a resource has no definition or two tie, or invalid input or usage")],
    )
)]
struct ExplainArgs {
    #[command(flatten)]
    inputs: InputArgs,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let Command::Explain(args) = args.command;
    let mut warnings = Vec::new();
    let session = flow::load(&args.inputs.inputs(), &mut warnings)?;
    reporter.warnings(&warnings);
    let (explanations, unresolved) = resolve::explain(&session.request())?;
    let env = &session.environment;
    let mut doc = Markdown::new();
    doc.heading(
        3,
        &format!(
            "Resources of `{}` in `{}`",
            cell(&session.app),
            cell(&env.name)
        ),
    );
    let rows: Vec<Vec<String>> = explanations
        .iter()
        .map(|e| {
            let s = &e.selection.subject;
            vec![
                format!("{}.{}", e.workload, e.resource),
                s.resource_type.clone(),
                s.class.clone(),
                e.selection
                    .winner()
                    .map_or("none".to_owned(), |d| d.name.clone()),
            ]
        })
        .collect();
    doc.table(&RESOURCE_COLUMNS, &rows);
    doc.problems(&unresolved);
    reporter.summary(&doc);
    if reporter.format == OutputFormat::Json {
        let resources: Vec<_> = explanations
            .iter()
            .map(|e| {
                let candidates: Vec<_> = e
                    .selection
                    .candidates
                    .iter()
                    .map(|c| json!({"definition": c.definition.name, "location": c.definition.location.origin(), "driver": c.definition.driver.name(), "result": c.verdict}))
                    .collect();
                json!({"workload": e.workload, "resource": e.resource, "subject": e.selection.subject, "candidates": candidates})
            })
            .collect();
        reporter.json(&json!({"environment": env.name, "app": session.app, "baseline": session.baseline.revision, "resources": resources}));
    } else {
        let revision = &session.baseline.revision;
        reporter.say(format!(
            "environment `{}` (type {}), app `{}`, {} ({})",
            env.name,
            env.env_type,
            session.app,
            session.baseline.origin,
            &revision[..revision.len().min(19)]
        ));
        for e in &explanations {
            let s = &e.selection.subject;
            reporter.say(format!(
                "\n{} / {}: {} (class {}, id {})",
                e.workload, e.resource, s.resource_type, s.class, s.res_id
            ));
            if e.selection.candidates.is_empty() {
                reporter.say(format!(
                    "  ✘ no definition of type `{}` exists",
                    s.resource_type
                ));
            }
            for c in &e.selection.candidates {
                reporter.say(format!(
                    "  {} {} ({}): {}",
                    c.mark(),
                    c.definition.name,
                    c.definition.location.origin(),
                    c.reason()
                ));
            }
        }
    }
    if unresolved.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(unresolved))
    }
}
