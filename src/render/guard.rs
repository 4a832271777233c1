//! The last check before manifests leave the renderer: no known secret value, in any of its
//! forms, anywhere but a Secret's `data` or `stringData`. Taint tracking in `resolve` and in the
//! workload renderer is what keeps secrets in place; this catches what a driver it cannot
//! follow (a `cmd` program) or a mistake of ours would let through.

use serde_json::Value;

use super::Object;
use crate::diagnostic::{Diagnostic, Severity};
use crate::secret::Secrets;

/// A refusal for every object field that holds a known secret (the first such field of each
/// object), naming the object, the field and where the secret came from — never the value.
pub fn check(objects: &[Object], secrets: &Secrets) -> Vec<Diagnostic> {
    let misshapen: Vec<Diagnostic> = objects.iter().filter_map(misshapen).collect();
    if !misshapen.is_empty() || secrets.is_empty() {
        return misshapen;
    }
    objects
        .iter()
        .filter_map(|object| {
            let mut path = Vec::new();
            let (field, origin) = find(&object.body, object.kind() == "Secret", &mut path, secrets)?;
            Some(
                Diagnostic::general(
                    Severity::Error,
                    format!(
                        "{} `{}` (from {}) holds a secret value ({origin}) in `{field}`, where anyone who can read the manifests sees it",
                        object.kind(),
                        object.name(),
                        object.origin
                    ),
                )
                .with_help("secrets may only go into a Secret's data; pass them to containers as variables (they become secretKeyRef) or files"),
            )
        })
        .collect()
}

/// A Secret whose `data` or `stringData` is no map of strings: its values could not be told
/// apart from the rest (this check, diffs and SOPS would see a string or a list whole).
fn misshapen(object: &Object) -> Option<Diagnostic> {
    if object.kind() != "Secret" {
        return None;
    }
    let field = ["data", "stringData"].into_iter().find(|field| {
        object.body.get(field).is_some_and(|value| {
            !value
                .as_object()
                .is_some_and(|map| map.values().all(Value::is_string))
        })
    })?;
    Some(
        Diagnostic::general(
            Severity::Error,
            format!(
                "Secret `{}` (from {}): `{field}` is not a map of strings",
                object.name(),
                object.origin
            ),
        )
        .with_help(format!(
            "the definition must write `{field}` as keys with string values, one per secret value"
        )),
    )
}

fn find(
    value: &Value,
    in_secret: bool,
    path: &mut Vec<String>,
    secrets: &Secrets,
) -> Option<(String, String)> {
    let found = |text: &str, path: &[String]| secrets.find(text).map(|o| (path.join("."), o));
    // A key that holds a secret is named masked: the message never shows the value.
    let found_key = |key: &str, path: &[String]| {
        let mut named = path.to_vec();
        named.push(crate::secret::MASK.to_owned());
        found(key, &named)
    };
    match value {
        Value::String(text) => found(text, path),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(i.to_string());
            let hit = find(item, in_secret, path, secrets);
            path.pop();
            hit
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let hit = found_key(key, path);
            path.push(key.clone());
            let hit = hit.or_else(|| {
                let data = in_secret && path.len() == 1 && (key == "data" || key == "stringData");
                if data {
                    // Values may hold secrets; keys are shown (sops leaves them in plain text).
                    item.as_object()?.keys().find_map(|k| found_key(k, path))
                } else {
                    find(item, in_secret, path, secrets)
                }
            });
            path.pop();
            hit
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(body: Value) -> Object {
        Object {
            body,
            origin: "resource `db`".into(),
        }
    }

    #[test]
    fn secrets_are_allowed_only_in_secret_data() {
        let secrets = Secrets::default();
        secrets.register("s3cr3t-value", "resources.db.password");
        let objects = [
            object(
                json!({"kind": "Secret", "metadata": {"name": "ok"}, "data": {"p": "czNjcjN0LXZhbHVl"}, "stringData": {"p": "s3cr3t-value"}}),
            ),
            object(
                json!({"kind": "Secret", "metadata": {"name": "bad", "labels": {"x": "s3cr3t-value"}}}),
            ),
            object(
                json!({"kind": "Ingress", "metadata": {"name": "web"}, "spec": {"rules": [{"host": "s3cr3t-value.example.com"}]}}),
            ),
            object(
                json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"u": "pw=s3cr3t%2Dvalue"}}),
            ),
            object(
                json!({"kind": "Secret", "metadata": {"name": "keyed"}, "data": {"s3cr3t-value": "eA=="}}),
            ),
        ];
        let refused = check(&objects, &secrets);
        let messages: Vec<&str> = refused.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert!(
            messages[0].starts_with("Secret `bad`") && messages[0].contains("`metadata.labels.x`")
        );
        assert!(
            messages[1].contains("Ingress `web`") && messages[1].contains("`spec.rules.0.host`")
        );
        assert!(messages[2].contains("ConfigMap `c`") && messages[2].contains("`data.u`"));
        assert!(messages[3].starts_with("Secret `keyed`"), "{}", messages[3]);
        assert!(
            messages
                .iter()
                .all(|m| m.contains("resources.db.password") && !m.contains("s3cr3t"))
        );
    }

    #[test]
    fn secret_data_must_be_a_map_of_strings() {
        let objects = [
            object(json!({"kind": "Secret", "metadata": {"name": "ok"}, "data": {"p": "eA=="}})),
            object(json!({"kind": "Secret", "metadata": {"name": "s"}, "stringData": "p=x"})),
            object(json!({"kind": "Secret", "metadata": {"name": "n"}, "data": {"p": 1}})),
            object(json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": "x"})),
        ];
        let refused = check(&objects, &Secrets::default());
        let messages: Vec<&str> = refused.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Secret `s` (from resource `db`): `stringData` is not a map of strings",
                "Secret `n` (from resource `db`): `data` is not a map of strings",
            ]
        );
    }
}
