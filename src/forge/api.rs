//! What scoreline asks of a forge, whichever it is: one trait, implemented for GitHub and
//! GitLab; the logic on top (sticky comments, proposals, deployments) is written once.

use super::Error;

/// A comment on a pull/merge request.
#[derive(Debug, Clone)]
pub(super) struct Note {
    pub id: u64,
    pub author: String,
    /// Whether the author is a bot account (GitHub's `type: Bot`).
    pub bot: bool,
    pub body: String,
    pub url: String,
}

/// Who the token acts as, to find our own comments again.
#[derive(Debug, Clone)]
pub(super) enum Identity {
    /// The user `GET /user` named.
    User(String),
    /// A token with no user (a workflow's GITHUB_TOKEN, an App installation): its comments
    /// are `github-actions[bot]`'s or an App's `<slug>[bot]`'s.
    Bot,
}

impl Identity {
    pub fn wrote(&self, note: &Note) -> bool {
        match self {
            Identity::User(login) => note.author == *login,
            Identity::Bot => {
                note.author == "github-actions[bot]" || (note.bot && note.author.ends_with("[bot]"))
            }
        }
    }
}

/// A pull/merge request.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub number: u64,
    pub url: String,
    /// GitHub's GraphQL id (for auto-merge).
    pub node_id: Option<String>,
    pub state: RequestState,
    pub merge_commit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestState {
    Open,
    Merged,
    Closed,
}

/// The final state of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

pub(super) trait Api {
    /// The longest comment or description body the forge takes, in characters.
    fn body_limit(&self) -> usize;
    fn identity(&self) -> Result<Identity, Error>;
    /// Every comment of a pull/merge request, all pages.
    fn notes(&self, request: u64) -> Result<Vec<Note>, Error>;
    fn create_note(&self, request: u64, body: &str) -> Result<Note, Error>;
    fn edit_note(&self, request: u64, id: u64, body: &str) -> Result<Note, Error>;
    /// The open pull/merge request from `head` into `base`, if any.
    fn open_request(&self, head: &str, base: &str) -> Result<Option<Request>, Error>;
    fn create_request(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<Request, Error>;
    fn edit_request(&self, number: u64, title: &str, body: &str) -> Result<Request, Error>;
    fn request(&self, number: u64) -> Result<Request, Error>;
    /// Merges the request by itself once its checks pass.
    fn auto_merge(&self, request: &Request) -> Result<(), Error>;
    /// A deployment of `sha` (`reference` is its branch) to `environment`, started; its id.
    fn create_deployment(
        &self,
        environment: &str,
        sha: &str,
        reference: &str,
        transient: bool,
        log_url: Option<&str>,
    ) -> Result<u64, Error>;
    fn finish_deployment(
        &self,
        id: u64,
        outcome: Outcome,
        environment_url: Option<&str>,
        log_url: Option<&str>,
    ) -> Result<(), Error>;
}
