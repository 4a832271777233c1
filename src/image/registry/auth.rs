//! Registry credentials, found where people already keep them: `REGISTRY_USERNAME` /
//! `REGISTRY_PASSWORD` (for the registry `REGISTRY` names, else only those pushed to), GitLab's `CI_REGISTRY*` for its registry, GitHub's `GITHUB_TOKEN` for
//! ghcr.io, then Docker's config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
//! `credHelpers`, `auths` and `credsStore`. A missing home folder (Jenkins agents) is fine.
//! Credentials are never printed: their Debug output is redacted.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

impl Credentials {
    pub fn to_registry_auth(&self) -> oci_client::secrets::RegistryAuth {
        match self {
            Credentials::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => {
                oci_client::secrets::RegistryAuth::Basic(username.clone(), password.clone())
            }
        }
    }

    /// The secret part, for redaction in messages.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Credentials::Anonymous => None,
            Credentials::Basic { password, .. } => Some(password),
        }
    }
}

/// Credentials for a registry host (`ghcr.io`, `registry.example.com:5000`, `docker.io`);
/// `pushed_to`: the hosts of the tags being pushed.
pub fn for_registry(host: &str, pushed_to: &[String]) -> Credentials {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = choose(host, pushed_to, &var, docker_config);
    if let Some(secret) = credentials.secret() {
        crate::secret::register(secret, &format!("the credentials for {host}"));
    }
    credentials
}

/// The choice itself, given the environment (`var`) and Docker's config, read only if needed.
fn choose(
    host: &str,
    pushed_to: &[String],
    var: &dyn Fn(&str) -> Option<String>,
    docker_config: impl FnOnce() -> Option<Value>,
) -> Credentials {
    let basic = |username: String, password: String| Credentials::Basic { username, password };
    if generic_applies(host, var("REGISTRY").as_deref(), pushed_to)
        && let (Some(user), Some(password)) = (var("REGISTRY_USERNAME"), var("REGISTRY_PASSWORD"))
    {
        return basic(user, password);
    }
    if var("CI_REGISTRY").as_deref() == Some(host)
        && let (Some(user), Some(password)) = (var("CI_REGISTRY_USER"), var("CI_REGISTRY_PASSWORD"))
    {
        return basic(user, password);
    }
    if host == "ghcr.io"
        && let Some(token) = var("GITHUB_TOKEN")
    {
        return basic(var("GITHUB_ACTOR").unwrap_or_else(|| "token".into()), token);
    }
    docker_config()
        .and_then(|config| from_docker_config(&config, host))
        .unwrap_or(Credentials::Anonymous)
}

/// Whether REGISTRY_USERNAME/REGISTRY_PASSWORD go to `host`: the registry `REGISTRY` names, else
/// the ones pushed to. Sent to a base image's registry (docker.io, say) they would leak, and could
/// turn an anonymous pull into a refused one.
fn generic_applies(host: &str, registry: Option<&str>, pushed_to: &[String]) -> bool {
    match registry {
        Some(named) => same_host(named, host),
        None => pushed_to.iter().any(|p| same_host(p, host)),
    }
}

/// `docker.io`, `index.docker.io` and `https://registry-1.docker.io/` are one registry.
fn same_host(a: &str, b: &str) -> bool {
    let bare = |h: &str| {
        let h = h
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let h = h.trim_end_matches('/');
        match h {
            "docker.io" | "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
            other => other.to_ascii_lowercase(),
        }
    };
    bare(a) == bare(b)
}

fn docker_config() -> Option<Value> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".docker"))
        })?;
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()
}

/// The names Docker's config may use for a host (Docker Hub has several).
fn keys(host: &str) -> Vec<String> {
    let mut keys = vec![
        host.to_owned(),
        format!("https://{host}"),
        format!("http://{host}"),
        format!("https://{host}/v1/"),
        format!("https://{host}/v2/"),
    ];
    if matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    ) {
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "docker.io",
                "registry-1.docker.io",
            ]
            .map(String::from),
        );
    }
    keys
}

fn from_docker_config(config: &Value, host: &str) -> Option<Credentials> {
    let keys = keys(host);
    if let Some(helper) = keys.iter().find_map(|k| config["credHelpers"][k].as_str()) {
        return helper_get(helper, host);
    }
    for key in &keys {
        let entry = &config["auths"][key];
        if let Some(encoded) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (username, password) = text.split_once(':')?;
            return Some(Credentials::Basic {
                username: username.into(),
                password: password.into(),
            });
        }
        if let (Some(username), Some(password)) =
            (entry["username"].as_str(), entry["password"].as_str())
        {
            return Some(Credentials::Basic {
                username: username.into(),
                password: password.into(),
            });
        }
    }
    config["credsStore"]
        .as_str()
        .and_then(|store| helper_get(store, host))
}

/// `docker-credential-HELPER get`, with the server on stdin, as Docker does.
fn helper_get(helper: &str, host: &str) -> Option<Credentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(host.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let answer: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(Credentials::Basic {
        username: answer["Username"].as_str()?.into(),
        password: answer["Secret"].as_str()?.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_credentials_go_only_to_registry_or_else_the_hosts_pushed_to() {
        let pushed = ["registry.example.com:5000".to_owned()];
        assert!(generic_applies("registry.example.com:5000", None, &pushed));
        assert!(!generic_applies("index.docker.io", None, &pushed));
        assert!(generic_applies(
            "index.docker.io",
            Some("https://docker.io/"),
            &pushed
        ));
        assert!(
            !generic_applies("registry.example.com:5000", Some("ghcr.io"), &pushed),
            "REGISTRY narrows them to one host"
        );
    }

    #[test]
    fn docker_config_entries_are_read() {
        let config = serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": {"auth": base64::engine::general_purpose::STANDARD.encode("hub:pw")},
                "registry.example.com:5000": {"username": "u", "password": "p"}
            }
        });
        assert_eq!(
            from_docker_config(&config, "docker.io"),
            Some(Credentials::Basic {
                username: "hub".into(),
                password: "pw".into()
            })
        );
        assert_eq!(
            from_docker_config(&config, "registry.example.com:5000"),
            Some(Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        assert_eq!(from_docker_config(&config, "ghcr.io"), None);
        assert_eq!(
            format!(
                "{:?}",
                Credentials::Basic {
                    username: "u".into(),
                    password: "hunter2".into()
                }
            ),
            "Basic(u, <redacted>)"
        );
    }

    fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// What `choose` picks for `host` in an environment of `vars` (no Docker config).
    fn chosen(host: &str, pushed_to: &[&str], vars: &[(&str, &str)]) -> Credentials {
        let pushed: Vec<String> = pushed_to.iter().map(|p| (*p).to_owned()).collect();
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        choose(host, &pushed, &var, || None)
    }

    #[test]
    fn github_token_goes_to_ghcr_io_only_as_github_actor_or_token() {
        let github = [("GITHUB_TOKEN", "ghs_secret"), ("GITHUB_ACTOR", "octocat")];
        assert_eq!(
            chosen("ghcr.io", &["ghcr.io"], &github),
            basic("octocat", "ghs_secret")
        );
        assert_eq!(
            chosen("ghcr.io", &["ghcr.io"], &github[..1]),
            basic("token", "ghs_secret"),
            "any user name does for a GITHUB_TOKEN"
        );
        for other in ["docker.io", "registry.example.com", "ghcr.io.example.com"] {
            assert_eq!(
                chosen(other, &[other], &github),
                Credentials::Anonymous,
                "{other} never gets the GitHub token"
            );
        }
    }

    #[test]
    fn explicit_and_gitlab_credentials_come_before_the_github_token() {
        let all = [
            ("GITHUB_TOKEN", "ghs_secret"),
            ("REGISTRY_USERNAME", "robot"),
            ("REGISTRY_PASSWORD", "robot-pw"),
            ("CI_REGISTRY", "registry.gitlab.com"),
            ("CI_REGISTRY_USER", "gitlab-ci-token"),
            ("CI_REGISTRY_PASSWORD", "job-token"),
        ];
        assert_eq!(
            chosen("ghcr.io", &["ghcr.io"], &all),
            basic("robot", "robot-pw"),
            "pushed to ghcr.io: REGISTRY_USERNAME/REGISTRY_PASSWORD"
        );
        assert_eq!(
            chosen("ghcr.io", &["registry.example.com"], &all),
            basic("token", "ghs_secret"),
            "a base image on ghcr.io, pushed elsewhere: the GitHub token"
        );
        assert_eq!(
            chosen("registry.gitlab.com", &["registry.example.com"], &all),
            basic("gitlab-ci-token", "job-token")
        );
    }

    #[test]
    fn docker_config_is_read_only_when_the_environment_has_nothing() {
        let config = || {
            Some(
                serde_json::json!({"auths": {"ghcr.io": {"username": "from-config", "password": "p"}}}),
            )
        };
        let none = |_: &str| None;
        assert_eq!(
            choose("ghcr.io", &[], &none, config),
            basic("from-config", "p")
        );
        let token = |name: &str| (name == "GITHUB_TOKEN").then(|| "ghs_secret".to_owned());
        assert_eq!(
            choose("ghcr.io", &[], &token, || panic!("not read")),
            basic("token", "ghs_secret")
        );
    }
}
