//! The one place errors become exit codes (DESIGN.md, Conventions).

use crate::diagnostic::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Located problems in input files; already formatted by the reporter.
    #[error("{}", count(.0))]
    Invalid(Vec<Diagnostic>),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) => 2,
        }
    }
}

fn count(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    match errors {
        1 => "1 error found".into(),
        n => format!("{n} errors found"),
    }
}
