//! Why a build failed, in the classes the command line turns into exit codes.

use crate::diagnostic::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Problems located in the Dockerfile (exit 2).
    #[error("the Dockerfile cannot be built")]
    Dockerfile(Vec<Diagnostic>),
    #[error("{0}")]
    Usage(String),
    /// A registry or the network failed (exit 1).
    #[error("{0}")]
    Registry(String),
    #[error("{0}")]
    Io(String),
}
