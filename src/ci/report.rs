//! Shows diagnostics where the user is: people get `file:line:col` with the source line,
//! GitHub additionally gets workflow-command annotations, machines get JSON on stdout.

use std::io::IsTerminal;

use super::System;
use crate::diagnostic::{Diagnostic, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human text on stderr.
    #[default]
    Text,
    /// Machine-readable JSON on stdout (human text still goes to stderr).
    Json,
}

#[derive(Debug, Clone)]
pub struct Reporter {
    pub format: OutputFormat,
    pub system: System,
    color: bool,
}

impl Reporter {
    pub fn new(format: OutputFormat, system: System) -> Reporter {
        let color = !system.is_ci()
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stderr().is_terminal();
        Reporter {
            format,
            system,
            color,
        }
    }

    /// Prints diagnostics for people (and annotations on GitHub); with `--output json` also
    /// a JSON array on stdout.
    pub fn diagnostics(&self, diagnostics: &[Diagnostic]) {
        self.warnings(diagnostics);
        if self.format == OutputFormat::Json {
            self.json(&diagnostics);
        }
    }

    /// Prints diagnostics for people only (stderr, and annotations on GitHub): for warnings
    /// beside a command's own result.
    pub fn warnings(&self, diagnostics: &[Diagnostic]) {
        for d in diagnostics {
            eprintln!("{}", self.paint(d));
            if let System::GitHub { workspace } = &self.system {
                self.workflow_command(&super::github_command(d, workspace.as_deref()));
            }
        }
    }

    /// Registers secret values with the CI log so they are masked if anything prints them.
    pub fn mask(&self, secrets: &[String]) {
        if matches!(self.system, System::GitHub { .. }) {
            for secret in secrets.iter().filter(|s| s.len() >= 4) {
                self.workflow_command(&super::mask_command(secret));
            }
        }
    }

    /// A machine-readable result on stdout.
    pub fn json(&self, value: &impl serde::Serialize) {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("results serialise")
        );
    }

    /// GitHub reads workflow commands from stdout; with `--output json` stdout is kept for the
    /// JSON, and stderr (which the runner also reads) takes them.
    fn workflow_command(&self, line: &str) {
        if self.format == OutputFormat::Json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// A line of progress or result for people (stderr).
    pub fn say(&self, line: impl AsRef<str>) {
        eprintln!("{}", line.as_ref());
    }

    fn paint(&self, d: &Diagnostic) -> String {
        let text = d.to_string();
        if !self.color {
            return text;
        }
        let (word, style) = match d.severity {
            Severity::Error => ("error:", "\x1b[1;31m"),
            Severity::Warning => ("warning:", "\x1b[1;33m"),
        };
        text.replacen(word, &format!("{style}{word}\x1b[0m"), 1)
            .replace("\n  help:", "\n  \x1b[1;36mhelp:\x1b[0m")
    }
}
