//! Where a deployment comes from: the source repository and commit, the CI run, and who
//! started it — from the CI system's variables, or from git when run by hand.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::System;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// `github`, `gitlab`, `jenkins` or `local`.
    pub system: String,
    /// The commit author for environment-repository commits (not recorded).
    #[serde(skip)]
    pub author: Option<(String, String)>,
}

impl Provenance {
    /// From the environment of this process, with git in `workspace` filling the gaps.
    pub fn detect(workspace: &Path) -> Provenance {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut p = Self::from_env(&System::detect(), var);
        if p.commit.is_none() {
            p.commit = git(workspace, &["rev-parse", "HEAD"]);
        }
        if p.repository.is_none() {
            p.repository =
                git(workspace, &["remote", "get-url", "origin"]).map(|u| without_credentials(&u));
        }
        if p.actor.is_none() {
            p.actor =
                git(workspace, &["config", "user.name"]).or_else(|| std::env::var("USER").ok());
        }
        p
    }

    /// The page of this run of `system`'s CI, from the process environment.
    pub fn run_url(system: &System) -> Option<String> {
        Provenance::from_env(system, |n| std::env::var(n).ok().filter(|v| !v.is_empty())).run_url
    }

    pub fn from_env(system: &System, var: impl Fn(&str) -> Option<String>) -> Provenance {
        match system {
            System::GitHub { .. } => {
                let server =
                    var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
                let repository = var("GITHUB_REPOSITORY").map(|r| format!("{server}/{r}"));
                let run_url = match (&repository, var("GITHUB_RUN_ID")) {
                    (Some(repo), Some(run)) => Some(format!("{repo}/actions/runs/{run}")),
                    _ => None,
                };
                let actor = var("GITHUB_ACTOR");
                let author = actor.clone().map(|a| {
                    let email = match var("GITHUB_ACTOR_ID") {
                        Some(id) => format!("{id}+{a}@users.noreply.github.com"),
                        None => format!("{a}@users.noreply.github.com"),
                    };
                    (a, email)
                });
                Provenance {
                    repository,
                    commit: var("GITHUB_SHA"),
                    run_url,
                    actor,
                    system: "github".into(),
                    author,
                }
            }
            System::GitLab => Provenance {
                repository: var("CI_PROJECT_URL"),
                commit: var("CI_COMMIT_SHA"),
                run_url: var("CI_JOB_URL").or_else(|| var("CI_PIPELINE_URL")),
                actor: var("GITLAB_USER_LOGIN"),
                system: "gitlab".into(),
                author: var("GITLAB_USER_NAME").zip(var("GITLAB_USER_EMAIL")),
            },
            System::Jenkins => Provenance {
                repository: var("GIT_URL").map(|u| without_credentials(&u)),
                commit: var("GIT_COMMIT"),
                run_url: var("BUILD_URL"),
                actor: var("BUILD_USER_ID").or_else(|| var("CHANGE_AUTHOR")),
                system: "jenkins".into(),
                author: var("GIT_AUTHOR_NAME").zip(var("GIT_AUTHOR_EMAIL")),
            },
            System::Local => Provenance {
                system: "local".into(),
                ..Provenance::default()
            },
        }
    }

    /// The name and email environment-repository commits are made as.
    pub fn author(&self) -> (String, String) {
        self.author.clone().unwrap_or_else(|| {
            let name = self.actor.clone().unwrap_or_else(|| "scoreline".into());
            (name, "scoreline@localhost".into())
        })
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `https://user:token@host/repo?private_token=…` → `https://host/repo`: credentials never reach
/// a record, a commit message or a plan.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let rest = without_userinfo(rest);
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (rest, None),
    };
    let mut out = format!("{scheme}://");
    match rest.split_once('?') {
        Some((before, query)) => {
            out.push_str(before);
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    !pair.is_empty() && !is_credential(pair.split('=').next().unwrap_or(""))
                })
                .collect();
            if !kept.is_empty() {
                out.push('?');
                out.push_str(&kept.join("&"));
            }
        }
        None => out.push_str(rest),
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// What follows `scheme://`, without its userinfo. People paste passwords unencoded, with a raw
/// `/`, `@` or `?` in them, so the userinfo does not end at the first `/`: it ends at the first
/// `@` followed by something that reads as a host, or else at the last `@` (losing part of an
/// odd URL is better than keeping part of a password).
fn without_userinfo(rest: &str) -> &str {
    if !rest.contains('@') {
        return rest;
    }
    fn authority(text: &str) -> &str {
        &text[..text.find(['/', '?', '#']).unwrap_or(text.len())]
    }
    let first = authority(rest);
    if !first.contains('@') && is_host(first) {
        return rest;
    }
    rest.match_indices('@')
        .map(|(i, _)| &rest[i + 1..])
        .find(|after| is_host(authority(after)))
        .or_else(|| rest.rsplit_once('@').map(|(_, after)| after))
        .unwrap_or(rest)
}

/// Whether `text` reads as `host[:port]`: a name with a dot (or `localhost`), a name with a
/// port, or a bracketed IPv6 address.
fn is_host(text: &str) -> bool {
    let (name, port) = match text.strip_prefix('[') {
        Some(ipv6) => match ipv6.split_once(']') {
            Some((_, rest)) => ("[v6]", rest.strip_prefix(':')),
            None => return false,
        },
        None => match text.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        },
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']'));
    port_ok && name_ok && (name.contains('.') || name == "localhost" || port.is_some())
}

/// Whether a query parameter's name says it carries a credential (`private_token`,
/// `access_token`, `password`, `X-Amz-Signature`, `sig`, …).
fn is_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "pass",
        "pwd",
        "secret",
        "key",
        "auth",
        "signature",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name == "sig"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_ci_system() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let gh = Provenance::from_env(
            &System::GitHub { workspace: None },
            env(&[
                ("GITHUB_REPOSITORY", "acme/shop"),
                ("GITHUB_SHA", "abc"),
                ("GITHUB_RUN_ID", "42"),
                ("GITHUB_ACTOR", "ada"),
                ("GITHUB_ACTOR_ID", "7"),
            ]),
        );
        assert_eq!(
            gh.repository.as_deref(),
            Some("https://github.com/acme/shop")
        );
        assert_eq!(
            gh.run_url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/42")
        );
        assert_eq!(
            gh.author(),
            ("ada".into(), "7+ada@users.noreply.github.com".into())
        );
        let gl = Provenance::from_env(
            &System::GitLab,
            env(&[
                ("CI_PROJECT_URL", "https://gitlab.com/acme/shop"),
                ("CI_JOB_URL", "https://gitlab.com/acme/shop/-/jobs/9"),
            ]),
        );
        assert_eq!(
            gl.run_url.as_deref(),
            Some("https://gitlab.com/acme/shop/-/jobs/9")
        );
        assert_eq!(
            Provenance::from_env(&System::Local, env(&[])).author().1,
            "scoreline@localhost"
        );
    }

    #[test]
    fn credentials_never_stay_in_urls() {
        assert_eq!(
            without_credentials("https://x-access-token:ghs_secret@github.com/acme/env.git"),
            "https://github.com/acme/env.git"
        );
        assert_eq!(
            without_credentials("git@github.com:acme/env.git"),
            "git@github.com:acme/env.git"
        );
        for (url, clean) in [
            // A raw `/`, `@` and `?` in a password.
            (
                "https://ci:pa/ss@git.example.com/acme/env.git",
                "https://git.example.com/acme/env.git",
            ),
            (
                "https://ci:p@ss/w?rd@gitea:3000/env.git",
                "https://gitea:3000/env.git",
            ),
            (
                "https://tok/en@localhost/env.git",
                "https://localhost/env.git",
            ),
            ("https://u:p@[::1]:8080/env", "https://[::1]:8080/env"),
            // Credentials in the query; other parameters and the fragment stay.
            (
                "https://gitlab.example.com/acme/env.git?private_token=glpat-x&ref=main#top",
                "https://gitlab.example.com/acme/env.git?ref=main#top",
            ),
            (
                "https://h.example.com/e?access_token=a&X-Amz-Signature=b&sig=c",
                "https://h.example.com/e",
            ),
            // An `@` in the path of a URL without credentials is kept.
            (
                "https://registry.example.com/@scope/pkg",
                "https://registry.example.com/@scope/pkg",
            ),
            (
                "https://u:t@host.example.com/@scope/pkg",
                "https://host.example.com/@scope/pkg",
            ),
            ("https://host.example.com", "https://host.example.com"),
            ("file:///srv/env.git", "file:///srv/env.git"),
        ] {
            assert_eq!(without_credentials(url), clean, "{url}");
        }
    }
}
