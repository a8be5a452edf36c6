//! A YAML document tree that remembers where every value came from.
//!
//! The spec and the profiles are parsed into [`Node`]s (file, line, column
//! on every node) so that merging keeps the origin of each value and every
//! validation error can point at the line that caused it.

use std::fmt;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// How positions in a profile built into the binary are labelled: the user
/// has no such file, so they read "built-in profile `NAME`, line N".
pub const BUILTIN_PROFILE: &str = "built-in profile";

impl Pos {
    /// Whether the position is in a profile built into the binary.
    pub fn is_builtin(&self) -> bool {
        self.file.starts_with(BUILTIN_PROFILE)
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_builtin() {
            write!(f, "{}, line {}", self.file, self.line)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

/// One value of the tree with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// The shape of a value. Scalars keep their source text: the caller decides
/// whether `1.30` is a string (a Kubernetes version) or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { text: String, quoted: bool },
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its own position (used for "unknown key" errors).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

/// A plain-scalar's meaning under the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), Some(Resolved::Null))
    }

    /// Resolves a scalar by the core schema; `None` for sequences and maps.
    pub fn resolve(&self) -> Option<Resolved<'_>> {
        let Value::Scalar { text, quoted } = &self.value else {
            return None;
        };
        if *quoted {
            return Some(Resolved::Str(text));
        }
        Some(match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
            "true" | "True" | "TRUE" => Resolved::Bool(true),
            "false" | "False" | "FALSE" => Resolved::Bool(false),
            t => {
                if let Ok(i) = t.parse::<i64>() {
                    Resolved::Int(i)
                } else if looks_like_float(t) {
                    t.parse::<f64>().map_or(Resolved::Str(t), Resolved::Float)
                } else {
                    Resolved::Str(t)
                }
            }
        })
    }

    /// The child at `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The deepest node on a dotted path such as `network.subnets[1].id`
    /// (the node itself when the path is empty or does not resolve at all).
    pub fn locate(&self, path: &str) -> &Node {
        let mut node = self;
        for part in split_path(path) {
            let next = match part {
                PathPart::Key(k) => node.get(k),
                PathPart::Index(i) => match &node.value {
                    Value::Seq(items) => items.get(i),
                    _ => None,
                },
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// Mutable twin of [`Node::locate`].
    pub fn locate_mut(&mut self, path: &str) -> &mut Node {
        let mut node = self;
        for part in split_path(path) {
            let exists = match (&node.value, &part) {
                (Value::Map(entries), PathPart::Key(k)) => {
                    entries.iter().any(|(key, _)| key.name == *k)
                }
                (Value::Seq(items), PathPart::Index(i)) => *i < items.len(),
                _ => false,
            };
            if !exists {
                break;
            }
            node = match (&mut node.value, part) {
                (Value::Map(entries), PathPart::Key(k)) => {
                    &mut entries
                        .iter_mut()
                        .find(|(key, _)| key.name == k)
                        .expect("checked")
                        .1
                }
                (Value::Seq(items), PathPart::Index(i)) => &mut items[i],
                _ => unreachable!("checked above"),
            };
        }
        node
    }

    /// The position of the key naming the last path element, when it exists
    /// (unknown-key errors point at the key, not at its value).
    pub fn key_pos(&self, path: &str) -> Option<Pos> {
        let (parent, last) = match path.rfind('.') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        match &self.locate(parent).value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == last)
                .map(|(k, _)| k.pos.clone()),
            _ => None,
        }
    }

    /// Converts to JSON under the core schema (for free-form values).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Scalar { .. } => match self.resolve().expect("scalar") {
                Resolved::Null => J::Null,
                Resolved::Bool(b) => J::Bool(b),
                Resolved::Int(i) => J::from(i),
                Resolved::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
                Resolved::Str(s) => J::String(s.to_string()),
            },
        }
    }
}

enum PathPart<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<PathPart<'_>> {
    let mut parts = Vec::new();
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (name, mut rest) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            parts.push(PathPart::Key(name));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(i) = rest[1..end].parse() {
                parts.push(PathPart::Index(i));
            }
            rest = &rest[end + 1..];
        }
    }
    parts
}

fn looks_like_float(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    matches!(body, ".inf" | ".Inf" | ".INF")
        || body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            && body
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '.')
            && body.chars().any(|c| c.is_ascii_digit())
}

/// A YAML syntax error.
#[derive(Debug, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// The most values a document may hold once its aliases are expanded: a
/// spec holds hundreds; a few lines of aliases of aliases ("billion
/// laughs") would otherwise expand to billions and exhaust memory.
pub const MAX_VALUES: usize = 100_000;

/// Parses one YAML document. An empty document is an empty mapping.
pub fn parse(file: &str, text: &str) -> Result<Node, SyntaxError> {
    let file: Arc<str> = Arc::from(file);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // Each anchor with its node and how many values that node holds.
    let mut anchors: Vec<(usize, Node, usize)> = Vec::new();
    // Values so far, aliases counted as the values they repeat.
    let mut values: usize = 0;
    let mut root: Option<Node> = None;
    let pos_of = |m: &saphyr_parser::Marker| Pos {
        file: file.clone(),
        line: m.line(),
        col: m.col() + 1,
    };

    for ev in parser.by_ref() {
        let (ev, span) = ev.map_err(|e| {
            let (line, col, message) = super::yaml_syntax::explain(
                text,
                e.marker().line(),
                e.marker().col() + 1,
                e.info(),
            );
            SyntaxError {
                pos: Pos {
                    file: file.clone(),
                    line,
                    col,
                },
                message,
            }
        })?;
        let pos = pos_of(&span.start);
        let (node, anchor, size) = match ev {
            Event::Scalar(text, style, anchor, _) => {
                values += 1;
                let quoted = !matches!(style, ScalarStyle::Plain);
                (
                    Node {
                        value: Value::Scalar {
                            text: text.into_owned(),
                            quoted,
                        },
                        pos,
                    },
                    anchor,
                    1,
                )
            }
            Event::Alias(id) => match anchors.iter().rev().find(|(a, ..)| *a == id) {
                Some((_, n, size)) => {
                    if values + size > MAX_VALUES {
                        return Err(SyntaxError {
                            pos,
                            message: format!(
                                "the aliases expand the document past {MAX_VALUES} values"
                            ),
                        });
                    }
                    values += size;
                    (n.clone(), 0, *size)
                }
                None => {
                    return Err(SyntaxError {
                        pos,
                        message: "unknown alias".into(),
                    });
                }
            },
            Event::SequenceStart(anchor, _) => {
                values += 1;
                stack.push(Frame {
                    node: Node {
                        value: Value::Seq(Vec::new()),
                        pos,
                    },
                    anchor,
                    pending_key: None,
                    size: 1,
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                values += 1;
                stack.push(Frame {
                    node: Node {
                        value: Value::Map(Vec::new()),
                        pos,
                    },
                    anchor,
                    pending_key: None,
                    size: 1,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack.pop().expect("balanced events");
                (frame.node, frame.anchor, frame.size)
            }
            Event::DocumentEnd => break,
            _ => continue,
        };
        if anchor != 0 {
            anchors.push((anchor, node.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(frame) => {
                frame.size += size;
                frame.push(node)?;
            }
        }
    }
    // A spec is one document: a second after `---` would be ignored unseen.
    for ev in parser {
        match ev {
            Ok((Event::DocumentStart(..), span)) => {
                return Err(SyntaxError {
                    pos: pos_of(&span.start),
                    message: "a second YAML document: a spec is one document".into(),
                });
            }
            Ok(_) => {}
            Err(e) => {
                return Err(SyntaxError {
                    pos: pos_of(e.marker()),
                    message: e.info().to_string(),
                });
            }
        }
    }
    Ok(root.filter(|n| !n.is_null()).unwrap_or(Node {
        value: Value::Map(Vec::new()),
        pos: Pos {
            file,
            line: 1,
            col: 1,
        },
    }))
}

struct Frame {
    node: Node,
    anchor: usize,
    pending_key: Option<Key>,
    /// Values in this container, itself included.
    size: usize,
}

impl Frame {
    fn push(&mut self, node: Node) -> Result<(), SyntaxError> {
        match &mut self.node.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match self.pending_key.take() {
                None => {
                    let Value::Scalar { text, .. } = node.value else {
                        return Err(SyntaxError {
                            pos: node.pos,
                            message: "mapping keys must be plain strings".into(),
                        });
                    };
                    if entries.iter().any(|(k, _)| k.name == text) {
                        return Err(SyntaxError {
                            pos: node.pos,
                            message: format!("duplicate key `{text}`"),
                        });
                    }
                    self.pending_key = Some(Key {
                        name: text,
                        pos: node.pos,
                    });
                }
                Some(key) => entries.push((key, node)),
            },
            Value::Scalar { .. } => unreachable!("scalars hold no children"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_source_text() {
        let n = parse("s.yaml", "a:\n  b: 1.30\n  c: [x, 'y']\n").unwrap();
        let b = n.locate("a.b");
        assert_eq!((b.pos.line, b.pos.col), (2, 6));
        assert_eq!(
            b.value,
            Value::Scalar {
                text: "1.30".into(),
                quoted: false
            }
        );
        assert_eq!(n.locate("a.c[1]").resolve(), Some(Resolved::Str("y")));
        assert_eq!(n.key_pos("a.c").unwrap().line, 3);
    }

    #[test]
    fn rejects_duplicate_keys_with_position() {
        let e = parse("s.yaml", "a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
        assert!(e.message.contains("duplicate key"));
    }

    #[test]
    fn core_schema() {
        let n = parse("s", "[~, true, 12, 1.5, '12', abc]").unwrap();
        let got: Vec<_> = (0..6)
            .map(|i| n.locate(&format!("[{i}]")).to_json())
            .collect();
        assert_eq!(
            serde_json::Value::Array(got),
            serde_json::json!([null, true, 12, 1.5, "12", "abc"])
        );
    }
}
