//! Command-line parsing and dispatch: one file per subcommand, no logic beyond calling.

mod arguments;
mod baseline;
mod build;
mod completions;
mod deploy;
mod destroy;
mod diff;
mod gc;
mod help;
mod history;
mod plan;
mod promote;
mod render;
mod resources;
mod rollback;
mod schema;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::ci::System;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{self, Markdown};
use crate::error::{Error, Outcome};

const EXAMPLES: &str = "  scoreline validate                                   # check ./score.yaml
  scoreline render -f score.yaml                       # manifests for the embedded development environment
  scoreline render -f score.yaml --platform platform/ --env staging --image \"web=$IMAGE\"
  scoreline resources explain -f score.yaml --platform platform/ --env production
  scoreline build --context . --tag ghcr.io/acme/shop:1.4.2
  scoreline deploy -f score.yaml --platform platform/ --env staging --image \"web=$IMAGE\"
  scoreline promote --from staging --to production --platform platform/";

#[derive(Debug, Parser)]
#[command(
    name = "scoreline",
    version,
    about = "A platform orchestrator inside your CI pipeline",
    long_about = "scoreline turns Score workloads (score.yaml) into deployable manifests using your platform \
team's environment baselines, from inside GitHub Actions, GitLab CI or Jenkins.",
    help_template = help::template(EXAMPLES, &[help::SUCCESS, help::RUNTIME, help::INVALID, help::REFUSED]),
    propagate_version = true
)]
pub struct Cli {
    /// Output format: `text` for people (stderr), `json` for machines (stdout).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Also append the job summary (Markdown) to this file; under GitLab CI it goes to
    /// ./scoreline-summary.md unless named (GitHub Actions: $GITHUB_STEP_SUMMARY as well).
    #[arg(long, global = true, value_name = "FILE")]
    pub summary: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::Args),
    Render(render::Args),
    Plan(plan::Args),
    Resources(resources::Args),
    Build(build::Args),
    Deploy(deploy::Args),
    History(history::Args),
    Diff(diff::Args),
    Rollback(rollback::Args),
    Promote(promote::Args),
    Destroy(destroy::Args),
    Gc(gc::Args),
    Baseline(baseline::Args),
    Schema(schema::Args),
    Completions(completions::Args),
}

/// Parses the command line, runs the command, and turns its outcome into an exit code.
pub fn run() -> ExitCode {
    let mut command = Cli::command();
    let args = arguments::normalize(&command, std::env::args_os());
    let cli = command
        .try_get_matches_from_mut(args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .unwrap_or_else(|e| e.format(&mut command).exit());
    let reporter =
        Reporter::new(cli.output, System::detect()).with_summary_file(cli.summary.as_deref());
    let name = cli.command.name();
    reporter.mask_secrets_as_learned();
    crate::secret::register_credentials();
    let outcome = match cli.command {
        Command::Validate(args) => ended(validate::run(args, &reporter)),
        Command::Render(args) => ended(render::run(args, &reporter)),
        Command::Plan(args) => ended(plan::run(args, &reporter)),
        Command::Resources(args) => ended(resources::run(args, &reporter)),
        Command::Build(args) => ended(build::run(args, &reporter)),
        Command::Deploy(args) => ended(deploy::run(args, &reporter)),
        Command::History(args) => ended(history::run(args, &reporter)),
        Command::Diff(args) => ended(diff::run(args, &reporter)),
        Command::Rollback(args) => ended(rollback::run(args, &reporter)),
        Command::Promote(args) => ended(promote::run(args, &reporter)),
        Command::Destroy(args) => ended(destroy::run(args, &reporter)),
        Command::Gc(args) => ended(gc::run(args, &reporter)),
        Command::Baseline(args) => ended(baseline::run(args, &reporter)),
        Command::Schema(args) => ended(schema::run(args)),
        Command::Completions(args) => ended(completions::run(args)),
    };
    match outcome {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(error) => {
            reporter.diagnostics(error.diagnostics());
            reporter.say(format!("scoreline: error: {error}"));
            reporter.summary(&failure(name, &error));
            ExitCode::from(error.exit_code())
        }
    }
}

impl Command {
    /// The command as people type it, for summaries.
    fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Render(_) => "render",
            Command::Plan(_) => "plan",
            Command::Resources(_) => "resources explain",
            Command::Build(_) => "build",
            Command::Deploy(_) => "deploy",
            Command::History(_) => "history",
            Command::Diff(_) => "diff",
            Command::Rollback(_) => "rollback",
            Command::Promote(_) => "promote",
            Command::Destroy(_) => "destroy",
            Command::Gc(_) => "gc",
            Command::Baseline(_) => "baseline",
            Command::Schema(_) => "schema",
            Command::Completions(_) => "completions",
        }
    }
}

/// Any command's failure as a job summary: what failed and every located problem.
fn failure(command: &str, error: &Error) -> Markdown {
    let mut doc = Markdown::new();
    doc.heading(
        3,
        &format!(
            "❌ `scoreline {command}` failed (exit {})",
            error.exit_code()
        ),
    );
    doc.paragraph(&summary::cell(&error.to_string()));
    doc.problems(error.diagnostics());
    doc
}

/// A command's result, however the command says it ended.
fn ended(result: Result<impl Into<Outcome>, Error>) -> Result<Outcome, Error> {
    result.map(Into::into)
}

/// Step outputs for later steps ($GITHUB_OUTPUT, and the dotenv file when asked for).
fn outputs(values: &[(&str, String)], dotenv: Option<&std::path::Path>) -> Result<(), Error> {
    crate::ci::outputs::write(values, dotenv)
        .map_err(|e| Error::Runtime(format!("writing step outputs: {e}")))
}

/// "1 workload", "3 workloads".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// The words of an example line as a shell would pass them: up to a comment or a
    /// redirection, double-quoted words kept whole.
    fn words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if matches!(word.as_str(), "#" | ">" | ">>" | "|") {
                        word.clear();
                        break;
                    }
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                _ => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words
    }

    #[test]
    fn every_example_in_every_help_parses() {
        let mut pending = vec![Cli::command()];
        let mut checked = 0;
        while let Some(mut command) = pending.pop() {
            let help = command.render_long_help().to_string();
            let examples = help
                .lines()
                .skip_while(|l| *l != "Examples:")
                .skip(1)
                .take_while(|l| !l.is_empty())
                .filter_map(|l| l.trim_start().strip_prefix("scoreline "));
            for example in examples {
                let mut args = vec!["scoreline".to_owned()];
                args.extend(words(example));
                if let Err(e) = Cli::try_parse_from(&args) {
                    panic!("`{}` of `{} --help`: {e}", example, command.get_name());
                }
                checked += 1;
            }
            pending.extend(
                command
                    .get_subcommands()
                    .filter(|c| c.get_name() != "help")
                    .cloned(),
            );
        }
        assert!(checked > 30, "{checked} examples");
    }
}
