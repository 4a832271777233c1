//! Environments: where a workload is rendered for (name, type, namespace) and delivered to.

use serde::{Deserialize, Serialize};

use crate::yaml::Located;

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
    /// Where the entry is in environments.yaml.
    #[serde(skip)]
    pub location: Option<Located>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Delivery {
    pub kind: DeliveryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    Dir,
    Git,
}

impl Environment {
    /// Development and preview environments may use the fixed development key for derived
    /// secrets; every other type needs the platform key.
    pub fn allows_development_key(&self) -> bool {
        matches!(self.env_type.as_str(), "development" | "preview")
    }
}
