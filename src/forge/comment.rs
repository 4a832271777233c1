//! Sticky comments: one comment per topic and environment on a pull/merge request, found again
//! by its hidden marker and its author (the token's own user, or its bot) on the next run and
//! edited in place — never a second one, however many comments the request has.

use super::Error;
use super::config::{Repository, Run};

/// What a sticky comment is about; with the environment, it makes the comment's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// `scoreline plan --comment`: what a merge would do.
    Plan,
    /// `scoreline deploy --comment`: what a deploy did (preview environments).
    Deploy,
}

impl Topic {
    fn name(self) -> &'static str {
        match self {
            Topic::Plan => "plan",
            Topic::Deploy => "deploy",
        }
    }

    /// The hidden marker the comment is found by again.
    pub fn marker(self, environment: &str) -> String {
        format!("<!-- scoreline:{}:{environment} -->", self.name())
    }
}

/// A comment posted or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub url: String,
    /// Whether it is new (else an earlier one was edited).
    pub created: bool,
}

/// Posts, or updates, the CI `run`'s sticky comment on `topic` for `environment` on the
/// pull/merge request it runs for (GitHub Actions: `GITHUB_EVENT_PATH`'s pull request; GitLab
/// CI: `CI_MERGE_REQUEST_IID`). None when the run is not for one. `markdown` is redacted and,
/// if too long, truncated with a note linking the job.
pub fn comment(
    run: &Run,
    topic: Topic,
    environment: &str,
    markdown: &str,
) -> Result<Option<Posted>, Error> {
    let Some(request) = run.request else {
        return Ok(None);
    };
    let job = crate::ci::provenance::Provenance::run_url(&crate::ci::System::detect());
    let body = fit(markdown, run.repository.api.body_limit(), job.as_deref());
    upsert_comment(&run.repository, request, &topic.marker(environment), &body).map(Some)
}

/// Edits the comment on pull/merge request `request` that holds `marker` and was written by
/// the token's own user (or bot), or creates it: `body` (redacted, truncated to fit) after the
/// marker.
pub fn upsert_comment(
    repository: &Repository,
    request: u64,
    marker: &str,
    body: &str,
) -> Result<Posted, Error> {
    let api = &repository.api;
    let text = format!(
        "{marker}\n{}",
        fit(body, api.body_limit() - marker.chars().count() - 1, None)
    );
    let me = api.identity()?;
    let ours = api
        .notes(request)?
        .into_iter()
        .find(|n| n.body.contains(marker) && me.wrote(n));
    let (note, created) = match ours {
        Some(found) => (api.edit_note(request, found.id, &text)?, false),
        None => (api.create_note(request, &text)?, true),
    };
    Ok(Posted {
        url: note.url,
        created,
    })
}

/// `text` redacted, and cut to at most `limit` characters with a note saying so (linking the
/// job, whose log has it whole).
fn fit(text: &str, limit: usize, job: Option<&str>) -> String {
    let text = crate::secret::redact(text);
    if text.chars().count() <= limit {
        return text.into_owned();
    }
    let note = match job {
        Some(job) => format!(
            "\n\n… truncated to fit the forge's limit: the whole text is in [the job's log]({job})."
        ),
        None => "\n\n… truncated to fit the forge's limit: the whole text is in the job's log."
            .to_owned(),
    };
    let keep = limit.saturating_sub(note.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    // An unclosed <details> or code fence would swallow the note.
    if cut.matches("```").count() % 2 == 1 {
        // Eight characters, not bytes: a byte cut could fall inside `•` or `→`.
        for _ in 0..8 {
            cut.pop();
        }
        cut.push_str("\n```");
    }
    format!("{cut}{note}").chars().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_cut_below_the_limit_with_a_note() {
        let long = format!("```diff\n{}", "+ line\n".repeat(20_000));
        let cut = fit(&long, 65_536, Some("https://ci/job/1"));
        assert!(cut.chars().count() <= 65_536);
        assert!(
            cut.ends_with("[the job's log](https://ci/job/1)."),
            "{}",
            &cut[cut.len() - 200..]
        );
        assert_eq!(cut.matches("```").count() % 2, 0, "the fence is closed");
        assert_eq!(fit("short", 65_536, None), "short");
    }

    #[test]
    fn an_open_fence_is_closed_at_a_character_not_a_byte() {
        // Every character of the cut is three bytes long, so a byte cut would split one.
        let long = format!("```diff\n{}", "•→".repeat(1_000));
        for limit in 150..160 {
            let cut = fit(&long, limit, None);
            assert!(cut.chars().count() <= limit);
            assert!(
                cut.contains("•→•\n```") || cut.contains("→•→\n```"),
                "{cut}"
            );
        }
    }

    #[test]
    fn markers_name_topic_and_environment() {
        assert_eq!(
            Topic::Plan.marker("staging"),
            "<!-- scoreline:plan:staging -->"
        );
    }
}
