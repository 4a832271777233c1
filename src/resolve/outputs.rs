//! A provisioned resource's outputs, each known to be secret or not.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::score::placeholder::{self, LookupError};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    /// Always a JSON object.
    values: Value,
    /// The same outputs with every secret they were built from replaced by its shadow (see
    /// `shadow`): what dependent resources are run with to learn what they build from secrets.
    shadow: Value,
    /// Top-level keys whose values are secret: declared so, or built from a secret.
    secret: BTreeSet<String>,
}

/// What a driver returned, and what its shadow run returned (if it had one).
pub struct Returned {
    pub outputs: Map<String, Value>,
    pub secrets: Map<String, Value>,
    pub shadow: Shadowed,
}

pub enum Shadowed {
    /// Neither its inputs nor what it read held a secret: equal to the real outputs.
    Untouched,
    /// It was run again with shadowed inputs.
    Ran {
        outputs: Map<String, Value>,
        secrets: Map<String, Value>,
    },
    /// It was given secrets but cannot be run twice (a `cmd` program): every output may hold one.
    Opaque,
}

impl Outputs {
    /// Outputs and secret outputs; a key in both is the driver's mistake, reported by the caller.
    /// An output whose shadow differs was built from a secret and is secret too; a declared
    /// secret always has a shadow of its own, so what is built from it is tracked.
    pub fn new(returned: Returned) -> Outputs {
        let Returned {
            outputs,
            secrets,
            shadow,
        } = returned;
        let opaque = matches!(shadow, Shadowed::Opaque);
        let (shadow_outputs, mut shadow_secrets) = match shadow {
            Shadowed::Ran { outputs, secrets } => (Some(outputs), secrets),
            Shadowed::Untouched | Shadowed::Opaque => (None, Map::new()),
        };
        let mut values = Map::new();
        let mut shadows = Map::new();
        let mut secret = BTreeSet::new();
        for (key, value) in outputs {
            let twin = match &shadow_outputs {
                Some(map) => map
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| super::shadow::shadow(&value)),
                None if opaque => super::shadow::shadow(&value),
                None => value.clone(),
            };
            if twin != value {
                secret.insert(key.clone());
            }
            shadows.insert(key.clone(), twin);
            values.insert(key, value);
        }
        for (key, value) in secrets {
            let twin = shadow_secrets
                .remove(&key)
                .filter(|twin| *twin != value)
                .unwrap_or_else(|| super::shadow::shadow(&value));
            secret.insert(key.clone());
            shadows.insert(key.clone(), twin);
            values.insert(key, value);
        }
        Outputs {
            values: Value::Object(values),
            shadow: Value::Object(shadows),
            secret,
        }
    }

    /// The value at a key path, and whether it is secret.
    pub fn lookup(&self, keys: &[String]) -> Result<(&Value, bool), LookupError> {
        let value = placeholder::lookup(&self.values, keys)?;
        Ok((value, keys.first().is_some_and(|k| self.secret.contains(k))))
    }

    /// The shadow of the value at a key path.
    pub fn shadow_lookup(&self, keys: &[String]) -> Result<&Value, LookupError> {
        placeholder::lookup(&self.shadow, keys)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.values.as_object().into_iter().flat_map(Map::keys)
    }

    pub fn has_secrets(&self) -> bool {
        !self.secret.is_empty()
    }

    /// Every value, secrets included, for templates of dependent resources.
    pub fn to_json(&self) -> Value {
        self.values.clone()
    }

    /// Every value's shadow, for the shadow run of dependent resources.
    pub fn shadow_json(&self) -> Value {
        self.shadow.clone()
    }

    /// The secret values as text, so CI logs can mask them.
    pub fn secret_texts(&self) -> Vec<String> {
        self.secret_texts_by_key()
            .into_iter()
            .flat_map(|(_, texts)| texts)
            .collect()
    }

    /// The secret values as text, by output key.
    pub fn secret_texts_by_key(&self) -> Vec<(&String, Vec<String>)> {
        self.secret
            .iter()
            .map(|key| {
                let mut texts = Vec::new();
                collect_texts(&self.values[key], &mut texts);
                (key, texts)
            })
            .collect()
    }
}

fn collect_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_texts(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_texts(v, out)),
        Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}
