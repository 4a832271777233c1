//! Matching rules of resource definitions, following the Platform Orchestrator convention:
//! class defaults to `default` and must match; specificity ranks res_id > env > app > env_type.

use serde::{Deserialize, Serialize};

use crate::score::Resource;

/// One rule of a definition's `criteria`: every field given must equal the subject's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
}

/// What a rule is matched against: one resource in one environment of one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub class: String,
    pub res_id: String,
    pub env: String,
    pub env_type: String,
    pub app: String,
}

/// Which ranked fields a matching rule named. The derived order compares field by field in
/// declaration order, which is exactly the ranking res_id > env > app > env_type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
pub struct Specificity {
    pub res_id: bool,
    pub env: bool,
    pub app: bool,
    pub env_type: bool,
}

impl std::fmt::Display for Specificity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let named: Vec<&str> = [
            (self.res_id, "res_id"),
            (self.env, "env"),
            (self.app, "app"),
            (self.env_type, "env_type"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        if named.is_empty() {
            write!(f, "{{}} (matches everything)")
        } else {
            write!(f, "{}", named.join(" + "))
        }
    }
}

impl Subject {
    pub fn new(
        resource: &Resource,
        res_id: String,
        env: &crate::baseline::Environment,
        app: &str,
    ) -> Subject {
        Subject {
            resource_type: resource.kind.clone(),
            class: resource.class().to_owned(),
            res_id,
            env: env.name.clone(),
            env_type: env.env_type.clone(),
            app: app.to_owned(),
        }
    }
}

impl Rule {
    /// The rule's specificity if it matches, or the first field that does not.
    pub fn check(&self, subject: &Subject) -> Result<Specificity, String> {
        let class = self.class.as_deref().unwrap_or(Resource::DEFAULT_CLASS);
        if class != subject.class {
            return Err(format!("class is `{}`, not `{class}`", subject.class));
        }
        let fields = [
            ("res_id", &self.res_id, &subject.res_id),
            ("env", &self.env, &subject.env),
            ("app", &self.app, &subject.app),
            ("env_type", &self.env_type, &subject.env_type),
        ];
        for (name, wanted, actual) in fields {
            if let Some(wanted) = wanted
                && wanted != actual
            {
                return Err(format!("{name} is `{actual}`, not `{wanted}`"));
            }
        }
        Ok(Specificity {
            res_id: self.res_id.is_some(),
            env: self.env.is_some(),
            app: self.app.is_some(),
            env_type: self.env_type.is_some(),
        })
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<String> = [
            ("env_type", &self.env_type),
            ("env", &self.env),
            ("app", &self.app),
            ("res_id", &self.res_id),
            ("class", &self.class),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect();
        write!(f, "{{{}}}", fields.join(", "))
    }
}
