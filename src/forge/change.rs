//! Delivery by pull/merge request: the branch a deploy pushed, proposed against the
//! environment's branch — a new request, or the one already open updated — and optionally
//! merged by the forge once its checks pass; `wait_merged` waits for the merge.

use std::time::{Duration, Instant};

use super::Error;
use super::api::RequestState;
use super::config::Repository;

/// What to propose.
#[derive(Debug, Clone)]
pub struct Proposal<'a> {
    /// The branch holding the change, and the one it is to be merged into.
    pub head: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// Ask the forge to merge it once its checks pass.
    pub auto_merge: bool,
}

/// A pull/merge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub number: u64,
    pub url: String,
    /// Whether it was opened now (else an open one was updated).
    pub created: bool,
    /// The merge commit, once merged.
    pub merge_commit: Option<String>,
}

/// Opens the pull/merge request of `proposal`, or updates the one open from its branch; the
/// request, and a warning when auto-merge could not be turned on.
pub fn propose(
    repository: &Repository,
    proposal: &Proposal<'_>,
) -> Result<(Change, Option<String>), Error> {
    let api = &repository.api;
    let title = crate::secret::redact(proposal.title);
    let body: String = crate::secret::redact(proposal.body)
        .chars()
        .take(api.body_limit())
        .collect();
    let (request, created) = match api.open_request(proposal.head, proposal.base)? {
        Some(open) => (api.edit_request(open.number, &title, &body)?, false),
        None => (
            api.create_request(proposal.head, proposal.base, &title, &body)?,
            true,
        ),
    };
    let warning = proposal
        .auto_merge
        .then(|| api.auto_merge(&request).err())
        .flatten()
        .map(|e| format!("auto-merge of {} was not turned on: {e}", request.url));
    Ok((
        Change {
            number: request.number,
            url: request.url,
            created,
            merge_commit: request
                .merge_commit
                .filter(|_| request.state == RequestState::Merged),
        },
        warning,
    ))
}

/// Waits until the request is merged (its merge commit), polling every `poll`; an error when
/// it is closed unmerged or `timeout` passes first.
pub fn wait_merged(
    repository: &Repository,
    change: &Change,
    timeout: Duration,
    poll: Duration,
) -> Result<Change, Error> {
    let started = Instant::now();
    loop {
        let request = repository.api.request(change.number)?;
        match request.state {
            RequestState::Merged => {
                return Ok(Change {
                    merge_commit: request.merge_commit,
                    ..change.clone()
                });
            }
            RequestState::Closed => {
                return Err(Error::api(
                    None,
                    format!("{} was closed without being merged", change.url),
                ));
            }
            RequestState::Open => {}
        }
        if started.elapsed() + poll > timeout {
            return Err(Error::Timeout(format!(
                "{} was not merged within {}: it stays open; the deployment lands when it is merged",
                change.url,
                humantime::format_duration(timeout)
            )));
        }
        std::thread::sleep(poll);
    }
}
