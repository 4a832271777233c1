//! The one place exit codes are made (DESIGN.md, Conventions): from errors, and from how a
//! command that did not fail ended.

use crate::diagnostic::Diagnostic;
use crate::{render, resolve};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Located problems in input files (exit 2).
    #[error("{}", count(.0))]
    Invalid(Vec<Diagnostic>),
    /// A wrong flag or argument (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Refused by policy (exit 3).
    #[error("refused by policy: {}", count(.0))]
    Refused(Vec<Diagnostic>),
    /// Something failed while running: a driver program, the network, git (exit 1).
    #[error("failed: {}", count(.0))]
    Failed(Vec<Diagnostic>),
    /// Something failed while running, without a file to point at: writing output, git (exit 1).
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) | Error::Usage(_) => 2,
            Error::Refused(_) => 3,
            Error::Failed(_) | Error::Runtime(_) => 1,
        }
    }

    /// The located problems to show, if the error has any.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Invalid(d) | Error::Refused(d) | Error::Failed(d) => d,
            Error::Usage(_) | Error::Runtime(_) => &[],
        }
    }
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Changes were found where the caller asked to be told by the exit code (`diff
    /// --exit-code`, exit 4).
    Changed,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::Changed => 4,
        }
    }
}

/// Most commands just finish.
impl From<()> for Outcome {
    fn from((): ()) -> Outcome {
        Outcome::Done
    }
}

impl From<resolve::Error> for Error {
    fn from(e: resolve::Error) -> Self {
        match e {
            resolve::Error::Invalid(d) => Error::Invalid(d),
            resolve::Error::Refused(d) => Error::Refused(d),
            resolve::Error::Failed(d) => Error::Failed(d),
        }
    }
}

impl From<render::Error> for Error {
    fn from(e: render::Error) -> Self {
        match e {
            render::Error::Invalid(d) => Error::Invalid(d),
            render::Error::Image(e) => Error::Usage(e.to_string()),
            render::Error::Conflict(message) => Error::Usage(message),
            render::Error::Refused(d) => Error::Refused(d),
        }
    }
}

impl From<crate::baseline::ExportError> for Error {
    fn from(e: crate::baseline::ExportError) -> Self {
        match e {
            crate::baseline::ExportError::NotEmpty(_) => Error::Usage(e.to_string()),
            crate::baseline::ExportError::Io(..) => Error::Runtime(e.to_string()),
        }
    }
}

impl From<crate::folder::FolderError> for Error {
    fn from(e: crate::folder::FolderError) -> Self {
        match e {
            crate::folder::FolderError::NotOurs(_) => Error::Usage(e.to_string()),
            crate::folder::FolderError::Io(..) => Error::Runtime(e.to_string()),
        }
    }
}

impl From<crate::deploy::Error> for Error {
    fn from(e: crate::deploy::Error) -> Self {
        use crate::deploy::Error as D;
        match e {
            D::Refused(d) => Error::Refused(vec![d]),
            D::Moved { .. } => Error::Refused(vec![
                crate::diagnostic::Diagnostic::general(
                    crate::diagnostic::Severity::Error,
                    e.to_string(),
                )
                .with_help(
                    "nothing was delivered: run `scoreline plan` again, review the new plan, and deploy that one",
                ),
            ]),
            D::NotFound(_) | D::Layout(_) | D::Plan(_) => Error::Usage(e.to_string()),
            D::Git { .. } | D::Busy { .. } | D::Io(_) | D::Corrupt(_) => {
                Error::Runtime(e.to_string())
            }
        }
    }
}

impl From<crate::image::BuildError> for Error {
    fn from(e: crate::image::BuildError) -> Self {
        use crate::image::BuildError as B;
        match e {
            B::Dockerfile(d) => Error::Invalid(d),
            B::Pull(d) => Error::Failed(d),
            B::Usage(m) => Error::Usage(m),
            B::Registry(m) | B::Io(m) => Error::Runtime(m),
        }
    }
}

fn count(diagnostics: &[Diagnostic]) -> String {
    match diagnostics.iter().map(Diagnostic::errors).sum::<usize>() {
        1 => "1 error found".into(),
        n => format!("{n} errors found"),
    }
}
