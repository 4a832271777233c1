use std::path::PathBuf;

use super::help;
use crate::ci::junit::Suite;
use crate::ci::report::Reporter;
use crate::ci::summary::Markdown;
use crate::error::Error;
use crate::score;

/// Check Score files against the official schema and scoreline's semantic rules.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every problem is reported with file:line:column, what is wrong and what would be right.",
    help_template = help::template(
        "  scoreline validate
  scoreline validate services/*/score.yaml
  scoreline validate -f score.yaml --output json",
        &[(0, "valid (warnings allowed)"), (2, "invalid, or a file that cannot be read")],
    )
)]
pub struct Args {
    /// Score files to check (default: ./score.yaml).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Score file to check (same as the positional FILE; repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Vec<PathBuf>,

    /// Also write a JUnit XML report here (a test case per file), written whatever the result.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

pub fn run(args: Args, reporter: &Reporter) -> Result<(), Error> {
    let mut files = args.files;
    files.extend(args.file);
    if files.is_empty() {
        files.push(PathBuf::from("score.yaml"));
    }
    let loaded = score::load(&files);
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if let Some(path) = &args.junit {
        let mut suite = Suite::new("validate");
        suite.files(&shown, &loaded.diagnostics);
        suite
            .write(path)
            .map_err(|e| Error::Runtime(format!("writing the JUnit report: {e}")))?;
    }
    let mut valid = Vec::new();
    for file in &files {
        let shown = file.display().to_string();
        // A file whose problems lie in a file it reads (a `files.source` template) did not
        // load as a workload: it is not OK either.
        let Some(workload) = loaded.workloads.iter().find(|w| w.source.path == *file) else {
            continue;
        };
        if !loaded.diagnostics.iter().any(|d| d.is_error_in(&shown)) {
            let name = &workload.workload.metadata.name;
            reporter.say(format!("{shown}: OK (workload `{name}`)"));
            valid.push(vec![shown, name.clone()]);
        }
    }
    if loaded.has_errors() {
        return Err(Error::Invalid(loaded.diagnostics));
    }
    reporter.diagnostics(&loaded.diagnostics);
    let mut doc = Markdown::new();
    doc.heading(
        3,
        &format!(
            "✅ `scoreline validate`: {} valid",
            super::plural(valid.len(), "file")
        ),
    );
    doc.table(&["file", "workload"], &valid);
    doc.problems(&loaded.diagnostics);
    reporter.summary(&doc);
    Ok(())
}
