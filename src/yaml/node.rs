//! Located YAML nodes and the lookups the validators need.

use serde_json::Map;

use crate::position::Pos;
use crate::source::SourceFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// How a scalar was written; `None` for sequences and mappings.
    pub style: Option<ScalarStyle>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry. Keys are scalars, kept as the text they were written as.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

impl Entry {
    pub fn key_str(&self) -> &str {
        self.key.as_str().unwrap_or_default()
    }
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key_str() == key)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// Follows a path of map keys and sequence indexes; also returns the key node of the last
    /// step when it was a map key, so errors about a key can point at the key itself.
    pub fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<(Option<&Node>, &Node)> {
        let mut key = None;
        let mut node = self;
        for segment in path {
            let segment = segment.as_ref();
            match &node.value {
                Value::Map(_) => {
                    let entry = node.entry(segment)?;
                    key = Some(&entry.key);
                    node = &entry.value;
                }
                Value::Seq(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((key, node))
    }

    /// "a string", "an integer", … for messages like "expected a string, found an integer".
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                // JSON has no infinities or NaN: keep the spelling so the error shows it.
                .unwrap_or_else(|| serde_json::Value::String(f.to_string())),
            Value::String(s) => s.clone().into(),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for e in entries {
                    map.insert(e.key_str().to_owned(), e.value.to_json());
                }
                map.into()
            }
        }
    }

    /// Where character `offset` of this scalar's value sits in the file. Exact for one-line
    /// plain and quoted scalars without escapes and for literal blocks; otherwise the scalar's
    /// start, which is still the right node.
    pub fn position_at(&self, source: &SourceFile, offset: usize) -> Pos {
        let (Some(style), Some(value)) = (self.style, self.as_str()) else {
            return self.span.start;
        };
        let prefix: String = value.chars().take(offset).collect();
        let start = self.span.start;
        match style {
            ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let quote = usize::from(style != ScalarStyle::Plain);
                let raw: String = source
                    .line(start.line)
                    .unwrap_or_default()
                    .chars()
                    .skip(start.column - 1 + quote)
                    .collect();
                if !prefix.contains('\n') && raw.starts_with(&prefix) {
                    return Pos {
                        line: start.line,
                        column: start.column + quote + offset,
                    };
                }
            }
            ScalarStyle::Literal => {
                let line_index = prefix.matches('\n').count();
                let column_in_line = prefix.rsplit('\n').next().unwrap_or("").chars().count();
                let value_line = value.split('\n').nth(line_index).unwrap_or_default();
                // A literal block's span starts at its first non-blank content line.
                let leading_blank = value.len() - value.trim_start_matches('\n').len();
                let line = (start.line + line_index).saturating_sub(leading_blank);
                if let Some(text) = source.line(line)
                    && !value_line.is_empty()
                    && let Some(byte_at) = text.find(value_line)
                {
                    return Pos {
                        line,
                        column: text[..byte_at].chars().count() + 1 + column_in_line,
                    };
                }
            }
            ScalarStyle::Folded => {}
        }
        start
    }
}

/// A node together with the file it came from, so later stages can still point into the file.
#[derive(Debug, Clone)]
pub struct Located {
    pub source: std::sync::Arc<SourceFile>,
    pub node: Node,
}

impl Located {
    /// Where character `offset` of this scalar's value is in its file.
    pub fn position_at(&self, offset: usize) -> Pos {
        self.node.position_at(&self.source, offset)
    }

    /// `file:line` of the node, for messages that name where something is defined.
    pub fn origin(&self) -> String {
        format!(
            "{}:{}",
            self.source.path.display(),
            self.node.span.start.line
        )
    }
}
