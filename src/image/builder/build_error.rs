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
    /// The registry of an image the Dockerfile names (`FROM`, `COPY --from`) failed or could not
    /// be reached, located at the instruction naming it (exit 1: the same build may pass later).
    #[error("a base image could not be pulled")]
    Pull(Vec<Diagnostic>),
    #[error("{0}")]
    Io(String),
}
