//! A provisioned resource's outputs, each known to be secret or not.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::score::placeholder::{self, LookupError};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    /// Always a JSON object.
    values: Value,
    /// Top-level keys whose values are secret.
    secret: BTreeSet<String>,
}

impl Outputs {
    /// Outputs and secret outputs; a key in both is the driver's mistake, reported by the caller.
    pub fn new(outputs: Map<String, Value>, secrets: Map<String, Value>) -> Outputs {
        let mut values = outputs;
        let secret = secrets.keys().cloned().collect();
        values.extend(secrets);
        Outputs {
            values: Value::Object(values),
            secret,
        }
    }

    /// Marks every output secret: a resource whose inputs held a secret may leak it anywhere.
    pub fn all_secret(mut self) -> Outputs {
        self.secret = self.keys().cloned().collect();
        self
    }

    /// The value at a key path, and whether it is secret.
    pub fn lookup(&self, keys: &[String]) -> Result<(&Value, bool), LookupError> {
        let value = placeholder::lookup(&self.values, keys)?;
        Ok((value, keys.first().is_some_and(|k| self.secret.contains(k))))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.values.as_object().into_iter().flat_map(Map::keys)
    }

    pub fn is_secret(&self, key: &str) -> bool {
        self.secret.contains(key)
    }

    /// Every value, secrets included, for templates of dependent resources.
    pub fn to_json(&self) -> Value {
        self.values.clone()
    }

    /// The secret values as text, so CI logs can mask them.
    pub fn secret_texts(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for key in &self.secret {
            collect_texts(&self.values[key], &mut texts);
        }
        texts
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
