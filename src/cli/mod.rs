//! Command-line parsing and dispatch: one file per subcommand, no logic beyond calling.

mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::ci::System;
use crate::ci::report::{OutputFormat, Reporter};
use crate::error::Error;

const EXAMPLES: &str = "\
Examples:
  scoreline validate                       check ./score.yaml
  scoreline validate api/score.yaml worker/score.yaml --output json";

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
}

/// Parses the command line, runs the command, and turns its outcome into an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let reporter = Reporter::new(cli.output, System::detect());
    let outcome = match cli.command {
        Command::Validate(args) => validate::run(args, &reporter),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match &error {
                Error::Invalid(diagnostics) => reporter.diagnostics(diagnostics),
            }
            reporter.say(format!("scoreline: {error}"));
            ExitCode::from(error.exit_code())
        }
    }
}
