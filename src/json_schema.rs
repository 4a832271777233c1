//! JSON-schema validation of located YAML documents (draft 2020-12), with schema errors turned
//! into located messages that say what is wrong and what would be right. Used for Score files
//! (the official schema) and for baseline files (scoreline's own schemas).

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value as Json;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use crate::yaml::Node;

/// A compiled schema and the name its root is called by in messages ("the workload").
pub struct Schema {
    json: Json,
    validator: Validator,
    root_name: &'static str,
}

impl Schema {
    /// Compiles an embedded schema; a broken embedded schema is a bug, hence the panic.
    pub fn new(text: &str, root_name: &'static str) -> Schema {
        let json: Json = serde_json::from_str(text).expect("embedded schema is JSON");
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&json)
            .expect("embedded schema compiles");
        Schema {
            json,
            validator,
            root_name,
        }
    }

    /// Every schema violation in a document, each located at the node (or key) it concerns.
    pub fn check(&self, source: &SourceFile, document: &Node, instance: &Json) -> Vec<Diagnostic> {
        let errors: Vec<_> = self.validator.iter_errors(instance).collect();
        // A misspelt required field (`imagee` for `image`) is one mistake: report it once, as the
        // unknown field with its suggestion, not also as the missing one.
        let misspelt: std::collections::HashSet<(String, String)> = errors
            .iter()
            .filter_map(|e| match e.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let allowed = self.allowed_properties(e.schema_path().as_str());
                    Some(
                        unexpected
                            .iter()
                            .filter_map(move |field| {
                                closest(field, &allowed)
                                    .map(|c| (e.instance_path().as_str().to_owned(), c.to_owned()))
                            })
                            .collect::<Vec<_>>(),
                    )
                }
                _ => None,
            })
            .flatten()
            .collect();
        let reporter = Reporter {
            schema: self,
            source,
            document,
        };
        let mut out = Vec::new();
        for error in &errors {
            if let ValidationErrorKind::Required { property } = error.kind()
                && misspelt.contains(&(
                    error.instance_path().as_str().to_owned(),
                    property.as_str().unwrap_or_default().to_owned(),
                ))
            {
                continue;
            }
            reporter.report(error, &mut out);
        }
        out
    }

    fn node(&self, pointer: &str) -> Option<&Json> {
        self.json.pointer(pointer)
    }

    /// The schema's own description of the node a keyword sits in: the official wording of the rule.
    fn description(&self, keyword_path: &str) -> String {
        let mut path = keyword_path;
        loop {
            path = &path[..path.rfind('/').unwrap_or(0)];
            if let Some(d) = self.node(path).and_then(|n| n["description"].as_str()) {
                return d.to_owned();
            }
            if path.is_empty() {
                return "see the documentation of this file's format".into();
            }
        }
    }

    fn property_description(&self, required_path: &str, property: &str) -> Option<String> {
        let object = &required_path[..required_path.rfind('/')?];
        let property = self.node(&format!("{object}/properties/{property}"))?;
        let property = match property["$ref"].as_str() {
            Some(reference) => self.node(reference.trim_start_matches('#'))?,
            None => property,
        };
        property["description"].as_str().map(str::to_owned)
    }

    fn allowed_properties(&self, additional_path: &str) -> Vec<String> {
        let object = &additional_path[..additional_path.rfind('/').unwrap_or(0)];
        self.node(&format!("{object}/properties"))
            .and_then(Json::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter(|(_, p)| p["deprecated"] != Json::Bool(true))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn required_choices(&self, one_of_path: &str) -> Vec<String> {
        self.node(one_of_path)
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .flat_map(|branch| branch["required"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r.as_str().map(|s| format!("`{s}`")))
            .collect()
    }
}

struct Reporter<'a> {
    schema: &'a Schema,
    source: &'a SourceFile,
    document: &'a Node,
}

impl Reporter<'_> {
    fn report(&self, error: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
        let path = segments(error.instance_path().as_str());
        let (key, node) = self.document.lookup(&path).unwrap_or((None, self.document));
        let at_node = node.span.start;
        let at_key = key.map_or(at_node, |k| k.span.start);
        let name = display_path(&path, self.schema.root_name);
        let schema_path = error.schema_path().as_str();
        let described = || self.schema.description(schema_path);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = self.schema.allowed_properties(schema_path);
                for field in unexpected {
                    // Mappings are indexed by key: many unknown keys stay linear.
                    let at = node.entry(field).map_or(at_node, |e| e.key.span.start);
                    let mut help = format!("`{name}` takes: {}", allowed.join(", "));
                    if let Some(close) = closest(field, &allowed) {
                        help = format!("did you mean `{close}`? {help}");
                    }
                    out.push(
                        self.source
                            .error(at, format!("unknown field `{field}` in `{name}`"))
                            .with_help(help),
                    );
                }
            }
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let help = self
                    .schema
                    .property_description(schema_path, property)
                    .unwrap_or_else(|| format!("add `{property}`"));
                out.push(
                    self.source
                        .error(
                            at_key,
                            format!("`{name}` is missing required field `{property}`"),
                        )
                        .with_help(help),
                );
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => type_name(t.as_str()),
                    TypeKind::Multiple(_) => "another type",
                };
                out.push(
                    self.source
                        .error(
                            at_node,
                            format!("`{name}` must be {expected}, found {}", node.kind_name()),
                        )
                        .with_help(type_hint(expected, node).unwrap_or_else(described)),
                );
            }
            ValidationErrorKind::PropertyNames { error: inner } => {
                let bad = inner.instance().as_str().unwrap_or_default();
                let at = node.entry(bad).map_or(at_node, |e| e.key.span.start);
                let parent = &schema_path[..schema_path.rfind("/propertyNames").unwrap_or(0)];
                out.push(
                    self.source
                        .error(at, format!("`{bad}` is not a valid name in `{name}`"))
                        .with_help(self.schema.description(parent)),
                );
            }
            ValidationErrorKind::Pattern { .. }
            | ValidationErrorKind::MinLength { .. }
            | ValidationErrorKind::MaxLength { .. } => {
                let shown = node
                    .as_str()
                    .map_or_else(|| "value".into(), |s| format!("`{s}`"));
                out.push(
                    self.source
                        .error(at_node, format!("{shown} is not a valid `{name}`"))
                        .with_help(described()),
                );
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o.as_str().map(str::to_owned))
                    .collect();
                let given = node.as_str().unwrap_or_default();
                let mut help = format!("use one of: {}", options.join(", "));
                if let Some(close) = options.iter().find(|o| o.eq_ignore_ascii_case(given)) {
                    help = format!("did you mean `{close}`? {help}");
                }
                out.push(
                    self.source
                        .error(at_node, format!("`{given}` is not allowed for `{name}`"))
                        .with_help(help),
                );
            }
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
                let bound = if matches!(error.kind(), ValidationErrorKind::Minimum { .. }) {
                    "at least"
                } else {
                    "at most"
                };
                out.push(
                    self.source
                        .error(at_node, format!("`{name}` must be {bound} {limit}"))
                        .with_help(described()),
                );
            }
            ValidationErrorKind::MinProperties { .. } => out.push(
                self.source
                    .error(at_key, format!("`{name}` must not be empty"))
                    .with_help(described()),
            ),
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                match matching_branch(context, error.instance_path().as_str()) {
                    Some(branch) => branch.iter().for_each(|e| self.report(e, out)),
                    None => {
                        let choices = required_choices(context);
                        let message = if choices.is_empty() {
                            format!("`{name}` does not match any allowed form")
                        } else {
                            format!("`{name}` needs one of {}", choices.join(", "))
                        };
                        out.push(self.source.error(at_key, message).with_help(described()));
                    }
                }
            }
            ValidationErrorKind::OneOfMultipleValid { .. } => {
                let choices = self.schema.required_choices(schema_path);
                out.push(
                    self.source
                        .error(
                            at_key,
                            format!("`{name}` takes only one of {}", choices.join(", ")),
                        )
                        .with_help(described()),
                );
            }
            ValidationErrorKind::Not { schema } => {
                // `not: {required: [x]}` or `not: {anyOf: [{required: [x]}, …]}`: the forbidden
                // fields that are present.
                let mut forbidden: Vec<&str> = Vec::new();
                for branch in
                    std::iter::once(schema).chain(schema["anyOf"].as_array().into_iter().flatten())
                {
                    forbidden.extend(
                        branch["required"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Json::as_str),
                    );
                }
                forbidden.retain(|field| node.entry(field).is_some());
                for field in forbidden {
                    let at = node.entry(field).map_or(at_key, |e| e.key.span.start);
                    let help = if field == "target" {
                        "`target` belongs to the deprecated list form; in the map form the key is the target path: remove `target`".to_owned()
                    } else {
                        format!("remove `{field}`; {}", self.schema.description(schema_path))
                    };
                    out.push(
                        self.source
                            .error(at, format!("`{field}` is not allowed in `{name}`"))
                            .with_help(help),
                    );
                }
            }
            ValidationErrorKind::Constant { expected_value } => {
                let expected = expected_value
                    .as_str()
                    .map_or_else(|| expected_value.to_string(), str::to_owned);
                let found = node
                    .as_str()
                    .map_or_else(|| node.kind_name().to_owned(), |s| format!("`{s}`"));
                out.push(
                    self.source
                        .error(
                            at_node,
                            format!("`{name}` must be `{expected}`, found {found}"),
                        )
                        .with_help(described()),
                );
            }
            _ => out.push(self.source.error(at_node, format!("`{name}`: {error}"))),
        }
    }
}

/// The JSON pointer's segments, unescaped.
fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// `containers.web.files."/etc/app.conf"` — how a path into a document is shown.
pub fn display_path<S: AsRef<str>>(path: &[S], root_name: &str) -> String {
    if path.is_empty() {
        return root_name.into();
    }
    path.iter()
        .map(|s| {
            let s = s.as_ref();
            if s.is_empty() || s.contains(['.', '/', ' ', '"']) {
                format!("{s:?}")
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn closest<'a>(given: &str, options: &'a [String]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| {
            (
                strsim::jaro_winkler(&given.to_lowercase(), &o.to_lowercase()),
                o,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o.as_str())
}

/// The branch of a `oneOf`/`anyOf` whose type fits the value: its errors are the real ones.
fn matching_branch<'e>(
    branches: &'e [Vec<ValidationError<'static>>],
    at: &str,
) -> Option<&'e Vec<ValidationError<'static>>> {
    let fits = |errors: &Vec<ValidationError<'_>>| {
        !errors.iter().any(|e| {
            e.instance_path().as_str() == at
                && matches!(
                    e.kind(),
                    ValidationErrorKind::Type { .. } | ValidationErrorKind::Required { .. }
                )
        })
    };
    let fitting: Vec<_> = branches.iter().filter(|b| fits(b)).collect();
    match fitting.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// For `oneOf: [{required: [a]}, {required: [b]}]`: the alternatives, as `` `a` ``, `` `b` ``.
fn required_choices(branches: &[Vec<ValidationError<'static>>]) -> Vec<String> {
    branches
        .iter()
        .flatten()
        .filter_map(|e| match e.kind() {
            ValidationErrorKind::Required { property } => Some(format!("`{}`", property.as_str()?)),
            _ => None,
        })
        .collect()
}

fn type_name(json_type: &str) -> &'static str {
    match json_type {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "array" => "a list",
        "object" => "a mapping",
        _ => "another type",
    }
}

/// The usual YAML slip behind a type error, and its fix.
fn type_hint(expected: &str, node: &Node) -> Option<String> {
    let text = node.as_str();
    match expected {
        "a string" if node.style.is_some() && text.is_none() => {
            let raw = match node.to_json() {
                Json::Null => String::new(),
                other => other.to_string(),
            };
            Some(format!("quote it so YAML keeps it as text: \"{raw}\""))
        }
        "an integer" if text.is_some_and(|t| t.parse::<i64>().is_ok()) => {
            Some("remove the quotes: this must be a number".into())
        }
        "true or false"
            if text.is_some_and(|t| {
                ["yes", "no", "on", "off", "y", "n"].contains(&t.to_lowercase().as_str())
            }) =>
        {
            Some("write true or false (YAML 1.2 reads yes/no/on/off as text)".into())
        }
        _ => None,
    }
}
