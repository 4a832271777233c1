//! Shows diagnostics where the user is: people get `file:line:col` with the source line,
//! GitHub additionally gets workflow-command annotations, machines get JSON on stdout.
//! Everything shown passes through the secret registry first (DESIGN.md, trust boundaries).

use std::io::IsTerminal;

use super::System;
use super::provenance::Provenance;
use super::summary::{Markdown, Sinks};
use crate::diagnostic::{Diagnostic, Severity};
use crate::secret;

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
    sinks: Sinks,
}

impl Reporter {
    pub fn new(format: OutputFormat, system: System) -> Reporter {
        let color = !system.is_ci()
            && !super::generic_ci()
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stderr().is_terminal();
        let sinks = Sinks::new(&system, None);
        Reporter {
            format,
            system,
            color,
            sinks,
        }
    }

    /// Job summaries also go to `file` (`--summary FILE`).
    pub fn with_summary_file(mut self, file: Option<&std::path::Path>) -> Reporter {
        self.sinks = Sinks::new(&self.system, file);
        self
    }

    /// Adds `markdown` to the job summary (GitHub's step summary, the `--summary` file); a
    /// summary that cannot be written is a warning, never a failed command.
    pub fn summary(&self, markdown: &Markdown) {
        let note = super::summary::job_note(Provenance::run_url(&self.system).as_deref());
        if let Err(e) = self.sinks.publish(markdown, &note) {
            self.say(format!("warning: cannot write the job summary: {e}"));
        }
    }

    /// Shows what `body` says inside a collapsible section of the GitLab log (elsewhere, after
    /// the header line).
    pub fn section(&self, name: &str, header: &str, body: impl FnOnce()) {
        if self.system == System::GitLab {
            let (start, end) = super::summary::gitlab_section(name, &secret::redact(header));
            eprintln!("{start}");
            body();
            eprintln!("{end}");
        } else {
            self.say(header);
            body();
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

    /// From now on, every secret value the run learns is registered with the CI log as soon as
    /// it is known (GitHub's `::add-mask::`), so even a run that fails on it shows it masked.
    pub fn mask_secrets_as_learned(&self) {
        if matches!(self.system, System::GitHub { .. }) {
            let reporter = self.clone();
            secret::global().on_register(move |value| {
                reporter.emit_workflow_command(&super::mask_command(value));
            });
        }
    }

    /// Prints diagnostics for people only (stderr, and annotations on GitHub): for warnings
    /// beside a command's own result.
    pub fn warnings(&self, diagnostics: &[Diagnostic]) {
        for d in diagnostics {
            self.say(self.paint(d));
            if let System::GitHub { workspace } = &self.system {
                self.emit_workflow_command(&super::github_command(d, workspace.as_deref()));
            }
        }
    }

    /// A machine-readable result on stdout.
    pub fn json(&self, value: &impl serde::Serialize) {
        // Masked value by value before serialising, as JSON escapes change how a secret reads.
        let value = secret::redact_json(serde_json::to_value(value).expect("results serialise"));
        let text = serde_json::to_string_pretty(&value).expect("results serialise");
        println!("{}", secret::redact(&text));
    }

    /// Text for stdout as it is (a diff, a pinned reference), secrets masked.
    pub fn print(&self, text: impl AsRef<str>) {
        print!("{}", defuse(&secret::redact(text.as_ref())));
    }

    /// GitHub reads workflow commands from stdout; with `--output json` stdout is kept for the
    /// JSON, and stderr (which the runner also reads) takes them.
    fn emit_workflow_command(&self, line: &str) {
        // A mask names its value: it is the one line that must not be redacted, so it never
        // goes to stdout (data: a patch, JSON) nor into a file (a `2>log` artifact); the runner
        // reads stderr through a pipe.
        if line.starts_with("::add-mask::") {
            if !stderr_is_a_file() {
                eprintln!("{line}");
            }
            return;
        }
        let line = secret::redact(line);
        if self.format == OutputFormat::Json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// A line of progress or result for people (stderr). Text that came from an input file may
    /// hold line breaks: a line of it that starts like a workflow command (`::stop-commands::`)
    /// is prefixed so the runner never reads it as one.
    pub fn say(&self, line: impl AsRef<str>) {
        eprintln!("{}", defuse(&secret::redact(line.as_ref())));
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

/// Whether stderr is a regular file (`2>log`): no runner reads workflow commands from it.
fn stderr_is_a_file() -> bool {
    use std::os::fd::AsFd;
    // fstat of a duplicate of fd 2.
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.is_file())
}

/// The runner reads a workflow command from any line of stdout or stderr that starts with `::`
/// once leading spaces are trimmed, so indenting is not enough: such lines get a `> `.
fn defuse(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.split('\n').any(|l| l.trim_start().starts_with("::")) {
        return text.into();
    }
    text.split('\n')
        .map(|l| {
            if l.trim_start().starts_with("::") {
                format!("> {l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_look_like_workflow_commands_are_defused() {
        assert_eq!(
            defuse("ok\n  ::stop-commands::x\nfine"),
            "ok\n>   ::stop-commands::x\nfine"
        );
        assert_eq!(defuse("a :: b"), "a :: b");
    }
}
