//! Builds located nodes from parser events, refusing hostile input as it goes: nesting deeper
//! than any real document, alias expansion beyond a node or byte budget (the "billion laughs",
//! also with one long anchored string), and duplicate keys (which YAML forbids but many parsers
//! silently accept, last one wins).

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScanError, Tag};

use super::node::{Entry, Mapping, Node, ScalarStyle, Span, Value};
use crate::diagnostic::Diagnostic;
use crate::position::Pos;
use crate::source::SourceFile;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Nodes per file, counting every copy an alias makes.
    pub max_nodes: usize,
    /// Bytes of scalar text per file, counting every copy an alias makes.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 100,
            max_nodes: 1_000_000,
            max_bytes: 64 << 20,
        }
    }
}

/// Parses every document of a file. Syntax and limit errors stop the parse; duplicate keys
/// are all collected (with any other problems found up to that point).
pub fn parse(source: &SourceFile, limits: Limits) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let parsed = parse_keeping_duplicates(source, limits)?;
    if parsed.duplicates.is_empty() {
        Ok(parsed.documents)
    } else {
        Err(parsed.duplicates)
    }
}

/// Documents whose only problem is duplicate keys (the later entry kept beside the first), so
/// callers can report the duplicates together with every other problem of the file.
pub struct Parsed {
    pub documents: Vec<Node>,
    pub duplicates: Vec<Diagnostic>,
}

/// Like [`parse`], but a file whose only problems are duplicate keys still yields its tree.
pub fn parse_keeping_duplicates(
    source: &SourceFile,
    limits: Limits,
) -> Result<Parsed, Vec<Diagnostic>> {
    let mut builder = Builder {
        source,
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        documents: Vec::new(),
        spent: Size::default(),
        problems: Vec::new(),
    };
    let mut parser = Parser::new_from_str(&source.text);
    while let Some(event) = parser.next_event() {
        let outcome = match event {
            Ok((event, span)) => builder.event(event, span),
            Err(e) => Err(scan_error(source, &e)),
        };
        if let Err(fatal) = outcome {
            builder.problems.push(fatal);
            return Err(builder.problems);
        }
    }
    Ok(Parsed {
        documents: builder.documents,
        duplicates: builder.problems,
    })
}

/// What a node costs to hold, counting every copy an alias makes.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn of(node: &Node) -> Size {
        let mut size = Size { nodes: 1, bytes: 0 };
        match &node.value {
            Value::String(text) => size.bytes = text.len(),
            Value::Seq(items) => items.iter().for_each(|item| size.add(Size::of(item))),
            Value::Map(entries) => entries.iter().for_each(|e| {
                size.add(Size::of(&e.key));
                size.add(Size::of(&e.value));
            }),
            _ => {}
        }
        size
    }

    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

struct Frame {
    start: Pos,
    anchor: usize,
    kind: FrameKind,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<Entry>,
        key: Option<Node>,
        /// Where each key was first seen, once the mapping is too long to search its entries.
        first_seen: Option<HashMap<String, Pos>>,
    },
}

/// Mappings up to this many entries find a duplicate key by looking through their entries.
const SEARCHED_ENTRIES: usize = 16;

struct Builder<'a> {
    source: &'a SourceFile,
    limits: Limits,
    stack: Vec<Frame>,
    /// Anchored nodes with their sizes, so an alias's cost is known before copying.
    anchors: HashMap<usize, (Node, Size)>,
    documents: Vec<Node>,
    spent: Size,
    problems: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: saphyr_parser::Span) -> Result<(), Diagnostic> {
        let start = pos(&span.start);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = self.scalar(text, style, tag.as_deref(), start, pos(&span.end))?;
                let size = Size::of(&node);
                self.count(size, start)?;
                self.finish(node, anchor, size)
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if let Some(tag) = tag {
                    return Err(self.unsupported_tag(tag, start));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self
                        .source
                        .error(
                            start,
                            format!("nesting is deeper than {} levels", self.limits.max_depth),
                        )
                        .with_help(
                            "flatten the document; no Score or baseline file nests this deep",
                        ));
                }
                self.count(Size { nodes: 1, bytes: 0 }, start)?;
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    FrameKind::Seq(Vec::new())
                } else {
                    FrameKind::Map {
                        entries: Vec::new(),
                        key: None,
                        first_seen: None,
                    }
                };
                self.stack.push(Frame {
                    start,
                    anchor,
                    kind,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().expect("parser balances collection events");
                let value = match frame.kind {
                    FrameKind::Seq(items) => Value::Seq(items),
                    FrameKind::Map { entries, .. } => Value::Map(Mapping::new(entries)),
                };
                let node = Node {
                    value,
                    span: Span {
                        start: frame.start,
                        end: pos(&span.end),
                    },
                    style: None,
                };
                // Only anchored collections need their size: aliases of them are budgeted.
                let size = if frame.anchor != 0 {
                    Size::of(&node)
                } else {
                    Size::default()
                };
                self.finish(node, frame.anchor, size)
            }
            Event::Alias(id) => {
                let size = self.anchors.get(&id).map(|(_, size)| *size).ok_or_else(|| {
                    self.source
                        .error(start, "alias refers to an unknown anchor")
                        .with_help("define the anchor (`&name`) before the alias (`*name`) that uses it, in the same document")
                })?;
                // Budget the copy before making it.
                self.count(size, start)?;
                let node = self.anchors[&id].0.clone();
                self.push(node)
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => Ok(()),
        }
    }

    fn count(&mut self, size: Size, at: Pos) -> Result<(), Diagnostic> {
        self.spent.add(size);
        if self.spent.bytes > self.limits.max_bytes {
            return Err(self
                .source
                .error(
                    at,
                    format!(
                        "document expands to more than {} MiB of text (aliases copy their anchors)",
                        self.limits.max_bytes >> 20
                    ),
                )
                .with_help("write the content out instead of repeating aliases of long values"));
        }
        if self.spent.nodes > self.limits.max_nodes {
            return Err(self
                .source
                .error(
                    at,
                    format!(
                        "document expands to more than {} nodes (aliases multiply their anchors)",
                        self.limits.max_nodes
                    ),
                )
                .with_help("write the content out instead of nesting aliases of aliases"));
        }
        Ok(())
    }

    /// Records an anchor (if any) and hands the node to its parent.
    fn finish(&mut self, node: Node, anchor: usize, size: Size) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.push(node)
    }

    fn push(&mut self, node: Node) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.last_mut() else {
            self.documents.push(node);
            return Ok(());
        };
        match &mut frame.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map {
                entries,
                key: pending,
                first_seen,
            } => match pending.take() {
                Some(key) => entries.push(Entry { key, value: node }),
                None => {
                    let key = key_node(self.source, node)?;
                    let text = key.as_str().unwrap_or_default();
                    if first_seen.is_none() && entries.len() >= SEARCHED_ENTRIES {
                        let mut index = HashMap::new();
                        for e in entries.iter() {
                            index
                                .entry(e.key_str().to_owned())
                                .or_insert(e.key.span.start);
                        }
                        *first_seen = Some(index);
                    }
                    let first = match first_seen {
                        Some(index) => index.get(text).copied(),
                        None => entries
                            .iter()
                            .find(|e| e.key_str() == text)
                            .map(|e| e.key.span.start),
                    };
                    match (first, first_seen) {
                        (Some(first), _) => self.problems.push(
                            self.source
                                .error(key.span.start, format!("duplicate key `{text}`"))
                                .with_help(format!(
                                    "it is already defined at line {}; keep one of them",
                                    first.line
                                )),
                        ),
                        (None, Some(index)) => {
                            index.insert(text.to_owned(), key.span.start);
                        }
                        (None, None) => {}
                    }
                    *pending = Some(key);
                }
            },
        }
        Ok(())
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        )
    }

    fn scalar(
        &self,
        text: Cow<'_, str>,
        style: saphyr_parser::ScalarStyle,
        tag: Option<&Tag>,
        start: Pos,
        end: Pos,
    ) -> Result<Node, Diagnostic> {
        let style = scalar_style(style);
        let value = match tag {
            // Keys stay as written: `TRUE:` is the key "TRUE", `010:` is "010".
            None if self.expecting_key() => Value::String(text.into_owned()),
            None if style == ScalarStyle::Plain => resolve_plain(&text),
            None => Value::String(text.into_owned()),
            Some(tag) if tag.is_yaml_core_schema() => {
                let resolved = resolve_plain(&text);
                match (tag.suffix.as_str(), resolved) {
                    ("str", _) => Value::String(text.into_owned()),
                    ("null", v @ Value::Null)
                    | ("bool", v @ Value::Bool(_))
                    | ("int", v @ Value::Int(_))
                    | ("float", v @ Value::Float(_)) => v,
                    ("float", Value::Int(i)) => Value::Float(i as f64),
                    (suffix, _) => {
                        return Err(self
                            .source
                            .error(start, format!("`{text}` is not a valid !!{suffix} value"))
                            .with_help(format!("write a {suffix} value, or drop the tag and let the value's form decide its type")));
                    }
                }
            }
            Some(tag) => return Err(self.unsupported_tag(tag, start)),
        };
        Ok(Node {
            value,
            span: Span { start, end },
            style: Some(style),
        })
    }

    fn unsupported_tag(&self, tag: &Tag, at: Pos) -> Diagnostic {
        self.source
            .error(at, format!("unsupported YAML tag `{}{}`", tag.handle, tag.suffix))
            .with_help("remove the tag; only the core tags !!str, !!int, !!float, !!bool and !!null are understood")
    }
}

fn scalar_style(style: saphyr_parser::ScalarStyle) -> ScalarStyle {
    match style {
        saphyr_parser::ScalarStyle::Plain => ScalarStyle::Plain,
        saphyr_parser::ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        saphyr_parser::ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        saphyr_parser::ScalarStyle::Literal => ScalarStyle::Literal,
        saphyr_parser::ScalarStyle::Folded => ScalarStyle::Folded,
    }
}

/// Mapping keys must be scalars; they are kept as the text written (`8080:` is the key "8080").
fn key_node(source: &SourceFile, node: Node) -> Result<Node, Diagnostic> {
    let text = match node.value {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Seq(_) | Value::Map(_) => {
            return Err(source
                .error(
                    node.span.start,
                    "a mapping key must be a plain value, not a list or mapping",
                )
                .with_help("use a string key"));
        }
    };
    Ok(Node {
        value: Value::String(text),
        ..node
    })
}

/// YAML 1.2 core schema resolution of a plain scalar (`yes` and `on` stay strings).
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
    } else if let Some(octal) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(octal, 8) {
            return Value::Int(i);
        }
    } else if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if is_core_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_owned())
}

/// `[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?` or `\.[0-9]+(...)`, the core schema's float form.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int)
        && frac.is_none_or(all_digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

fn pos(marker: &Marker) -> Pos {
    Pos {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

fn scan_error(source: &SourceFile, e: &ScanError) -> Diagnostic {
    // The scanner has its own (higher) guard for flow collections like `[[[[`.
    if e.info().contains("recursion limit") {
        return source
            .error(pos(e.marker()), "nesting is too deep")
            .with_help("flatten the document; no Score or baseline file nests this deep");
    }
    source
        .error(pos(e.marker()), format!("invalid YAML: {}", e.info()))
        .with_help(
            "check indentation (spaces, not tabs), quoting and the `key: value` form near here",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Node>, Vec<Diagnostic>> {
        parse(&SourceFile::new("t.yaml", text), Limits::default())
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2_core() {
        let docs =
            load("a: 1\nb: yes\nc: 1.5\nd: ~\ne: '1'\nf: 0x1f\ng: true\nh: 1e3\ni: 1.2.3").unwrap();
        let json = docs[0].to_json();
        assert_eq!(
            json,
            serde_json::json!({"a": 1, "b": "yes", "c": 1.5, "d": null, "e": "1", "f": 31, "g": true, "h": 1000.0, "i": "1.2.3"})
        );
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let docs = load("top:\n  inner: value\n").unwrap();
        let (key, value) = docs[0].lookup(&["top", "inner"]).unwrap();
        assert_eq!(key.unwrap().span.start, Pos { line: 2, column: 3 });
        assert_eq!(
            value.span.start,
            Pos {
                line: 2,
                column: 10
            }
        );
    }

    #[test]
    fn all_duplicate_keys_are_reported() {
        let errs = load("a: 1\nb: 2\na: 3\nb: 4\n").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[0].line, errs[0].column), (3, 1));
        assert!(errs[0].message.contains("duplicate key `a`"));
        assert!(errs[1].message.contains("duplicate key `b`"));
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let errs = load(&text).unwrap_err();
        assert!(
            errs[0].message.contains("more than 1000000 nodes"),
            "{errs:?}"
        );
    }

    #[test]
    fn aliases_of_one_long_string_are_refused_by_size() {
        let long = "x".repeat(1 << 20);
        let aliases = vec!["*a"; 100].join(", ");
        let errs = load(&format!("a: &a \"{long}\"\nb: [{aliases}]\n")).unwrap_err();
        assert!(
            errs[0].message.contains("more than 64 MiB of text"),
            "{errs:?}"
        );
        // The 63rd alias makes 64 copies plus the keys: just over the budget.
        assert_eq!((errs[0].line, errs[0].column), (2, 5 + 4 * 62));
    }

    #[test]
    fn keys_stay_as_written() {
        let docs = load("TRUE: 1\n010: 2\n1.10: 3\n~: 4\n").unwrap();
        let keys: Vec<&str> = docs[0]
            .as_map()
            .unwrap()
            .iter()
            .map(Entry::key_str)
            .collect();
        assert_eq!(keys, ["TRUE", "010", "1.10", "~"]);
    }

    #[test]
    fn duplicate_keys_of_long_mappings_point_at_the_first() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: again\nk39: again\n");
        let errs = load(&text).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[0].line, errs[1].line), (41, 42));
        assert!(
            errs[0].help.as_deref().unwrap().contains("line 4;"),
            "{errs:?}"
        );
        assert!(
            errs[1].help.as_deref().unwrap().contains("line 40;"),
            "{errs:?}"
        );
    }

    #[test]
    fn duplicates_keep_the_tree_for_further_checks() {
        let src = SourceFile::new("t.yaml", "a: 1\na: 2\nb: 3\n");
        let parsed = parse_keeping_duplicates(&src, Limits::default()).unwrap();
        assert_eq!(parsed.duplicates.len(), 1);
        assert_eq!(parsed.documents[0].get("b").unwrap().value, Value::Int(3));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(5000) + &"]".repeat(5000);
        let errs = load(&text).unwrap_err();
        assert!(errs[0].message.contains("nesting is"), "{errs:?}");
        let block: String = (0..5000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let errs = load(&block).unwrap_err();
        assert!(
            errs[0].message.contains("nesting is deeper than 100"),
            "{errs:?}"
        );
        assert_eq!(errs[0].line, 101);
    }

    #[test]
    fn syntax_errors_are_located() {
        let errs = load("a: 1\n b: 2\n").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].message.starts_with("invalid YAML"));
    }

    #[test]
    fn unknown_tags_are_refused() {
        let errs = load("a: !custom 1\n").unwrap_err();
        assert!(errs[0].message.contains("unsupported YAML tag"));
        assert_eq!(
            load("a: !!str 1\n").unwrap()[0].to_json(),
            serde_json::json!({"a": "1"})
        );
    }

    #[test]
    fn positions_inside_scalars() {
        let src = SourceFile::new(
            "t.yaml",
            "a: hello ${x}\nb: \"q ${y}\"\nc: |\n  line one\n  two ${z}\n",
        );
        let docs = parse(&src, Limits::default()).unwrap();
        let at = |k: &str, off| docs[0].get(k).unwrap().position_at(&src, off);
        assert_eq!(
            at("a", 6),
            Pos {
                line: 1,
                column: 10
            }
        );
        assert_eq!(at("b", 2), Pos { line: 2, column: 7 });
        assert_eq!(at("c", 13), Pos { line: 5, column: 7 });
    }
}
