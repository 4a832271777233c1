use std::path::PathBuf;

use serde_json::json;

use super::{help, plural};
use crate::baseline;
use crate::ci::junit::Suite;
use crate::ci::report::{OutputFormat, Reporter};
use crate::ci::summary::{Markdown, cell};
use crate::error::Error;

/// Work with platform baselines (environments, resource definitions, workload policy).
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline baseline export platform/            # start from the embedded baseline
  scoreline baseline validate platform/          # gate the platform repository in CI",
        &[(0, "valid, or exported"), (1, "a file cannot be written"), (2, "invalid baseline, a folder that is not empty, or usage")],
    )
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Validate(ValidateArgs),
    Export(ExportArgs),
}

/// Check a baseline folder: every file against its schema, template syntax, unique names, and
/// criteria that name unknown environments.
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline baseline validate platform/
  scoreline baseline validate platform/ --output json",
        &[(0, "valid (warnings allowed)"), (2, "invalid (located problems)")],
    )
)]
struct ValidateArgs {
    /// The baseline folder.
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// Also write a JUnit XML report here (a test case per file), written whatever the result.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// Write the embedded baseline into a new or empty folder, to start your own from it. Each file's
/// first line points editors (yaml-language-server) at its JSON schema, written to `schemas/`.
#[derive(Debug, clap::Args)]
#[command(
    help_template = help::template(
        "  scoreline baseline export platform/",
        &[(0, "exported"), (1, "a file cannot be written"), (2, "the folder is not empty")],
    )
)]
struct ExportArgs {
    /// The folder to create.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    match args.command {
        Command::Validate(args) => {
            let loaded = baseline::load_dir(&args.dir);
            if let Some(path) = &args.junit {
                let files: Vec<String> = baseline::files(&args.dir)
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect();
                let diagnostics = match &loaded {
                    Ok((_, found)) | Err(found) => found,
                };
                let mut suite = Suite::new("baseline validate");
                suite.files(&files, diagnostics);
                suite
                    .write(path)
                    .map_err(|e| Error::Runtime(format!("writing the JUnit report: {e}")))?;
            }
            let (baseline, warnings) = loaded.map_err(Error::Invalid)?;
            if reporter.format == OutputFormat::Json {
                reporter.diagnostics(&warnings);
            } else {
                reporter.warnings(&warnings);
            }
            let verdict = format!(
                "{}: OK ({}, {}, revision {})",
                args.dir.display(),
                plural(baseline.environments.len(), "environment"),
                plural(baseline.definitions.len(), "resource definition"),
                baseline.revision
            );
            let mut doc = Markdown::new();
            doc.heading(
                3,
                &format!("✅ `scoreline baseline validate` {}", cell(&verdict)),
            );
            doc.problems(&warnings);
            reporter.summary(&doc);
            reporter.say(verdict);
        }
        Command::Export(args) => {
            let written = baseline::export(&args.dir)?;
            if reporter.format == OutputFormat::Json {
                reporter.json(&json!({"files": written}));
            }
            reporter.say(format!(
                "wrote the embedded baseline ({} files) to {}",
                written.len(),
                args.dir.display()
            ));
        }
    }
    Ok(())
}
