//! Score placeholders: `${metadata.name}`, `${resources.db.host}`, `${resources.data}`.
//! `$$` is a literal `$` (so `$${x}` is the literal text `${x}`), and `\.` inside a reference
//! is a dot within one key (`${metadata.annotations.example\.com/team}`), as in score-go.
//! Static resource definitions use the same syntax with one other root: `${env.VAR}`.

use std::fmt;

/// A string parsed once into literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Placeholder(Placeholder),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Character offset of the `$` that opens it in the source string.
    pub offset: usize,
    /// The text between `${` and `}`.
    pub raw: String,
    pub reference: Reference,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `${metadata.KEY…}`: a key of the workload's metadata.
    Metadata(Vec<String>),
    /// `${resources.NAME.KEY…}`; no keys means the resource itself (a volume source).
    Resource { name: String, keys: Vec<String> },
    /// `${env.VAR}`: a process environment variable (static resource definitions only).
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderError {
    /// Character offset of the offending placeholder in the source string.
    pub offset: usize,
    pub message: String,
    pub help: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escape = |k: &String| k.replace('.', "\\.");
        match self {
            Reference::Metadata(keys) => {
                write!(f, "${{metadata")?;
                keys.iter().try_for_each(|k| write!(f, ".{}", escape(k)))?;
            }
            Reference::Resource { name, keys } => {
                write!(f, "${{resources.{name}")?;
                keys.iter().try_for_each(|k| write!(f, ".{}", escape(k)))?;
            }
            Reference::Env(var) => write!(f, "${{env.{var}")?,
        }
        write!(f, "}}")
    }
}

impl Template {
    /// Parses a Score string; every malformed placeholder is reported, not just the first.
    pub fn parse(text: &str) -> Result<Template, Vec<PlaceholderError>> {
        Self::parse_with(text, score_reference)
    }

    /// Parses a value of a static resource definition, where only `${env.VAR}` is known.
    pub fn parse_env(text: &str) -> Result<Template, Vec<PlaceholderError>> {
        Self::parse_with(text, env_reference)
    }

    fn parse_with(text: &str, interpret: Interpreter) -> Result<Template, Vec<PlaceholderError>> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut errors = Vec::new();
        // Knowing the last `}` keeps a string of many unclosed `$${` linear: a search either
        // fails at once or finds a `}` that the parse then moves past.
        let last_close = chars.iter().rposition(|&c| c == '}');
        let closing = |from: usize| {
            if last_close.is_none_or(|last| last < from) {
                return None;
            }
            chars[from..]
                .iter()
                .position(|&c| c == '}')
                .map(|p| p + from)
        };
        let mut i = 0;
        while i < chars.len() {
            match (chars[i], chars.get(i + 1), chars.get(i + 2)) {
                ('$', Some('$'), Some('{')) if closing(i + 3).is_some() => {
                    let close = closing(i + 3).unwrap_or_default();
                    literal.extend(&chars[i + 1..=close]);
                    i = close + 1;
                }
                ('$', Some('$'), _) => {
                    literal.push('$');
                    i += 2;
                }
                ('$', Some('{'), _) => {
                    let Some(close) = closing(i + 2) else {
                        errors.push(PlaceholderError {
                            offset: i,
                            message: "unterminated placeholder: `${` has no closing `}`".into(),
                            help: "close it with `}`, or write `$${` for a literal `${`".into(),
                        });
                        literal.extend(&chars[i..]);
                        break;
                    };
                    let raw: String = chars[i + 2..close].iter().collect();
                    match interpret(&raw) {
                        Ok(reference) => {
                            if !literal.is_empty() {
                                parts.push(Part::Text(std::mem::take(&mut literal)));
                            }
                            parts.push(Part::Placeholder(Placeholder {
                                offset: i,
                                raw,
                                reference,
                            }));
                        }
                        Err((message, help)) => errors.push(PlaceholderError {
                            offset: i,
                            message,
                            help,
                        }),
                    }
                    i = close + 1;
                }
                (c, _, _) => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if errors.is_empty() {
            Ok(Template { parts })
        } else {
            Err(errors)
        }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(p) => Some(p),
            Part::Text(_) => None,
        })
    }

    /// The placeholder when the whole string is exactly one placeholder (`${resources.data}`).
    pub fn single_placeholder(&self) -> Option<&Placeholder> {
        match self.parts.as_slice() {
            [Part::Placeholder(p)] => Some(p),
            _ => None,
        }
    }

    /// Builds the final string, asking `resolve` for each placeholder's text.
    pub fn substitute<E>(
        &self,
        mut resolve: impl FnMut(&Placeholder) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Placeholder(p) => out.push_str(&resolve(p)?),
            }
        }
        Ok(out)
    }
}

/// Writes text so that it parses back to itself: every `$` is doubled.
pub fn escape(text: &str) -> String {
    text.replace('$', "$$")
}

/// Looks a key path up in a JSON value, as placeholders do in metadata and resource outputs.
pub fn lookup<'v>(
    value: &'v serde_json::Value,
    keys: &[String],
) -> Result<&'v serde_json::Value, LookupError> {
    let mut current = value;
    for (depth, key) in keys.iter().enumerate() {
        let map = current.as_object().ok_or_else(|| LookupError::NotAMap {
            key: key.clone(),
            depth,
        })?;
        current = map.get(key).ok_or_else(|| LookupError::Missing {
            key: key.clone(),
            depth,
            available: map.keys().cloned().collect(),
        })?;
    }
    Ok(current)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("key `{key}` not found; available: {}", available_list(.available))]
    Missing {
        key: String,
        depth: usize,
        available: Vec<String>,
    },
    #[error("cannot look up `{key}`: the value before it is not a mapping")]
    NotAMap { key: String, depth: usize },
}

fn available_list(keys: &[String]) -> String {
    if keys.is_empty() {
        "none".into()
    } else {
        keys.join(", ")
    }
}

/// A resolved value as placeholder text: strings as they are, anything else as JSON.
pub fn to_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns the text inside `${…}` into a reference, or says what is wrong and what to write.
type Interpreter = fn(&str) -> Result<Reference, (String, String)>;

fn env_reference(raw: &str) -> Result<Reference, (String, String)> {
    match split_keys(raw).as_slice() {
        [root, var] if root == "env" && !var.is_empty() => Ok(Reference::Env(var.clone())),
        _ => Err((
            format!(
                "unknown placeholder `${{{raw}}}`: definitions read environment variables as ${{env.NAME}}"
            ),
            "write ${env.NAME}; write `$${` for a literal `${`".into(),
        )),
    }
}

fn score_reference(raw: &str) -> Result<Reference, (String, String)> {
    let escape_hint = "write `$${` for a literal `${`";
    let keys = split_keys(raw);
    if keys.iter().any(String::is_empty) {
        return Err((
            format!("placeholder `${{{raw}}}` has an empty key"),
            format!("use the form ${{metadata.name}} or ${{resources.NAME.KEY}}; {escape_hint}"),
        ));
    }
    let (root, rest) = keys.split_first().expect("split yields at least one key");
    match root.as_str() {
        "metadata" if rest.is_empty() => Err((
            "`${metadata}` needs a key".into(),
            "name a metadata key, e.g. ${metadata.name}".into(),
        )),
        "metadata" => Ok(Reference::Metadata(rest.to_vec())),
        "resources" => match rest.split_first() {
            Some((name, keys)) => Ok(Reference::Resource {
                name: name.clone(),
                keys: keys.to_vec(),
            }),
            None => Err((
                "`${resources}` needs a resource name".into(),
                "name a resource and an output, e.g. ${resources.db.host}".into(),
            )),
        },
        other => Err((
            format!(
                "unknown placeholder `${{{raw}}}`: `{other}` is neither `metadata` nor `resources`"
            ),
            format!(
                "placeholders read ${{metadata.KEY}} or ${{resources.NAME.OUTPUT}}; {escape_hint}"
            ),
        )),
    }
}

fn split_keys(raw: &str) -> Vec<String> {
    let mut keys = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('.')) => {
                chars.next();
                keys.last_mut().expect("never empty").push('.');
            }
            ('.', _) => keys.push(String::new()),
            (c, _) => keys.last_mut().expect("never empty").push(c),
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn render(text: &str) -> String {
        Template::parse(text)
            .unwrap()
            .substitute(|p| Ok::<_, ()>(format!("<{}>", p.reference)))
            .unwrap()
    }

    #[test]
    fn parses_references() {
        let t =
            Template::parse("a ${metadata.name} b ${resources.db.host} ${resources.vol}").unwrap();
        let refs: Vec<_> = t
            .placeholders()
            .map(|p| (p.offset, p.reference.clone()))
            .collect();
        assert_eq!(
            refs,
            vec![
                (2, Reference::Metadata(vec!["name".into()])),
                (
                    21,
                    Reference::Resource {
                        name: "db".into(),
                        keys: vec!["host".into()]
                    }
                ),
                (
                    42,
                    Reference::Resource {
                        name: "vol".into(),
                        keys: vec![]
                    }
                ),
            ]
        );
    }

    #[test]
    fn escapes_follow_score_go() {
        assert_eq!(render("$$_$${fizzbuzz}"), "$_${fizzbuzz}");
        assert_eq!(render("cost: $5 and $${x"), "cost: $5 and ${x");
        assert_eq!(render("$${resources.db.host}"), "${resources.db.host}");
        assert_eq!(render("x${metadata.a\\.b.c}"), "x<${metadata.a\\.b.c}>");
    }

    #[test]
    fn dotted_keys_stay_whole() {
        let t = Template::parse("${metadata.annotations.example\\.com/team}").unwrap();
        assert_eq!(
            t.single_placeholder().unwrap().reference,
            Reference::Metadata(vec!["annotations".into(), "example.com/team".into()])
        );
    }

    #[test]
    fn malformed_placeholders_are_all_reported() {
        let errs =
            Template::parse("${foo.bar} ${} ${metadata} ${resources} ${resources.x..y} ${open")
                .unwrap_err();
        let offsets: Vec<_> = errs.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![0, 11, 15, 27, 40, 58]);
        assert!(errs[0].message.contains("unknown placeholder"));
        assert!(errs[5].message.contains("unterminated"));
    }

    #[test]
    fn env_syntax_reads_only_env() {
        let t = Template::parse_env("postgres://${env.DB_USER}@host $${env.X}").unwrap();
        assert_eq!(
            t.single_placeholder(),
            None,
            "text around the placeholder stays text"
        );
        let refs: Vec<_> = t.placeholders().map(|p| p.reference.clone()).collect();
        assert_eq!(refs, vec![Reference::Env("DB_USER".into())]);
        assert!(Template::parse_env("${resources.db.host}").is_err());
        assert!(Template::parse("${env.HOME}").is_err());
    }

    #[test]
    fn lookup_walks_nested_outputs() {
        let outputs = serde_json::json!({"a": {"b": "c"}, "n": 5});
        assert_eq!(lookup(&outputs, &["a".into(), "b".into()]).unwrap(), "c");
        assert_eq!(to_text(lookup(&outputs, &["n".into()]).unwrap()), "5");
        let err = lookup(&outputs, &["x".into()]).unwrap_err();
        assert_eq!(err.to_string(), "key `x` not found; available: a, n");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in ".*") {
            let _ = Template::parse(&s);
        }

        #[test]
        fn dollar_heavy_strings_never_panic(s in "[$\\{\\}a.\\\\]{0,40}") {
            if let Ok(t) = Template::parse(&s) {
                for p in t.placeholders() {
                    let at = s.char_indices().nth(p.offset).unwrap().0;
                    prop_assert!(s[at..].starts_with("${"), "placeholder offset {} in {:?}", p.offset, s);
                }
            }
        }

        #[test]
        fn escaped_text_parses_back_to_itself(s in ".*") {
            let t = Template::parse(&escape(&s)).unwrap();
            prop_assert_eq!(t.placeholders().count(), 0);
            prop_assert_eq!(t.substitute(|_| Ok::<_, ()>(String::new())).unwrap(), s);
        }

        #[test]
        fn substitution_replaces_only_placeholders(pre in "[a-z ]{0,10}", key in "[a-z]{1,8}", post in "[a-z ]{0,10}") {
            let t = Template::parse(&format!("{pre}${{resources.r.{key}}}{post}")).unwrap();
            let out = t.substitute(|p| match &p.reference {
                Reference::Resource { keys, .. } => Ok::<_, ()>(keys.join("/").to_uppercase()),
                Reference::Metadata(_) | Reference::Env(_) => Err(()),
            }).unwrap();
            prop_assert_eq!(out, format!("{pre}{}{post}", key.to_uppercase()));
        }
    }
}
