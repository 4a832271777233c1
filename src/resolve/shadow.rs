//! Taint tracking by shadow evaluation. A driver whose inputs hold a secret (a dependency's
//! secret output, a param built from one) or that read one (`derive`, a CI variable) is run a
//! second time with every secret replaced by its shadow, a different value of the same shape.
//! Whatever differs between the two results was built from a secret — through any filter,
//! concatenation or hash a template applies — and whatever is equal was not. No template engine
//! or driver has to know about taint for this to hold.

use serde_json::Value;

/// A different value of the same shape: letters and digits shift by one (`z`→`a`, `9`→`0`),
/// other characters stay, so a host stays a host and a URL a URL; numbers move by one,
/// booleans flip.
pub fn shadow(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(shadow_text(text)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(if i == i64::MAX { i - 1 } else { i + 1 })
            } else if let Some(u) = n.as_u64() {
                Value::from(u - 1)
            } else {
                Value::from(n.as_f64().unwrap_or_default() + 1.0)
            }
        }
        Value::Bool(b) => Value::Bool(!b),
        Value::Array(items) => Value::Array(items.iter().map(shadow).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shadow(v))).collect())
        }
        Value::Null => Value::Null,
    }
}

pub fn shadow_text(text: &str) -> String {
    let shifted: String = text
        .chars()
        .map(|c| match c {
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(c as u8 + 1),
            other => other,
        })
        .collect();
    if shifted == text {
        // Nothing to shift: a marker keeps the shadow different.
        format!("{text}\u{2060}")
    } else {
        shifted
    }
}

/// The paths (object keys and list indexes) at which two results differ: where a list's length
/// or an object's keys differ, the path of the list or the key.
pub fn differences(real: &Value, shadow: &Value) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    walk(real, shadow, &mut Vec::new(), &mut found);
    found
}

fn walk(real: &Value, shadow: &Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    match (real, shadow) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                path.push(key.clone());
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(x, y, path, found),
                    _ => found.push(path.clone()),
                }
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(i.to_string());
                walk(x, y, path, found);
                path.pop();
            }
        }
        (a, b) if a != b => found.push(path.clone()),
        _ => {}
    }
}

/// Where a driver's manifests hold something built from a secret outside the values of a
/// Secret's `data` or `stringData`: (manifest index, field path). A key under `data` is not a
/// value: sops leaves keys in plain text and ExternalSecrets and records name them. `None`
/// when even the number of manifests depends on a secret.
pub fn exposed(real: &[Value], shadow: &[Value]) -> Option<Vec<(usize, Vec<String>)>> {
    if real.len() != shadow.len() {
        return None;
    }
    Some(
        real.iter()
            .zip(shadow)
            .enumerate()
            .flat_map(|(i, (a, b))| {
                let secret = a["kind"] == "Secret" && b["kind"] == "Secret";
                differences(a, b)
                    .into_iter()
                    .filter(move |path| {
                        let value_in_data = |doc: &Value| {
                            (path[0] == "data" || path[0] == "stringData")
                                && doc[&path[0]].get(&path[1]).is_some()
                        };
                        !(secret && path.len() >= 2 && value_in_data(a) && value_in_data(b))
                    })
                    .map(move |path| (i, path))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shadows_differ_and_keep_their_shape() {
        assert_eq!(shadow_text("Zz9-a.b"), "Aa0-b.c");
        assert_ne!(shadow_text("--"), "--");
        assert_eq!(
            shadow(&json!({"p": 5432, "t": true, "s": ["x"]})),
            json!({"p": 5433, "t": false, "s": ["y"]})
        );
    }

    #[test]
    fn differences_name_fields_keys_and_lengths() {
        let a =
            json!({"spec": {"host": "a", "port": 1, "same": "x"}, "list": [1, 2], "k": {"a": 1}});
        let b = json!({"spec": {"host": "b", "port": 1, "same": "x"}, "list": [1], "k": {"b": 1}});
        let paths: Vec<String> = differences(&a, &b).iter().map(|p| p.join(".")).collect();
        assert_eq!(paths, ["spec.host", "list", "k.a", "k.b"]);
    }

    #[test]
    fn secret_data_may_differ_and_nothing_else() {
        let real = [
            json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"p": "YQ=="}}),
            json!({"kind": "Ingress", "metadata": {"name": "i"}, "spec": {"host": "a"}}),
        ];
        let shadow = [
            json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"p": "Yg=="}}),
            json!({"kind": "Ingress", "metadata": {"name": "i"}, "spec": {"host": "b"}}),
        ];
        assert_eq!(
            exposed(&real, &shadow),
            Some(vec![(1, vec!["spec".into(), "host".into()])])
        );
        assert_eq!(exposed(&real, &shadow[..1]), None);
    }

    #[test]
    fn a_secret_data_key_built_from_a_secret_is_exposed() {
        let real = [json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"a1": "YQ=="}})];
        let shadow = [json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"b2": "YQ=="}})];
        assert_eq!(
            exposed(&real, &shadow),
            Some(vec![
                (0, vec!["data".into(), "a1".into()]),
                (0, vec!["data".into(), "b2".into()])
            ])
        );
    }
}
