//! The workload policy: defaults the platform applies to every rendered workload.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::score::ResourceLimits;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPolicy {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub pod_security_context: Option<serde_json::Value>,
    #[serde(default)]
    pub security_context: Option<serde_json::Value>,
    #[serde(default)]
    pub resources: DefaultResources,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DefaultResources {
    #[serde(default)]
    pub requests: ResourceLimits,
    #[serde(default)]
    pub limits: ResourceLimits,
}
