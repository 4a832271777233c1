//! Talking back to the forge a pipeline belongs to: GitHub (through octocrab) and GitLab
//! (through the gitlab crate). Sticky pull/merge-request comments, pull/merge-request delivery
//! and deployment statuses. Never needed offline: nothing is called unless a caller asks, and
//! callers turn a failed comment or status into a warning. Every text sent is redacted of every
//! known secret; tokens are registered as secrets before anything is sent.

mod api;
mod change;
mod comment;
mod config;
mod deployment;
mod github;
mod gitlab;
mod retry;

pub use change::{Change, Proposal, propose, wait_merged};
pub use comment::{Posted, Topic, comment, upsert_comment};
pub use config::{Kind, Repository, Run, Settings, for_repository, this_run};
pub use deployment::{Deployment, start_deployment};

/// What can go wrong talking to a forge. Messages are redacted when made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not enough to go on: no token, a project that cannot be told from a URL (the user must
    /// set something).
    #[error("{0}")]
    Setup(String),
    /// The forge answered with an error, or could not be reached.
    #[error("{message}")]
    Api {
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        message: String,
    },
    /// Waited for something (a merge) longer than allowed.
    #[error("{0}")]
    Timeout(String),
}

impl Error {
    fn setup(message: impl AsRef<str>) -> Error {
        Error::Setup(crate::secret::redact(message.as_ref()).into_owned())
    }

    fn api(status: Option<u16>, message: impl AsRef<str>) -> Error {
        Error::Api {
            status,
            message: crate::secret::redact(message.as_ref()).into_owned(),
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => *status,
            _ => None,
        }
    }
}
