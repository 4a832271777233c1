//! Environments: where a workload is rendered for (name, type, namespace) and delivered to.

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use crate::yaml::{Located, Node};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Environment {
    pub name: String,
    #[serde(rename = "type")]
    pub env_type: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// How Secrets reach a git environment repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretsPolicy>,
    /// Its forge: the environment repository's project, deployment statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge: Option<crate::forge::Settings>,
    /// Where the deployed app is reached (`https://{app}.{env}.example.com`), for people and
    /// later CI steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A preview pattern's lifetime (`72h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Where the entry is in environments.yaml.
    #[serde(skip)]
    pub location: Option<Located>,
    /// Where its `delivery` is, for messages about where it delivers.
    #[serde(skip)]
    pub delivery_location: Option<Located>,
    /// Where its `delivery.repo` is, for messages that ask to change it.
    #[serde(skip)]
    pub repo_location: Option<Located>,
    /// For an instance of a preview pattern (`pr-123`), the pattern's name (`pr-{n}`).
    #[serde(skip)]
    pub pattern: Option<String>,
}

/// How Secrets reach a git environment repository.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum SecretsPolicy {
    /// SOPS-encrypted with age for these recipients.
    Sops { age_recipients: Vec<String> },
    /// External Secrets Operator references into a secret store.
    External {
        store: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store_kind: Option<String>,
    },
    /// Plain Secrets: an explicit opt-in for throwaway environments.
    Plain,
}

/// What `{n}` in a preview pattern stands for.
const INSTANCE_PART: fn(char) -> bool = |c| c.is_ascii_lowercase() || c.is_ascii_digit();

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Delivery {
    pub kind: DeliveryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub path: String,
    /// How a git delivery lands: pushed to the branch, or proposed as a pull/merge request.
    #[serde(default, skip_serializing_if = "DeliveryMode::is_push")]
    pub mode: DeliveryMode,
    /// For a pull/merge request: the forge merges it once its checks pass.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_merge: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    #[default]
    Push,
    PullRequest,
}

impl DeliveryMode {
    fn is_push(&self) -> bool {
        *self == DeliveryMode::Push
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    Dir,
    Git,
}

impl Environment {
    /// A preview pattern like `pr-{n}`: not an environment itself, but instantiated by name.
    pub fn is_pattern(&self) -> bool {
        self.name.contains("{n}")
    }

    /// This pattern's instance named `name` (`pr-{n}` and `pr-123`), with `{n}` replaced in
    /// the namespace too.
    pub fn instantiate(&self, name: &str) -> Option<Environment> {
        let (prefix, suffix) = self.name.split_once("{n}")?;
        let n = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
        if n.is_empty() || !n.chars().all(INSTANCE_PART) || name.len() > 63 {
            return None;
        }
        let mut instance = self.clone();
        instance.name = name.to_owned();
        instance.namespace = self.namespace.replace("{n}", n);
        instance.pattern = Some(self.name.clone());
        Some(instance)
    }

    /// The environment's URL for `app`, `{app}`, `{env}` and (a preview instance's) `{n}`
    /// filled in.
    pub fn url(&self, app: &str) -> Option<String> {
        let template = self.url.as_deref()?;
        let n = self
            .pattern
            .as_deref()
            .and_then(|p| p.split_once("{n}"))
            .and_then(|(prefix, suffix)| self.name.strip_prefix(prefix)?.strip_suffix(suffix))
            .unwrap_or_default();
        Some(
            template
                .replace("{app}", app)
                .replace("{env}", &self.name)
                .replace("{n}", n),
        )
    }

    /// The preview lifetime, if the environment has one.
    pub fn ttl(&self) -> Option<std::time::Duration> {
        humantime::parse_duration(self.ttl.as_deref()?).ok()
    }

    /// Development and preview environments may use the fixed development key for derived
    /// secrets; every other type needs the platform key.
    pub fn allows_development_key(&self) -> bool {
        matches!(self.env_type.as_str(), "development" | "preview")
    }

    /// Whether its Secrets reach git hidden (SOPS-encrypted, or left to External Secrets): then
    /// no digest of them may be keyed by the public development key, which would let anyone who
    /// reads the repository confirm a guessed value offline.
    pub fn hides_secrets(&self) -> bool {
        matches!(
            self.secrets,
            Some(SecretsPolicy::Sops { .. } | SecretsPolicy::External { .. })
        )
    }
}

/// The entries of an environments.yaml document, each with its name.
pub(super) fn entries(document: &Node) -> Vec<(&str, &Node)> {
    document
        .get("environments")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.get("name").and_then(Node::as_str).unwrap_or_default(), e))
        .collect()
}

/// Every environment `url` names only the placeholders it can fill: `{app}`, `{env}`, and `{n}`
/// in a preview pattern.
pub(super) fn check_urls(source: &SourceFile, document: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (name, environment) in entries(document) {
        let Some(node) = environment.get("url") else {
            continue;
        };
        let url = node.as_str().unwrap_or_default();
        let mut rest = url;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let placeholder = &rest[open..open + close + 1];
            rest = &rest[open + close + 1..];
            let allowed = match placeholder {
                "{app}" | "{env}" => true,
                "{n}" => name.contains("{n}"),
                _ => false,
            };
            if !allowed {
                let why = if placeholder == "{n}" {
                    "`{n}` only stands for something in a preview pattern (a name with `{n}`)"
                } else {
                    "the placeholders are {app}, {env} and, in a preview pattern, {n}"
                };
                out.push(
                    source
                        .error(
                            node.span.start,
                            format!(
                                "url `{url}` of environment `{name}` has `{placeholder}`: {why}"
                            ),
                        )
                        .with_help("e.g. `url: \"https://{app}.{env}.example.com\"`"),
                );
            }
        }
    }
    out
}
