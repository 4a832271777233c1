//! Located YAML nodes and the lookups the validators need.

use std::collections::HashMap;

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
    Map(Mapping),
}

/// A mapping's entries in the order written, indexed by key: finding a key costs the same
/// however many keys the mapping has (a file of many keys, each with an error to locate, stays
/// linear).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    entries: Vec<Entry>,
    /// Each key's first entry (a repeated key is an error; lookups find the first).
    index: HashMap<String, usize>,
}

impl Mapping {
    pub fn new(entries: Vec<Entry>) -> Mapping {
        let mut index = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            index.entry(e.key_str().to_owned()).or_insert(i);
        }
        Mapping { entries, index }
    }

    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(*self.index.get(key)?)
    }
}

impl std::ops::Deref for Mapping {
    type Target = [Entry];

    fn deref(&self) -> &[Entry] {
        &self.entries
    }
}

impl<'a> IntoIterator for &'a Mapping {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// Two mappings are equal when their entries are (the index follows from them).
impl PartialEq for Mapping {
    fn eq(&self, other: &Mapping) -> bool {
        self.entries == other.entries
    }
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
        match &self.value {
            Value::Map(mapping) => mapping.get(key),
            _ => None,
        }
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
    /// start, which is still the right node. For many offsets of one scalar, `locator`.
    pub fn position_at(&self, source: &SourceFile, offset: usize) -> Pos {
        self.locator(source).at(offset)
    }

    /// Finds the places of many offsets in this scalar, each at a cost independent of the
    /// scalar's length (what `position_at` does, with the scalar read once).
    pub fn locator<'a>(&'a self, source: &'a SourceFile) -> Locator<'a> {
        let start = self.span.start;
        let (Some(style), Some(value)) = (self.style, self.as_str()) else {
            return Locator {
                start,
                kind: Kind::Start,
            };
        };
        let kind = match style {
            ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let quote = usize::from(style != ScalarStyle::Plain);
                let raw = source
                    .line(start.line)
                    .unwrap_or_default()
                    .chars()
                    .skip(start.column - 1 + quote);
                // The value is where it is written up to its first line break or escape.
                let exact = value
                    .chars()
                    .zip(raw)
                    .take_while(|(v, r)| v == r && *v != '\n')
                    .count();
                let whole = value.chars().count();
                Kind::Inline {
                    column: start.column + quote,
                    // A prefix matches in full only if the value matches to its end.
                    exact: if exact == whole { usize::MAX } else { exact },
                    whole,
                }
            }
            ScalarStyle::Literal => {
                let mut lines = vec![(0, 0)];
                let mut chars = 0;
                for (byte, c) in value.char_indices() {
                    chars += 1;
                    if c == '\n' {
                        lines.push((chars, byte + 1));
                    }
                }
                Kind::Literal {
                    source,
                    value,
                    lines,
                    whole: chars,
                    leading_blank: value.len() - value.trim_start_matches('\n').len(),
                    found: Default::default(),
                }
            }
            ScalarStyle::Folded => Kind::Start,
        };
        Locator { start, kind }
    }
}

/// The places of a scalar's characters in its file (`Node::locator`).
pub struct Locator<'a> {
    start: Pos,
    kind: Kind<'a>,
}

enum Kind<'a> {
    /// Only the scalar's start is known.
    Start,
    /// On one line from `column`: the first `exact` characters (all when `usize::MAX`) are
    /// where they are written; `whole` is the value's length.
    Inline {
        column: usize,
        exact: usize,
        whole: usize,
    },
    /// A literal block: each value line's (first character, first byte), the value's length,
    /// how many blank lines it starts with, and the column each value line was found at.
    Literal {
        source: &'a SourceFile,
        value: &'a str,
        lines: Vec<(usize, usize)>,
        whole: usize,
        leading_blank: usize,
        found: std::cell::RefCell<HashMap<usize, Option<(usize, usize)>>>,
    },
}

impl Locator<'_> {
    /// Where character `offset` of the value is.
    pub fn at(&self, offset: usize) -> Pos {
        let start = self.start;
        match &self.kind {
            Kind::Start => start,
            Kind::Inline {
                column,
                exact,
                whole,
            } => {
                if offset.min(*whole) <= *exact {
                    Pos {
                        line: start.line,
                        column: column + offset,
                    }
                } else {
                    start
                }
            }
            Kind::Literal {
                source,
                value,
                lines,
                whole,
                leading_blank,
                found,
            } => {
                let at = offset.min(*whole);
                let index = lines.partition_point(|&(first, _)| first <= at) - 1;
                let column_in_line = at - lines[index].0;
                let found = *found.borrow_mut().entry(index).or_insert_with(|| {
                    let bytes = lines[index].1;
                    let end = lines.get(index + 1).map_or(value.len(), |&(_, b)| b - 1);
                    let value_line = &value[bytes..end];
                    // A literal block's span starts at its first non-blank content line.
                    let line = (start.line + index).saturating_sub(*leading_blank);
                    let text = source.line(line)?;
                    let byte_at = text.find(value_line).filter(|_| !value_line.is_empty())?;
                    Some((line, text[..byte_at].chars().count() + 1))
                });
                match found {
                    Some((line, column)) => Pos {
                        line,
                        column: column + column_in_line,
                    },
                    None => start,
                }
            }
        }
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
