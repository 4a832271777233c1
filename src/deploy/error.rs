//! What can go wrong while delivering or reading deployments.

use super::git_cli::GitError;
use super::revision::Revision;
use crate::diagnostic::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused by policy (exit 3).
    #[error("refused by policy")]
    Refused(Diagnostic),
    #[error("environment repository {repository}: {error}")]
    Git { repository: String, error: GitError },
    /// Every push lost its race: the branch moved on before each one landed.
    #[error(
        "environment repository {repository}: another push landed first on each of {attempts} attempts, so nothing was delivered; run the deploy again (or find what pushes to the branch this often). The last refusal: {error}"
    )]
    Busy {
        repository: String,
        attempts: u32,
        error: GitError,
    },
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Corrupt(String),
    /// Something named does not exist: an environment without delivery, an unknown record.
    #[error("{0}")]
    NotFound(String),
    /// With a plan: the app folder is no longer at the planned revision (exit 3).
    #[error(
        "environment `{environment}`: {location} moved since the plan was made: planned {planned}, now {now}"
    )]
    Moved {
        environment: String,
        location: String,
        planned: Box<Revision>,
        now: Box<Revision>,
    },
    /// A plan file that cannot be read or used (exit 2).
    #[error("{0}")]
    Plan(String),
    /// A delivery `path` that would lead outside its repository or folder.
    #[error(
        "delivery path `{0}` must be a relative path inside the repository or folder, without `..`"
    )]
    Layout(String),
}
