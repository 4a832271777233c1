//! Shows diagnostics where the user is: people get `file:line:col` with the source line,
//! GitHub additionally gets workflow-command annotations, machines get JSON on stdout.

use std::io::{IsTerminal, Write};

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

    /// Prints diagnostics: text to stderr (and annotations on GitHub), a JSON array to stdout.
    pub fn diagnostics(&self, diagnostics: &[Diagnostic]) {
        let mut err = std::io::stderr().lock();
        for d in diagnostics {
            let _ = writeln!(err, "{}", self.paint(d));
            if let System::GitHub { workspace } = &self.system {
                let _ = writeln!(err, "{}", super::github_command(d, workspace.as_deref()));
            }
        }
        if self.format == OutputFormat::Json {
            let json = serde_json::to_string_pretty(diagnostics).expect("diagnostics serialise");
            println!("{json}");
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
