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
    /// The offending source line (or the part of a long one around the column), shown under
    /// the message for people (not in JSON).
    #[serde(skip)]
    source_line: Option<Box<Shown>>,
    /// For the last entry of a long list: how many problems were left out (see `sort`).
    #[serde(skip)]
    omitted: Option<Box<Omitted>>,
}

/// A source line as shown under a message, and the column in it the caret points at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    text: String,
    caret: usize,
}

/// Problems left out of a list that was too long to show, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Omitted {
    errors: usize,
    warnings: usize,
    /// The files with an omitted error.
    files: Vec<String>,
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
            omitted: None,
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
            omitted: None,
        }
    }

    pub fn has_location(&self) -> bool {
        !self.file.is_empty()
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The source line shown under the message, and the column in it the caret points at.
    pub fn with_source_line(mut self, line: String, caret: usize) -> Self {
        self.source_line = Some(Box::new(Shown { text: line, caret }));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// How many errors this stands for: one, none for a warning, or those it says were left
    /// out of a long list.
    pub fn errors(&self) -> usize {
        match &self.omitted {
            Some(o) => o.errors,
            None => usize::from(self.is_error()),
        }
    }

    /// Whether this is, or stands for, an error in `file`.
    pub fn is_error_in(&self, file: &str) -> bool {
        match &self.omitted {
            Some(o) => o.files.iter().any(|f| f == file),
            None => self.is_error() && self.file == file,
        }
    }

    fn sort_key(&self) -> (&str, usize, usize, Severity) {
        (&self.file, self.line, self.column, self.severity)
    }
}

/// At most this many names are listed in a message (`listing`); the rest are counted.
pub const LISTED: usize = 20;

/// `a, b, c`: the first `LISTED` of `total` names, then how many more there are, so a message
/// stays short (and a file of many errors that each list every name stays linear).
pub fn listing<S: AsRef<str>>(names: impl IntoIterator<Item = S>, total: usize) -> String {
    let mut text = String::new();
    for (i, name) in names.into_iter().take(LISTED).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(name.as_ref());
    }
    if total > LISTED {
        text.push_str(&format!(" and {} more", total - LISTED));
    }
    text
}

/// How many problems a list keeps to show; the rest are only counted.
pub const SHOWN: usize = 200;

/// Orders diagnostics by file and position and drops exact repeats, so output is stable; of a
/// list longer than `SHOWN`, keeps the first and counts the rest in a last entry ("and N more
/// errors"), so what a run holds and prints stays bounded however many problems an input has.
/// Lists that were cut before and are joined and sorted again keep exact counts.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    let mut omitted = Omitted::default();
    diagnostics.retain(|d| match &d.omitted {
        Some(o) => {
            omitted.add(o);
            false
        }
        None => true,
    });
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    diagnostics.dedup();
    if diagnostics.len() > SHOWN {
        for d in diagnostics.drain(SHOWN..) {
            omitted.count(&d);
        }
    }
    if omitted.errors + omitted.warnings > 0 {
        diagnostics.push(omitted.into_diagnostic());
    }
}

impl Omitted {
    fn count(&mut self, d: &Diagnostic) {
        if d.is_error() {
            self.errors += 1;
            if self.files.last() != Some(&d.file) && !self.files.contains(&d.file) {
                self.files.push(d.file.clone());
            }
        } else {
            self.warnings += 1;
        }
    }

    fn add(&mut self, other: &Omitted) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        for file in &other.files {
            if !self.files.contains(file) {
                self.files.push(file.clone());
            }
        }
    }

    fn into_diagnostic(self) -> Diagnostic {
        let count = |n: usize, what: &str| match n {
            0 => None,
            1 => Some(format!("1 more {what}")),
            n => Some(format!("{n} more {what}s")),
        };
        let parts: Vec<String> = [count(self.errors, "error"), count(self.warnings, "warning")]
            .into_iter()
            .flatten()
            .collect();
        let severity = if self.errors > 0 {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut d = Diagnostic::general(
            severity,
            format!(
                "and {} (only the first {SHOWN} are shown)",
                parts.join(" and ")
            ),
        );
        d.omitted = Some(Box::new(self));
        d
    }
}

/// `file:line:column: error: message`, then the source line with a caret, then the help.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.omitted.is_some() {
            return f.write_str(&self.message);
        }
        if self.has_location() {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        }
        write!(f, "{severity}: {}", self.message)?;
        if let Some(Shown { text: line, caret }) = self.source_line.as_deref() {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            // Tabs keep their width so the caret stays under the right character.
            let indent: String = line
                .chars()
                .take(caret.saturating_sub(1))
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
            .with_source_line("    imagee: x".into(), 5)
            .with_help("use `image`");
        assert_eq!(
            d.to_string(),
            "score.yaml:3:5: error: bad\n 3 |     imagee: x\n   |     ^\n  help: use `image`"
        );
    }

    #[test]
    fn long_lists_keep_the_first_and_count_the_rest_exactly() {
        let at = |file: &str, line: usize| {
            Diagnostic::error(Path::new(file), Pos { line, column: 1 }, "bad")
        };
        let mut first: Vec<Diagnostic> = (1..=SHOWN + 50).rev().map(|l| at("a", l)).collect();
        first.push(at("a", 1)); // an exact repeat
        sort(&mut first);
        assert_eq!(first.len(), SHOWN + 1);
        assert_eq!(first[0].line, 1);
        assert_eq!(
            first.last().unwrap().to_string(),
            "and 50 more errors (only the first 200 are shown)"
        );
        let mut joined: Vec<Diagnostic> = first;
        joined.extend((1..=SHOWN).map(|l| at("b", l)));
        joined.push(Diagnostic::warning(
            Path::new("b"),
            Pos {
                line: 999,
                column: 1,
            },
            "w",
        ));
        sort(&mut joined);
        let total: usize = joined.iter().map(Diagnostic::errors).sum();
        assert_eq!(total, 2 * SHOWN + 50);
        assert_eq!(
            joined.last().unwrap().to_string(),
            "and 250 more errors and 1 more warning (only the first 200 are shown)"
        );
        assert!(joined.last().unwrap().is_error_in("b"));
        assert!(!joined.last().unwrap().is_error_in("c"));
    }
}
