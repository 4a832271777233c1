//! Writes JSON values as block YAML that reads back identically under YAML 1.2 *and* 1.1 —
//! Kubernetes tooling (kubectl, Argo CD, Flux) parses with 1.1 rules, where an unquoted `on`
//! is a boolean and `12:30` a number. Strings are left plain only when they are unambiguous.

use serde_json::Value;

/// One YAML document (no `---`), ending in a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0, false),
        other => {
            write_scalar(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn write_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    indent: usize,
    inline_first: bool,
) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        write_string(out, key);
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                write_map(out, m, indent + 2, false);
            }
            // Sequences under a key are not indented further, as kubectl writes them.
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_seq(out, a, indent, false);
            }
            _ => {
                out.push(' ');
                write_inline(out, value, indent + 2);
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize, inline_first: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2, true),
            Value::Array(a) if !a.is_empty() => write_seq(out, a, indent + 2, true),
            _ => write_inline(out, item, indent + 2),
        }
    }
}

/// A scalar (or empty collection) after `key: ` or `- `, ending the line; multi-line strings
/// become literal blocks indented by `block_indent`.
fn write_inline(out: &mut String, value: &Value, block_indent: usize) {
    if let Value::String(s) = value
        && write_literal_block(out, s, block_indent)
    {
        return;
    }
    write_scalar(out, value);
    out.push('\n');
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_scalar(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Integers as written; floats always with a `.` and a signed exponent, as YAML 1.1 requires.
fn number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => {
            let plain = f.to_string();
            if plain.contains('.') {
                plain
            } else if f.abs() < 1e15 {
                format!("{plain}.0")
            } else {
                let text = format!("{f:e}");
                let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
                let mantissa = if mantissa.contains('.') {
                    mantissa.to_owned()
                } else {
                    format!("{mantissa}.0")
                };
                let exponent = if exponent.starts_with('-') {
                    exponent.to_owned()
                } else {
                    format!("+{exponent}")
                };
                format!("{mantissa}e{exponent}")
            }
        }
        _ => n.to_string(),
    }
}

fn write_string(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        write_quoted(out, s);
    }
}

/// Plain only for text no YAML version reads as anything but this string.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Flow indicators (`{}[],`) are ordinary characters inside a block-context plain scalar.
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || "_-./@+=,:$~^;(){}[]".contains(c) || c == ' ';
    let reserved = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", ".inf", ".nan", "=", "<<",
    ];
    (first.is_ascii_alphabetic() || "_/$".contains(first))
        && s.chars().all(allowed)
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !reserved.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// Double-quoted, with JSON's escapes (valid YAML) plus escapes for every character outside
/// YAML's printable set and the ones YAML 1.1 treats as line breaks.
fn write_quoted(out: &mut String, s: &str) {
    let json = serde_json::to_string(s).expect("strings serialise");
    for c in json.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
}

/// DEL, the C1 controls (NEL included), the Unicode line and paragraph separators, the byte
/// order mark and the two non-characters; C0 controls are escaped by JSON already.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// `|`, `|-` or `|+` block for readable multi-line text, when the text can be written that way
/// (else writes nothing and says so).
fn write_literal_block(out: &mut String, s: &str, indent: usize) -> bool {
    let printable = s
        .chars()
        .all(|c| c == '\n' || c == '\t' || !(c.is_control() || needs_escape(c)));
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    if !s.contains('\n')
        || !printable
        || body.is_empty()
        || body.starts_with([' ', '\t'])
        || body
            .split('\n')
            .any(|line| !line.is_empty() && line.trim().is_empty())
    {
        return false;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    out.push('|');
    out.push_str(chomp);
    out.push('\n');
    let lines = if trailing > 1 {
        &s[..s.len() - 1]
    } else {
        body
    };
    for line in lines.split('\n') {
        if !line.is_empty() {
            push_indent(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use proptest::prelude::*;
    use serde_json::json;

    fn read_back(text: &str) -> Value {
        let docs = crate::yaml::parse(&SourceFile::new("out.yaml", text), Default::default())
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        docs[0].to_json()
    }

    #[test]
    fn writes_kubernetes_style_block_yaml() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "x"}},
            "data": {"a.conf": "line one\nline two\n", "flag": "on", "empty": {}},
            "list": [{"name": "a", "value": "1"}, "b", [1, 2]]
        });
        assert_eq!(
            to_string(&v),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app.kubernetes.io/name: x\n\
             data:\n  a.conf: |\n    line one\n    line two\n  flag: \"on\"\n  empty: {}\n\
             list:\n- name: a\n  value: \"1\"\n- b\n- - 1\n  - 2\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes",
            "ON",
            "n",
            "0600",
            "12:30",
            "2021-01-01",
            "1e3",
            ".5",
            "+1",
            "~",
            "",
            " lead",
            "a: b",
            "#x",
            "- x",
            "null",
            "true",
            ".inf",
            "<<",
            "x #y",
        ] {
            assert!(
                to_string(&json!(s)).starts_with('"'),
                "{s:?} must be quoted"
            );
        }
        for s in [
            "nginx",
            "app.kubernetes.io/name",
            "${resources.db.host}",
            "/etc/app.conf",
            "hello world",
        ] {
            assert_eq!(to_string(&json!(s)).trim_end(), s);
        }
    }

    #[test]
    fn floats_keep_their_type_in_yaml_1_1() {
        assert_eq!(to_string(&json!(2.0)), "2.0\n");
        assert_eq!(to_string(&json!(1e300)), "1.0e+300\n");
        assert_eq!(to_string(&json!(0.5)), "0.5\n");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let tricky = prop::sample::select(vec![
            "yes",
            "on",
            "12:30",
            "0o17",
            "a\nb",
            "a\n\n",
            "\n",
            " x\ny",
            "x\n \ny",
            "tab\there",
            "\u{2028}",
            "é\nü\n",
            "- a",
            "{a}",
            "[1]",
            "*ref",
            "&a",
            "!tag",
            "%x",
            "@x",
            "`x",
            "'q'",
            "\"q\"",
            "a # b",
            "a:b",
            "a: b",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
            tricky.prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z.:/ -]{0,6}|yes|1", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn everything_written_reads_back_the_same(v in json_value()) {
            let text = to_string(&v);
            prop_assert_eq!(read_back(&text), v, "{}", text);
        }
    }
}
