//! The entries of a workload's ConfigMap (files) or Secret (secret variables and files).

use base64::Engine;
use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct Data {
    text: Map<String, Value>,
    binary: Map<String, Value>,
}

impl Data {
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.binary.is_empty()
    }

    /// Adds an entry under a key made from `hint`, valid for ConfigMaps and Secrets
    /// (`[-._a-zA-Z0-9]+`) and unique; returns the key. Binary content (declared so, or not
    /// UTF-8) is kept as base64 rather than as text.
    pub fn add(&mut self, hint: &str, bytes: Vec<u8>, binary: bool) -> String {
        let base: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut key = base.clone();
        let mut n = 2;
        while self.text.contains_key(&key) || self.binary.contains_key(&key) {
            key = format!("{base}.{n}");
            n += 1;
        }
        let engine = base64::engine::general_purpose::STANDARD;
        match String::from_utf8(bytes) {
            Ok(text) if !binary => self.text.insert(key.clone(), text.into()),
            Ok(text) => self.binary.insert(key.clone(), engine.encode(text).into()),
            Err(e) => self
                .binary
                .insert(key.clone(), engine.encode(e.into_bytes()).into()),
        };
        key
    }

    /// `data`/`binaryData` of a ConfigMap.
    pub fn config_map_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        if !self.text.is_empty() {
            fields.insert("data".into(), Value::Object(self.text.clone()));
        }
        if !self.binary.is_empty() {
            fields.insert("binaryData".into(), Value::Object(self.binary.clone()));
        }
        fields
    }

    /// `data` of a Secret: every value base64, as the API stores it.
    pub fn secret_data(&self) -> Map<String, Value> {
        let engine = base64::engine::general_purpose::STANDARD;
        let mut data: Map<String, Value> = self
            .text
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    engine.encode(v.as_str().unwrap_or_default()).into(),
                )
            })
            .collect();
        data.extend(self.binary.clone());
        data
    }
}
