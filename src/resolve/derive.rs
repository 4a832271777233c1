//! Derived secrets: HMAC-SHA256 of the platform key and the resource's identity, so passwords
//! are stable run after run with no state store, differ per environment and resource, and
//! cannot be recomputed without the key.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::baseline::Environment;
use crate::diagnostic::{Diagnostic, Severity};

/// Used when `SCORELINE_KEY` is unset, for development and preview environments only: it is
/// public, so anything derived from it is too.
const DEVELOPMENT_KEY: &str = "scoreline-development-key: public, never for real environments";

/// The shortest platform key accepted, in bytes: as long as the HMAC-SHA256 output, so the key
/// is no easier to guess than a digest it makes.
pub const MIN_KEY_BYTES: usize = 32;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub const MAX_LENGTH: usize = 256;

/// The platform key, as the resolver found it.
#[derive(Clone)]
pub enum Key {
    Platform(Vec<u8>),
    /// `SCORELINE_KEY` is unset.
    Missing,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, not even in debug output.
        f.write_str(match self {
            Key::Platform(_) => "Key::Platform(<redacted>)",
            Key::Missing => "Key::Missing",
        })
    }
}

impl Key {
    /// A MAC for digests of rendered content (a pod's config hash, a render's id), so that a
    /// digest written to git cannot confirm a guessed secret offline. Without a platform key
    /// the public development key stands in, and renders stay reproducible: see
    /// `covers_secrets` for what such a digest may then cover.
    pub fn content_mac(&self, purpose: &str) -> Hmac<Sha256> {
        let key = match self {
            Key::Platform(k) => k.as_slice(),
            Key::Missing => DEVELOPMENT_KEY.as_bytes(),
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac
    }

    /// Whether a digest under this key may cover secret values: only under the platform key.
    /// The development key is public, so a digest under it would let anyone confirm a guessed
    /// value offline.
    pub fn covers_secrets(&self) -> bool {
        matches!(self, Key::Platform(_))
    }

    /// Whether this key may key what is rendered for `environment` (the render's digest, a
    /// deployment's record id, config hashes, Secret digests, derived secrets): a key shorter
    /// than `MIN_KEY_BYTES` never may; none at all (the public development key standing in)
    /// only where the environment allows it and writes its Secrets in plain anyway. The refusal
    /// never shows the key.
    pub fn check(&self, environment: &Environment) -> Result<(), Diagnostic> {
        match self {
            Key::Platform(k) if k.len() < MIN_KEY_BYTES => Err(Diagnostic::general(
                Severity::Error,
                format!(
                    "SCORELINE_KEY is {} bytes long: the platform key must be at least {MIN_KEY_BYTES} bytes, or the digests and secrets it keys can be guessed",
                    k.len()
                ),
            )
            .with_help(
                "generate one (e.g. `openssl rand -base64 32`) and set it from the CI secret store",
            )),
            Key::Missing
                if !environment.allows_development_key() || environment.hides_secrets() =>
            {
                let message = if environment.allows_development_key() {
                    format!(
                        "SCORELINE_KEY is not set: environment `{}` keeps its Secrets out of plain sight (`secrets.mode`), and a record id keyed by the public development key would let anyone who reads the repository confirm a guessed secret value",
                        environment.name
                    )
                } else {
                    format!(
                        "SCORELINE_KEY is not set: environment `{}` (type `{}`) keys what it writes (the render's digest, record ids, config hashes, Secret digests) with the platform key; only development and preview environments may use the public development key",
                        environment.name, environment.env_type
                    )
                };
                let diagnostic = match &environment.location {
                    Some(at) => at.source.error(at.node.span.start, message),
                    None => Diagnostic::general(Severity::Error, message),
                };
                Err(diagnostic.with_help(format!(
                    "set it from the CI secret store: a random string of at least {MIN_KEY_BYTES} bytes (e.g. `openssl rand -base64 32`)"
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn from_env() -> Key {
        match std::env::var("SCORELINE_KEY") {
            Ok(k) if !k.is_empty() => {
                crate::secret::register(&k, "SCORELINE_KEY");
                Key::Platform(k.into_bytes())
            }
            _ => Key::Missing,
        }
    }
}

/// Why a secret could not be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The key is missing and the environment is not development or preview.
    NoKey,
    Length(usize),
}

/// Derives `length` characters of [A-Za-z0-9] for one purpose of one resource in one
/// environment. `allow_development_key` says whether the public key may stand in.
pub fn derive(
    key: &Key,
    allow_development_key: bool,
    environment: &str,
    uid: &str,
    purpose: &str,
    length: usize,
) -> Result<String, Refusal> {
    if length == 0 || length > MAX_LENGTH {
        return Err(Refusal::Length(length));
    }
    let key = match key {
        Key::Platform(k) => k.as_slice(),
        Key::Missing if allow_development_key => DEVELOPMENT_KEY.as_bytes(),
        Key::Missing => return Err(Refusal::NoKey),
    };
    let mut out = String::with_capacity(length);
    for counter in 0u32.. {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        for part in ["scoreline-derive-v1", environment, uid, purpose] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        mac.update(&counter.to_be_bytes());
        // Rejection sampling keeps every character equally likely (248 = 4 × 62).
        for byte in mac.finalize().into_bytes() {
            if byte < 248 {
                out.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
                if out.len() == length {
                    return Ok(out);
                }
            }
        }
    }
    unreachable!("the counter loop returns once enough characters are drawn")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_are_stable_and_distinct() {
        let key = Key::Platform(b"k".to_vec());
        let a = derive(
            &key,
            false,
            "prod",
            "postgres.default#shop.db",
            "password",
            24,
        )
        .unwrap();
        assert_eq!(
            a,
            derive(
                &key,
                false,
                "prod",
                "postgres.default#shop.db",
                "password",
                24
            )
            .unwrap()
        );
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(
            a,
            derive(
                &key,
                false,
                "staging",
                "postgres.default#shop.db",
                "password",
                24
            )
            .unwrap()
        );
        assert_ne!(
            a,
            derive(
                &key,
                false,
                "prod",
                "postgres.default#shop.db",
                "username",
                24
            )
            .unwrap()
        );
        assert_ne!(
            a,
            derive(
                &Key::Platform(b"other".to_vec()),
                false,
                "prod",
                "postgres.default#shop.db",
                "password",
                24
            )
            .unwrap()
        );
        assert_eq!(derive(&key, false, "e", "u", "p", 200).unwrap().len(), 200);
    }

    #[test]
    fn the_development_key_is_only_for_development() {
        assert!(derive(&Key::Missing, true, "dev", "u", "p", 8).is_ok());
        assert_eq!(
            derive(&Key::Missing, false, "prod", "u", "p", 8),
            Err(Refusal::NoKey)
        );
        assert_eq!(
            derive(&Key::Missing, true, "dev", "u", "p", 0),
            Err(Refusal::Length(0))
        );
    }
}
