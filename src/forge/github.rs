//! GitHub's REST API through octocrab: its authenticated client and its models (strict: an
//! answer missing a documented field is an error). Requests go through octocrab's raw methods so
//! that rate-limit headers and `Link` pagination are seen (see `retry`).

use http::{HeaderMap, Method};
use octocrab::Octocrab;
use octocrab::models::issues::Comment;
use octocrab::models::pulls::PullRequest;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Error;
use super::api::{Api, Identity, Note, Outcome, Request, RequestState};
use super::retry::{ATTEMPTS, Verdict, backoff, verdict};

/// GitHub's limit on an issue comment's or pull request's body, in characters.
const BODY_LIMIT: usize = 65_536;

pub(super) struct GitHub {
    crab: Octocrab,
    runtime: tokio::runtime::Runtime,
    /// `/repos/OWNER/NAME`.
    repo: String,
    graphql: String,
}

impl GitHub {
    pub fn new(api: &str, project: &str, token: &str) -> Result<GitHub, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::api(None, format!("GitHub client: {e}")))?;
        let crab = {
            let _inside = runtime.enter();
            Octocrab::builder()
                .base_uri(api)
                .and_then(|b| b.personal_token(token.to_owned()).build())
                .map_err(|e| Error::setup(format!("GitHub API `{api}`: {e}")))?
        };
        Ok(GitHub {
            crab,
            runtime,
            repo: format!("/repos/{project}"),
            graphql: graphql_url(api),
        })
    }

    /// Sends a request, asking again as `retry` says; the headers and body of a success.
    fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<(HeaderMap, String), Error> {
        let what = format!("GitHub {method} {}", path_of(uri));
        for attempt in 0.. {
            let sent = self.runtime.block_on(async {
                let response = match method {
                    Method::GET => self.crab._get(uri).await,
                    Method::POST => self.crab._post(uri, body).await,
                    Method::PATCH => self.crab._patch(uri, body).await,
                    _ => unreachable!("only GET, POST and PATCH are sent"),
                }?;
                let (status, headers) = (response.status(), response.headers().clone());
                let text = self.crab.body_to_string(response).await?;
                Ok::<_, octocrab::Error>((status, headers, text))
            });
            let (status, headers, text) = match sent {
                Ok(answer) => answer,
                Err(_) if attempt + 1 < ATTEMPTS => {
                    std::thread::sleep(backoff(attempt));
                    continue;
                }
                Err(e) => return Err(Error::api(None, format!("{what}: {e}"))),
            };
            if status.is_success() {
                return Ok((headers, text));
            }
            match verdict(status.as_u16(), &headers, attempt) {
                Verdict::Again(wait) => std::thread::sleep(wait),
                Verdict::TooLong(why) => {
                    return Err(Error::api(Some(status.as_u16()), format!("{what}: {why}")));
                }
                Verdict::Final => {
                    return Err(Error::api(
                        Some(status.as_u16()),
                        format!("{what}: HTTP {status}: {}", message(&text)),
                    ));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<(HeaderMap, T), Error> {
        let (headers, text) = self.send(method.clone(), uri, body)?;
        let value = serde_json::from_str(&text).map_err(|e| {
            Error::api(
                None,
                format!("GitHub {method} {}: unexpected answer: {e}", path_of(uri)),
            )
        })?;
        Ok((headers, value))
    }
}

/// A URL's path, for messages (no host, no query).
fn path_of(uri: &str) -> &str {
    let path = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    path.split('?').next().unwrap_or(path)
}

/// GitHub's error message in an error body, or the body itself (redacted, then shortened: a
/// secret cut in two would no longer read as itself).
fn message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| crate::secret::redact(text).chars().take(300).collect())
}

/// The `rel="next"` URL of a `Link` header.
fn next_page(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

fn note(comment: Comment) -> Note {
    Note {
        id: comment.id.into_inner(),
        bot: comment.user.r#type == "Bot",
        author: comment.user.login,
        body: comment.body.unwrap_or_default(),
        url: comment.html_url.to_string(),
    }
}

fn request(pull: PullRequest) -> Request {
    let state = if pull.merged_at.is_some() {
        RequestState::Merged
    } else if pull.state == Some(octocrab::models::IssueState::Open) {
        RequestState::Open
    } else {
        RequestState::Closed
    };
    Request {
        number: pull.number,
        url: pull.html_url.map(|u| u.to_string()).unwrap_or_default(),
        node_id: pull.node_id,
        state,
        merge_commit: pull.merge_commit_sha,
    }
}

impl Api for GitHub {
    fn body_limit(&self) -> usize {
        BODY_LIMIT
    }

    fn identity(&self) -> Result<Identity, Error> {
        match self.json::<octocrab::models::Author>(Method::GET, "/user", None) {
            Ok((_, user)) => Ok(Identity::User(user.login)),
            // A workflow's GITHUB_TOKEN (an installation token) has no user.
            Err(e) if e.status() == Some(403) => Ok(Identity::Bot),
            Err(e) => Err(e),
        }
    }

    fn notes(&self, number: u64) -> Result<Vec<Note>, Error> {
        let mut uri = Some(format!(
            "{}/issues/{number}/comments?per_page=100",
            self.repo
        ));
        let mut notes = Vec::new();
        while let Some(page) = uri.take() {
            let (headers, comments) = self.json::<Vec<Comment>>(Method::GET, &page, None)?;
            notes.extend(comments.into_iter().map(note));
            uri = next_page(&headers);
        }
        Ok(notes)
    }

    fn create_note(&self, number: u64, body: &str) -> Result<Note, Error> {
        let uri = format!("{}/issues/{number}/comments", self.repo);
        let (_, comment) = self.json(Method::POST, &uri, Some(&json!({"body": body})))?;
        Ok(note(comment))
    }

    fn edit_note(&self, _number: u64, id: u64, body: &str) -> Result<Note, Error> {
        let uri = format!("{}/issues/comments/{id}", self.repo);
        let (_, comment) = self.json(Method::PATCH, &uri, Some(&json!({"body": body})))?;
        Ok(note(comment))
    }

    fn open_request(&self, head: &str, base: &str) -> Result<Option<Request>, Error> {
        let owner = self.repo["/repos/".len()..]
            .split('/')
            .next()
            .unwrap_or_default();
        let query = [
            ("head", format!("{owner}:{head}")),
            ("base", base.into()),
            ("state", "open".into()),
        ];
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", percent(v)))
            .collect();
        let uri = format!("{}/pulls?{}", self.repo, query.join("&"));
        let (_, pulls) = self.json::<Vec<PullRequest>>(Method::GET, &uri, None)?;
        Ok(pulls.into_iter().next().map(request))
    }

    fn create_request(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<Request, Error> {
        let uri = format!("{}/pulls", self.repo);
        let payload = json!({"title": title, "head": head, "base": base, "body": body});
        let (_, pull) = self.json(Method::POST, &uri, Some(&payload))?;
        Ok(request(pull))
    }

    fn edit_request(&self, number: u64, title: &str, body: &str) -> Result<Request, Error> {
        let uri = format!("{}/pulls/{number}", self.repo);
        let payload = json!({"title": title, "body": body});
        let (_, pull) = self.json(Method::PATCH, &uri, Some(&payload))?;
        Ok(request(pull))
    }

    fn request(&self, number: u64) -> Result<Request, Error> {
        let uri = format!("{}/pulls/{number}", self.repo);
        let (_, pull) = self.json(Method::GET, &uri, None)?;
        Ok(request(pull))
    }

    fn auto_merge(&self, pull: &Request) -> Result<(), Error> {
        let id = pull.node_id.as_deref().ok_or_else(|| {
            Error::api(
                None,
                format!("pull request #{} has no node id", pull.number),
            )
        })?;
        let payload = json!({
            "query": "mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { number } } }",
            "variables": {"id": id},
        });
        let (_, answer) = self.json::<Value>(Method::POST, &self.graphql, Some(&payload))?;
        match answer.get("errors").and_then(Value::as_array) {
            Some(errors) if !errors.is_empty() => Err(Error::api(
                None,
                format!(
                    "GitHub enablePullRequestAutoMerge: {} (allow auto-merge in the repository's settings, and protect the branch with required checks)",
                    errors
                        .iter()
                        .filter_map(|e| e.get("message")?.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )),
            _ => Ok(()),
        }
    }

    fn create_deployment(
        &self,
        environment: &str,
        sha: &str,
        _reference: &str,
        transient: bool,
        log_url: Option<&str>,
    ) -> Result<u64, Error> {
        let uri = format!("{}/deployments", self.repo);
        let payload = json!({
            "ref": sha,
            "environment": environment,
            "description": format!("scoreline deploy to {environment}"),
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": transient,
        });
        let (_, deployment) =
            self.json::<octocrab::models::Deployment>(Method::POST, &uri, Some(&payload))?;
        let id = deployment.id.into_inner();
        self.status(id, "in_progress", None, log_url)?;
        Ok(id)
    }

    fn finish_deployment(
        &self,
        id: u64,
        outcome: Outcome,
        environment_url: Option<&str>,
        log_url: Option<&str>,
    ) -> Result<(), Error> {
        let state = match outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        };
        self.status(id, state, environment_url, log_url)
    }
}

impl GitHub {
    fn status(
        &self,
        id: u64,
        state: &str,
        environment_url: Option<&str>,
        log_url: Option<&str>,
    ) -> Result<(), Error> {
        let uri = format!("{}/deployments/{id}/statuses", self.repo);
        let mut payload = json!({"state": state, "auto_inactive": true});
        for (key, value) in [("environment_url", environment_url), ("log_url", log_url)] {
            if let Some(value) = value {
                payload[key] = json!(value);
            }
        }
        self.json::<octocrab::models::DeploymentStatus>(Method::POST, &uri, Some(&payload))?;
        Ok(())
    }
}

fn percent(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Where GraphQL is answered for a REST API base: below it on github.com
/// (`https://api.github.com/graphql`), beside it on GitHub Enterprise Server
/// (`https://HOST/api/v3` → `https://HOST/api/graphql`).
fn graphql_url(api: &str) -> String {
    let api = api.trim_end_matches('/');
    match api.strip_suffix("/api/v3") {
        Some(server) => format!("{server}/api/graphql"),
        None => format!("{api}/graphql"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_is_below_github_com_and_beside_an_enterprise_servers_rest_api() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.acme.test/api/v3/"),
            "https://ghe.acme.test/api/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/graphql"
        );
    }

    #[test]
    fn link_headers_name_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            "<https://api.github.com/repos/a/b/issues/1/comments?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repos/a/b/issues/1/comments?per_page=100&page=3>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_page(&headers).as_deref(),
            Some("https://api.github.com/repos/a/b/issues/1/comments?per_page=100&page=2")
        );
        assert_eq!(next_page(&HeaderMap::new()), None);
        assert_eq!(path_of("http://h:1/repos/a/b?x=1"), "/repos/a/b");
    }
}
