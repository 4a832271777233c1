//! Command-line parsing and dispatch: one file per subcommand, no logic beyond calling.

mod baseline;
mod render;
mod resources;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::ci::System;
use crate::ci::report::{OutputFormat, Reporter};

const EXAMPLES: &str = "\
Examples:
  scoreline validate                                   check ./score.yaml
  scoreline render -f score.yaml                       manifests for the embedded development environment
  scoreline render -f score.yaml --platform platform/ --env staging --image web=REF
  scoreline resources explain -f score.yaml --platform platform/ --env production";

#[derive(Debug, Parser)]
#[command(
    name = "scoreline",
    version,
    about = "A platform orchestrator inside your CI pipeline",
    long_about = "scoreline turns Score workloads (score.yaml) into deployable manifests using your platform \
team's environment baselines, from inside GitHub Actions, GitLab CI or Jenkins.",
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    /// Output format: `text` for people (stderr), `json` for machines (stdout).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::Args),
    Render(render::Args),
    Resources(resources::Args),
    Baseline(baseline::Args),
}

/// Parses the command line, runs the command, and turns its outcome into an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let reporter = Reporter::new(cli.output, System::detect());
    let outcome = match cli.command {
        Command::Validate(args) => validate::run(args, &reporter),
        Command::Render(args) => render::run(args, &reporter),
        Command::Resources(args) => resources::run(args, &reporter),
        Command::Baseline(args) => baseline::run(args, &reporter),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            reporter.diagnostics(error.diagnostics());
            reporter.say(format!("scoreline: error: {error}"));
            ExitCode::from(error.exit_code())
        }
    }
}

/// "1 workload", "3 workloads".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
