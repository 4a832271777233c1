//! Located problems in input files: what, where (file:line:column), and what to do.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::position::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The offending source line, shown under the message for people (not in JSON).
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &Path, pos: Pos, message: impl Into<String>) -> Self {
        Self::new(file, pos, Severity::Error, message.into())
    }

    pub fn warning(file: &Path, pos: Pos, message: impl Into<String>) -> Self {
        Self::new(file, pos, Severity::Warning, message.into())
    }

    fn new(file: &Path, pos: Pos, severity: Severity, message: String) -> Self {
        Diagnostic {
            file: file.display().to_string(),
            line: pos.line,
            column: pos.column,
            severity,
            message,
            help: None,
            source_line: None,
        }
    }

    /// A problem that belongs to no file (shown without a location).
    pub fn general(severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            file: String::new(),
            line: 0,
            column: 0,
            severity,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    pub fn has_location(&self) -> bool {
        !self.file.is_empty()
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_source_line(mut self, line: Option<String>) -> Self {
        self.source_line = line;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn sort_key(&self) -> (&str, usize, usize, Severity) {
        (&self.file, self.line, self.column, self.severity)
    }
}

/// Orders diagnostics by file and position and drops exact repeats, so output is stable.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    diagnostics.dedup();
}

/// `file:line:column: error: message`, then the source line with a caret, then the help.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.has_location() {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        }
        write!(f, "{severity}: {}", self.message)?;
        if let Some(line) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            // Tabs keep their width so the caret stays under the right character.
            let indent: String = line
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n {gutter} | {line}\n {pad} | {indent}^")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_location_source_and_help() {
        let d = Diagnostic::error(Path::new("score.yaml"), Pos { line: 3, column: 5 }, "bad")
            .with_source_line(Some("    imagee: x".into()))
            .with_help("use `image`");
        assert_eq!(
            d.to_string(),
            "score.yaml:3:5: error: bad\n 3 |     imagee: x\n   |     ^\n  help: use `image`"
        );
    }
}
