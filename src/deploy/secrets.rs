//! How rendered Secrets reach a delivery. A git environment repository never gets one in plain
//! text unless the environment opts in: they are SOPS-encrypted, replaced by External Secrets
//! Operator references, or — `mode: plain` — written as they are. A local folder gets them plain.

use std::collections::BTreeMap;
use std::time::SystemTime;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::error::Error;
use super::record::{SecretDigests, timestamp};
use super::sops;
use super::store::Files;
use crate::baseline::{DeliveryKind, Environment, SecretsPolicy};
use crate::diagnostic::{Diagnostic, Severity};
use crate::render::{ManifestSet, Object};
use crate::resolve::Key;

/// The files to deliver (the record excepted) and the record's view of the Secrets.
pub struct Prepared {
    pub files: Files,
    pub digests: SecretDigests,
}

/// The files of a render as they reach `delivery`; a warning for Secrets written plainly to
/// git joins `warnings`.
pub fn prepare(
    set: &ManifestSet,
    environment: &Environment,
    delivery: DeliveryKind,
    app: &str,
    key: &Key,
    now: SystemTime,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Prepared, Error> {
    let secrets: Vec<&Object> = set
        .objects()
        .iter()
        .filter(|o| o.kind() == "Secret")
        .collect();
    let digests = digests(&secrets, key);
    let policy = match (delivery, &environment.secrets) {
        (DeliveryKind::Dir, _) => &SecretsPolicy::Plain,
        (DeliveryKind::Git, Some(policy)) => policy,
        (DeliveryKind::Git, None) if secrets.is_empty() => &SecretsPolicy::Plain,
        (DeliveryKind::Git, None) => return Err(refusal(environment, app, &secrets)),
    };
    let set = match policy {
        SecretsPolicy::External { store, store_kind } => {
            let objects = set
                .objects()
                .iter()
                .map(|o| {
                    if o.kind() == "Secret" {
                        external(o, store, store_kind.as_deref(), &environment.name, app)
                    } else {
                        o.clone()
                    }
                })
                .collect();
            ManifestSet::new(objects, &environment.namespace).map_err(Error::Io)?
        }
        SecretsPolicy::Plain => {
            if delivery == DeliveryKind::Git && !secrets.is_empty() {
                warnings.push(Diagnostic::general(Severity::Warning, format!("environment `{}` writes Secrets to git in plain text (secrets: {{mode: plain}})", environment.name)).with_help("use it for throwaway environments only; choose mode sops or external for anything real"));
            }
            set.clone()
        }
        SecretsPolicy::Sops { .. } => set.clone(),
    };
    let mut files = Files::new();
    for ((name, content), object) in set
        .files()
        .into_iter()
        .zip(set.objects().iter().map(Some).chain(std::iter::once(None)))
    {
        let bytes = match (policy, object) {
            (SecretsPolicy::Sops { age_recipients }, Some(o)) if o.kind() == "Secret" => {
                let encrypted = sops::encrypt(&o.body, age_recipients, &timestamp(now))
                    .map_err(|e| Error::Io(format!("{} `{}`: {e}", o.kind(), o.name())))?;
                crate::yaml::to_string(&encrypted).into_bytes()
            }
            _ => content.into_bytes(),
        };
        files.insert(name, bytes);
    }
    Ok(Prepared { files, digests })
}

/// The ExternalSecret that makes External Secrets Operator create this Secret from the store,
/// each key read from `ENV/APP/SECRET` (property KEY).
fn external(
    secret: &Object,
    store: &str,
    store_kind: Option<&str>,
    env: &str,
    app: &str,
) -> Object {
    let name = secret.name();
    let data: Vec<Value> = secret.body["data"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, _)| json!({"secretKey": key, "remoteRef": {"key": format!("{env}/{app}/{name}"), "property": key}}))
        .collect();
    let mut metadata = secret.body["metadata"].clone();
    if let Some(m) = metadata.as_object_mut() {
        m.remove("annotations");
    }
    Object {
        body: json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": metadata,
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": store, "kind": store_kind.unwrap_or("ClusterSecretStore")},
                "target": {"name": name, "creationPolicy": "Owner", "template": {"type": secret.body["type"].as_str().unwrap_or("Opaque")}},
                "data": data,
            },
        }),
        origin: secret.origin.clone(),
    }
}

/// Refused by policy: the three ways to proceed.
fn refusal(environment: &Environment, app: &str, secrets: &[&Object]) -> Error {
    let names: Vec<&str> = secrets.iter().map(|o| o.name()).collect();
    let message = format!(
        "environment `{}` delivers to git, and app `{app}` has Secrets ({}), but the environment does not say how secrets reach the repository",
        environment.name,
        names.join(", ")
    );
    let help = "add to the environment in environments.yaml one of:\n    secrets: { mode: sops, age_recipients: [age1…] }   # encrypted; Flux and KSOPS decrypt\n    secrets: { mode: external, store: NAME }           # External Secrets Operator references\n    secrets: { mode: plain }                           # plain text: throwaway environments only";
    let diagnostic = match &environment.location {
        Some(at) => at.source.error(at.node.span.start, message),
        None => Diagnostic::general(Severity::Error, message),
    };
    Error::Refused(diagnostic.with_help(help))
}

/// Keyed digests of every Secret value, so a record can tell a change without holding the
/// value. Without a platform key there are none: a plain hash of a weak secret could be
/// reversed, and so could a digest under the public development key (diffs then compare the
/// values themselves where both sides hold them).
/// The environment is not part of the digest: `diff --against-env` must see equal values as
/// equal (a reader of both records learns that two environments share a value, never the value).
fn digests(secrets: &[&Object], key: &Key) -> SecretDigests {
    let Key::Platform(key) = key else {
        return BTreeMap::new();
    };
    secrets
        .iter()
        .map(|o| {
            let values = o.body["data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let mut mac =
                        Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
                    for part in [
                        "scoreline-secret-digest-v2",
                        o.name(),
                        k,
                        v.as_str().unwrap_or_default(),
                    ] {
                        mac.update(part.as_bytes());
                        mac.update(&[0]);
                    }
                    let digest: String = mac
                        .finalize()
                        .into_bytes()
                        .iter()
                        .take(8)
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    (k.clone(), digest)
                })
                .collect();
            (o.name().to_owned(), values)
        })
        .collect()
}
