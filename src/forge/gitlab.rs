//! GitLab's REST API (v4) through the gitlab crate: its blocking client and endpoint types,
//! behind a client of ours that waits out rate limits and retries server errors (see `retry`).
//! Lists are read whole with the crate's offset pagination (`page`, `per_page=100`).

use bytes::Bytes;
use gitlab::api::common::NameOrId;
use gitlab::api::endpoint_prelude::{BodyError, Cow, Endpoint, FormParams, Method};
use gitlab::api::projects::deployments::{CreateDeployment, DeploymentStatus, EditDeployment};
use gitlab::api::projects::merge_requests::notes::{
    CreateMergeRequestNote, EditMergeRequestNote, MergeRequestNotes,
};
use gitlab::api::projects::merge_requests::{
    CreateMergeRequest, EditMergeRequest, MergeRequest, MergeRequestState, MergeRequests,
};
use gitlab::api::{self, ApiError, Pagination, Query};
use http::Response;
use serde::Deserialize;

use super::Error;
use super::api::{Api, Identity, Note, Outcome, Request, RequestState};
use super::retry::{ATTEMPTS, Verdict, backoff, verdict};

/// GitLab's limit on a note's or description's length, in characters.
const BODY_LIMIT: usize = 1_000_000;

pub(super) struct GitLab {
    client: Patient,
    project: String,
}

/// The crate's client, asking again as `retry` says.
struct Patient(gitlab::Gitlab);

impl api::RestClient for Patient {
    type Error = gitlab::RestError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<url::Url, ApiError<Self::Error>> {
        self.0.rest_endpoint(endpoint)
    }
}

impl api::Client for Patient {
    fn rest(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<Response<Bytes>, ApiError<Self::Error>> {
        let mut attempt = 0;
        loop {
            // A request builder is used up by sending: each attempt rebuilds it.
            let mut again = http::Request::builder();
            if let Some(method) = request.method_ref() {
                again = again.method(method);
            }
            if let Some(uri) = request.uri_ref() {
                again = again.uri(uri);
            }
            if let Some(headers) = request.headers_ref() {
                for (name, value) in headers {
                    again = again.header(name, value);
                }
            }
            match self.0.rest(again, body.clone()) {
                Ok(response) if !response.status().is_success() => {
                    match verdict(response.status().as_u16(), response.headers(), attempt) {
                        Verdict::Again(wait) => std::thread::sleep(wait),
                        Verdict::Final | Verdict::TooLong(_) => return Ok(response),
                    }
                }
                Err(_) if attempt + 1 < ATTEMPTS => std::thread::sleep(backoff(attempt)),
                answer => return answer,
            }
            attempt += 1;
        }
    }
}

#[derive(Deserialize)]
struct User {
    username: String,
}

#[derive(Deserialize)]
struct GitLabNote {
    id: u64,
    body: String,
    author: User,
}

#[derive(Deserialize)]
struct GitLabMergeRequest {
    iid: u64,
    web_url: String,
    state: String,
    merge_commit_sha: Option<String>,
    /// Set instead of `merge_commit_sha` when the project squashes.
    squash_commit_sha: Option<String>,
    /// The source branch's head: what a fast-forward merge lands (no merge commit then).
    sha: Option<String>,
}

#[derive(Deserialize)]
struct GitLabDeployment {
    id: u64,
}

impl GitLab {
    /// Connects (the crate's client asks `GET /user` as it is made).
    pub fn new(api: &str, project: &str, token: &str) -> Result<GitLab, Error> {
        let (insecure, rest) = match api.strip_prefix("http://") {
            Some(rest) => (true, rest),
            None => (false, api.trim_start_matches("https://")),
        };
        let host = rest.strip_suffix("/api/v4").unwrap_or(rest);
        let mut builder = gitlab::Gitlab::builder(host, token);
        if insecure {
            builder.insecure();
        }
        let client = builder
            .build()
            .map_err(|e| Error::api(None, format!("GitLab API `{api}`: {e}")))?;
        Ok(GitLab {
            client: Patient(client),
            project: project.to_owned(),
        })
    }

    fn run<T, E>(&self, what: &str, endpoint: E) -> Result<T, Error>
    where
        E: Query<T, Patient>,
    {
        endpoint.query(&self.client).map_err(|e| {
            Error::api(
                None,
                format!(
                    "GitLab {what} (project {}): {}",
                    self.project,
                    described(&e)
                ),
            )
        })
    }
}

/// The crate's error as text. An error object GitLab answered (`{"message": {"note": [...]}}`)
/// the crate shows Debug-formatted, whose escapes (`\u{1b}`) redaction does not know: it is
/// shown as JSON instead, masked value by value before it is written out.
fn described<E>(error: &ApiError<E>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
{
    match error {
        ApiError::GitlabObjectWithStatus { status, obj }
        | ApiError::GitlabUnrecognizedWithStatus { status, obj } => format!(
            "gitlab server error ({status}): {}",
            crate::secret::redact_json(obj.clone())
        ),
        other => other.to_string(),
    }
}

fn note(n: GitLabNote, request: &Request) -> Note {
    Note {
        url: format!("{}#note_{}", request.url, n.id),
        id: n.id,
        author: n.author.username,
        bot: false,
        body: n.body,
    }
}

fn request(mr: GitLabMergeRequest) -> Request {
    Request {
        number: mr.iid,
        url: mr.web_url,
        node_id: None,
        state: match mr.state.as_str() {
            "merged" => RequestState::Merged,
            "opened" | "locked" => RequestState::Open,
            _ => RequestState::Closed,
        },
        merge_commit: mr.merge_commit_sha.or(mr.squash_commit_sha).or(mr.sha),
    }
}

/// `PUT /projects/:id/merge_requests/:iid/merge`, merging once the pipeline succeeds. It says so
/// twice: `auto_merge` (GitLab 17.11 on; the crate's endpoint lacks it) and the deprecated
/// `merge_when_pipeline_succeeds` older versions read — a version knowing neither would merge
/// at once.
struct AutoMerge<'a> {
    project: NameOrId<'a>,
    merge_request: u64,
}

impl Endpoint for AutoMerge<'_> {
    fn method(&self) -> Method {
        Method::PUT
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/merge_requests/{}/merge",
            self.project, self.merge_request
        )
        .into()
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        let mut params = FormParams::default();
        params
            .push("auto_merge", true)
            .push("merge_when_pipeline_succeeds", true);
        params.into_body()
    }
}

/// An endpoint builder's error: a bug of ours, never of the input.
fn built<T, E: std::fmt::Display>(endpoint: Result<T, E>) -> Result<T, Error> {
    endpoint.map_err(|e| Error::api(None, format!("GitLab request: {e}")))
}

impl Api for GitLab {
    fn body_limit(&self) -> usize {
        BODY_LIMIT
    }

    fn identity(&self) -> Result<Identity, Error> {
        let me: User = self.run(
            "GET /user",
            built(api::users::CurrentUser::builder().build())?,
        )?;
        Ok(Identity::User(me.username))
    }

    fn notes(&self, number: u64) -> Result<Vec<Note>, Error> {
        let mr = self.request(number)?;
        let endpoint = built(
            MergeRequestNotes::builder()
                .project(self.project.as_str())
                .merge_request(number)
                .build(),
        )?;
        let notes: Vec<GitLabNote> =
            self.run("list notes", api::paged(endpoint, Pagination::All))?;
        Ok(notes.into_iter().map(|n| note(n, &mr)).collect())
    }

    fn create_note(&self, number: u64, body: &str) -> Result<Note, Error> {
        let mr = self.request(number)?;
        let endpoint = built(
            CreateMergeRequestNote::builder()
                .project(self.project.as_str())
                .merge_request(number)
                .body(body)
                .build(),
        )?;
        Ok(note(self.run("create note", endpoint)?, &mr))
    }

    fn edit_note(&self, number: u64, id: u64, body: &str) -> Result<Note, Error> {
        let mr = self.request(number)?;
        let endpoint = built(
            EditMergeRequestNote::builder()
                .project(self.project.as_str())
                .merge_request(number)
                .note(id)
                .body(body)
                .build(),
        )?;
        Ok(note(self.run("edit note", endpoint)?, &mr))
    }

    fn open_request(&self, head: &str, base: &str) -> Result<Option<Request>, Error> {
        let endpoint = built(
            MergeRequests::builder()
                .project(self.project.as_str())
                .source_branch(head)
                .target_branch(base)
                .state(MergeRequestState::Opened)
                .build(),
        )?;
        let found: Vec<GitLabMergeRequest> = self.run("list merge requests", endpoint)?;
        Ok(found.into_iter().next().map(request))
    }

    fn create_request(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<Request, Error> {
        let endpoint = built(
            CreateMergeRequest::builder()
                .project(self.project.as_str())
                .source_branch(head)
                .target_branch(base)
                .title(title)
                .description(body)
                .remove_source_branch(true)
                .build(),
        )?;
        Ok(request(self.run("create merge request", endpoint)?))
    }

    fn edit_request(&self, number: u64, title: &str, body: &str) -> Result<Request, Error> {
        let endpoint = built(
            EditMergeRequest::builder()
                .project(self.project.as_str())
                .merge_request(number)
                .title(title)
                .description(body)
                .build(),
        )?;
        Ok(request(self.run("edit merge request", endpoint)?))
    }

    fn request(&self, number: u64) -> Result<Request, Error> {
        let endpoint = built(
            MergeRequest::builder()
                .project(self.project.as_str())
                .merge_request(number)
                .build(),
        )?;
        Ok(request(self.run("get merge request", endpoint)?))
    }

    fn auto_merge(&self, mr: &Request) -> Result<(), Error> {
        let endpoint = AutoMerge {
            project: self.project.as_str().into(),
            merge_request: mr.number,
        };
        self.run("auto-merge", api::ignore(endpoint))
    }

    fn create_deployment(
        &self,
        environment: &str,
        sha: &str,
        reference: &str,
        _transient: bool,
        _log_url: Option<&str>,
    ) -> Result<u64, Error> {
        let endpoint = built(
            CreateDeployment::builder()
                .project(self.project.as_str())
                .environment(environment)
                .sha(sha)
                .ref_(reference)
                .tag(false)
                .status(DeploymentStatus::Running)
                .build(),
        )?;
        let deployment: GitLabDeployment = self.run("create deployment", endpoint)?;
        Ok(deployment.id)
    }

    fn finish_deployment(
        &self,
        id: u64,
        outcome: Outcome,
        _environment_url: Option<&str>,
        _log_url: Option<&str>,
    ) -> Result<(), Error> {
        let status = match outcome {
            Outcome::Success => DeploymentStatus::Success,
            Outcome::Failure => DeploymentStatus::Failed,
        };
        let endpoint = built(
            EditDeployment::builder()
                .project(self.project.as_str())
                .deployment_id(id)
                .status(status)
                .build(),
        )?;
        self.run("update deployment", api::ignore(endpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_objects_are_shown_as_redacted_json_not_debug_text() {
        // A control character: Debug writes `\u{1}`, which is none of the secret's forms.
        let token = "gl\u{1}object-secret-0123456789";
        crate::secret::register(token, "test");
        let error: ApiError<gitlab::RestError> = ApiError::GitlabObjectWithStatus {
            status: http::StatusCode::BAD_REQUEST,
            obj: serde_json::json!({"note": [format!("echoed {token}")]}),
        };
        let shown = crate::secret::redact(&described(&error)).into_owned();
        assert_eq!(
            shown,
            format!(
                "gitlab server error (400 Bad Request): {{\"note\":[\"echoed {}\"]}}",
                crate::secret::MASK
            )
        );
    }
}
