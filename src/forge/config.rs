//! Which forge, which project, which token: this CI run's (GitHub Actions' and GitLab CI's
//! variables), or an environment repository's (told from its URL, or set in environments.yaml).

use serde::{Deserialize, Serialize};

use super::Error;
use super::api::Api;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[serde(rename = "github")]
    GitHub,
    #[serde(rename = "gitlab")]
    GitLab,
}

/// An environment's `forge:` in environments.yaml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Settings {
    /// The forge hosting the environment repository, when its URL does not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// `owner/name` (GitHub) or `group/project` (GitLab) of the environment repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The REST API's base URL (`https://api.github.com`, `https://gitlab.example/api/v4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Report deployments to this environment as forge deployments with statuses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deployments: bool,
}

/// A project on a forge, connected with a token.
pub struct Repository {
    pub kind: Kind,
    /// `owner/name` or `group/project` (or a GitLab project id).
    pub project: String,
    pub(super) api: Box<dyn Api>,
}

/// This CI run's own repository on its forge, and what it runs for.
pub struct Run {
    pub repository: Repository,
    /// The pull/merge request the run is for.
    pub request: Option<u64>,
    /// The commit and branch (or tag) the run builds.
    pub commit: Option<String>,
    pub reference: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// This CI run's forge: GitHub Actions (`GITHUB_REPOSITORY`, `GITHUB_API_URL`,
/// `GITHUB_EVENT_PATH`) or GitLab CI (`CI_API_V4_URL`, `CI_PROJECT_ID`, `CI_MERGE_REQUEST_IID`).
/// None outside both.
pub fn this_run() -> Result<Option<Run>, Error> {
    match crate::ci::System::detect() {
        crate::ci::System::GitHub { .. } => {
            let Some(project) = var("GITHUB_REPOSITORY") else {
                return Ok(None);
            };
            let api = var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
            Ok(Some(Run {
                repository: connect(Kind::GitHub, &api, &project)?,
                request: var("GITHUB_EVENT_PATH").and_then(|p| event_request(&p)),
                commit: var("GITHUB_SHA"),
                reference: var("GITHUB_HEAD_REF").or_else(|| var("GITHUB_REF_NAME")),
            }))
        }
        crate::ci::System::GitLab => {
            let (Some(api), Some(project)) = (
                var("CI_API_V4_URL"),
                var("CI_PROJECT_ID").or_else(|| var("CI_PROJECT_PATH")),
            ) else {
                return Ok(None);
            };
            Ok(Some(Run {
                repository: connect(Kind::GitLab, &api, &project)?,
                request: var("CI_MERGE_REQUEST_IID").and_then(|n| n.parse().ok()),
                commit: var("CI_COMMIT_SHA"),
                reference: var("CI_COMMIT_REF_NAME"),
            }))
        }
        _ => Ok(None),
    }
}

/// The pull request a GitHub event is about: `pull_request.number`, or an issue comment's
/// issue when that issue is a pull request.
fn event_request(path: &str) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    event
        .pointer("/pull_request/number")
        .or_else(|| {
            event
                .pointer("/issue/pull_request")
                .and(event.pointer("/issue/number"))
        })
        .and_then(serde_json::Value::as_u64)
}

/// The forge project of an environment repository at `url`: as `settings` say, or told from
/// the URL (`github.com/owner/name`, a GitLab host's `group/project`).
pub fn for_repository(url: &str, settings: Option<&Settings>) -> Result<Repository, Error> {
    let told = settings
        .and_then(|s| Some((s.kind?, s.project.clone()?)))
        .or_else(|| from_url(url));
    let Some((kind, project)) = told else {
        return Err(Error::setup(format!(
            "cannot tell which forge project the environment repository {} is: add `forge: {{kind: github|gitlab, project: OWNER/NAME}}` to the environment in environments.yaml",
            crate::ci::provenance::without_credentials(url)
        )));
    };
    let api = match settings.and_then(|s| s.api.clone()) {
        Some(api) => api,
        None => default_api(kind, url),
    };
    connect(kind, &api, &project)
}

/// `(kind, project)` from a repository URL: github.com (or this run's GitHub server) is
/// GitHub; this run's GitLab server, or a host named gitlab, is GitLab.
fn from_url(url: &str) -> Option<(Kind, String)> {
    let (host, path) = host_and_path(url)?;
    let project = path
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_owned();
    if project.split('/').filter(|p| !p.is_empty()).count() < 2 {
        return None;
    }
    let server = |name: &str| var(name).and_then(|u| host_and_path(&u).map(|(h, _)| h));
    if host == "github.com" || server("GITHUB_SERVER_URL").as_deref() == Some(host.as_str()) {
        Some((Kind::GitHub, project))
    } else if host.contains("gitlab") || server("CI_SERVER_URL").as_deref() == Some(host.as_str()) {
        Some((Kind::GitLab, project))
    } else {
        None
    }
}

/// A URL's host (lowercase, without credentials) and path; scp-like `git@host:path` too.
fn host_and_path(url: &str) -> Option<(String, String)> {
    let (authority, path) = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?,
        None => url.split_once(':')?,
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some((host.to_ascii_lowercase(), path.to_owned()))
}

/// The API of the forge serving `url`: this run's when it is the same server.
fn default_api(kind: Kind, url: &str) -> String {
    let host = host_and_path(url).map(|(h, _)| h).unwrap_or_default();
    match kind {
        Kind::GitHub if host == "github.com" => {
            var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into())
        }
        Kind::GitHub => var("GITHUB_API_URL").unwrap_or_else(|| format!("https://{host}/api/v3")),
        Kind::GitLab => var("CI_API_V4_URL").unwrap_or_else(|| format!("https://{host}/api/v4")),
    }
}

/// A client for `project` on the forge whose REST API is at `api`, with the token the CI gives.
fn connect(kind: Kind, api: &str, project: &str) -> Result<Repository, Error> {
    check_transport(api)?;
    let api = api.trim_end_matches('/');
    let client: Box<dyn Api> = match kind {
        Kind::GitHub => {
            let token = var("GITHUB_TOKEN").or_else(|| var("GH_TOKEN")).ok_or_else(|| {
                Error::setup("no GitHub token: set GITHUB_TOKEN (in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}`) or GH_TOKEN")
            })?;
            crate::secret::register(&token, "GITHUB_TOKEN");
            Box::new(super::github::GitHub::new(api, project, &token)?)
        }
        Kind::GitLab => {
            let Some(token) = var("GITLAB_TOKEN") else {
                return Err(Error::setup(if var("CI_JOB_TOKEN").is_some() {
                    "only CI_JOB_TOKEN is set, and a job token cannot write merge request notes, merge requests or deployments: set GITLAB_TOKEN to a project access token with the `api` scope (a masked, protected CI/CD variable)"
                } else {
                    "no GitLab token: set GITLAB_TOKEN to a project access token with the `api` scope (a masked CI/CD variable)"
                }));
            };
            crate::secret::register(&token, "GITLAB_TOKEN");
            Box::new(super::gitlab::GitLab::new(api, project, &token)?)
        }
    };
    Ok(Repository {
        kind,
        project: project.to_owned(),
        api: client,
    })
}

/// Tokens go only over https, or plain http to this machine (a local test server).
fn check_transport(api: &str) -> Result<(), Error> {
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if api.starts_with("https://") || loopback.iter().any(|p| api.starts_with(p)) {
        return Ok(());
    }
    Err(Error::setup(format!(
        "forge API `{api}` is not https: a token is sent only over https (or to this machine)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_told_from_repository_urls() {
        assert_eq!(
            from_url("https://x-access-token:t@github.com/acme/env.git"),
            Some((Kind::GitHub, "acme/env".into()))
        );
        assert_eq!(
            from_url("git@github.com:acme/env.git"),
            Some((Kind::GitHub, "acme/env".into()))
        );
        assert_eq!(
            from_url("https://gitlab.example.com/platform/envs/shop.git"),
            Some((Kind::GitLab, "platform/envs/shop".into()))
        );
        assert_eq!(from_url("/srv/env.git"), None);
        assert_eq!(from_url("https://git.example.com/acme/env"), None);
    }

    #[test]
    fn tokens_never_go_over_plain_http_elsewhere() {
        assert!(check_transport("https://api.github.com").is_ok());
        assert!(check_transport("http://127.0.0.1:8080/api/v4").is_ok());
        assert!(check_transport("http://gitlab.example.com/api/v4").is_err());
    }
}
