//! Authorization for one request that spans two repositories: a cross-repository mount needs
//! push on the target and pull on the source in the same token (Docker registry token auth, the
//! `scope` parameter repeated), while oci-client only ever asks for one repository's scope.
//! Registries without tokens get Basic credentials or nothing, as their `/v2/` answer asks.

use std::time::{Duration, Instant};

use base64::Engine;
use http::header::WWW_AUTHENTICATE;

use super::auth::Credentials;

/// What requests must carry, and until when.
#[derive(Clone)]
pub struct Grant {
    /// The `Authorization` header value; none when the registry wants none.
    pub header: Option<String>,
    /// When a bearer token runs out; none for credentials that do not.
    pub until: Option<Instant>,
}

impl Grant {
    pub fn valid(&self) -> bool {
        self.until.is_none_or(|until| Instant::now() < until)
    }
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The grant for `scopes` (`repository:NAME:ACTIONS`) on the registry at `base_url`; none when
/// it cannot be had (the caller then does without: a mount falls back to an upload).
pub async fn grant(
    http: &reqwest::Client,
    base_url: &str,
    credentials: &Credentials,
    scopes: &[String],
) -> Option<Grant> {
    let probe = http.get(format!("{base_url}/v2/")).send().await.ok()?;
    if probe.status().is_success() {
        return Some(Grant {
            header: None,
            until: None,
        });
    }
    let challenges = probe.headers().get(WWW_AUTHENTICATE)?.to_str().ok()?;
    let challenges = http_auth::parse_challenges(challenges).ok()?;
    let basic = match credentials {
        Credentials::Basic { username, password } => Some((username, password)),
        Credentials::Anonymous => None,
    };
    if let Some(bearer) = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
    {
        let param = |name: &str| {
            bearer
                .params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.to_unescaped())
        };
        let mut query: Vec<(&str, String)> = scopes.iter().map(|s| ("scope", s.clone())).collect();
        if let Some(service) = param("service") {
            query.push(("service", service));
        }
        let mut request = http.get(param("realm")?).query(&query);
        if let Some((username, password)) = basic {
            request = request.basic_auth(username, Some(password));
        }
        let answer = request.send().await.ok()?;
        if !answer.status().is_success() {
            return None;
        }
        let answer: TokenAnswer = answer.json().await.ok()?;
        // The spec's default lifetime is 60 s; the margin keeps a token from running out in flight.
        let lifetime = answer.expires_in.unwrap_or(60).saturating_sub(10);
        return Some(Grant {
            header: Some(format!("Bearer {}", answer.token.or(answer.access_token)?)),
            until: Some(Instant::now() + Duration::from_secs(lifetime)),
        });
    }
    let (username, password) = basic?;
    challenges
        .iter()
        .any(|c| c.scheme.eq_ignore_ascii_case("basic"))
        .then(|| Grant {
            header: Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            until: None,
        })
}
