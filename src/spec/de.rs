//! Deserializes typed structs from a positioned [`Node`] tree.
//!
//! Unknown keys do not stop deserialization: each is recorded (with a
//! "did you mean" taken from the struct's own field list) so that one run
//! reports all of them. A type error stops it and carries the path and
//! position of the offending value; [`from_node`] then removes that value
//! and tries again, so every type error is reported too.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::yaml::{Key, Node, Pos, Resolved, Value};

/// One problem found while reading the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: String,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

/// Deserializes `T`, returning it (if every type error could be removed) and
/// every problem found on the way.
pub fn from_node<T: DeserializeOwned>(root: &Node) -> (Option<T>, Vec<Problem>) {
    let mut tree = root.clone();
    let mut problems: Vec<Problem> = Vec::new();
    for _ in 0..64 {
        let unknown = RefCell::new(Vec::new());
        let result = T::deserialize(NodeDe {
            node: &tree,
            path: String::new(),
            unknown: &unknown,
        });
        for p in unknown.into_inner() {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        match result {
            Ok(v) => return (Some(v), problems),
            Err(e) => {
                let repeated_missing = e.message.starts_with("missing field")
                    && problems
                        .iter()
                        .any(|p| p.path.starts_with(&e.path) && p.path != e.path);
                let pos = e
                    .pos
                    .clone()
                    .unwrap_or_else(|| tree.locate(&e.path).pos.clone());
                if !repeated_missing {
                    problems.push(Problem {
                        path: e.path.clone(),
                        pos,
                        message: e.message.clone(),
                        hint: e.hint.clone().or_else(|| type_hint(&e.message)),
                    });
                }
                // Remove the offending value and go again; stop if that changes nothing.
                if e.path.is_empty() || !remove(&mut tree, &e.path) {
                    return (None, problems);
                }
            }
        }
    }
    (None, problems)
}

fn remove(tree: &mut Node, path: &str) -> bool {
    let (parent, last) = match path.rfind(['.', '[']) {
        Some(i) => (&path[..i], &path[i..]),
        None => ("", path),
    };
    let parent_node = tree.locate_mut(parent);
    match (
        &mut parent_node.value,
        last.strip_prefix('.').unwrap_or(last),
    ) {
        (Value::Map(entries), key) if !key.starts_with('[') => {
            let before = entries.len();
            entries.retain(|(k, _)| k.name != key);
            entries.len() != before
        }
        (Value::Seq(items), idx) => match idx
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<usize>()
        {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// A deserialization error with the path of the value it concerns.
#[derive(Debug)]
pub struct Error {
    path: String,
    pos: Option<Pos>,
    message: String,
    hint: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Error {
            path: String::new(),
            pos: None,
            message: msg.to_string(),
            hint: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let hint = did_you_mean(variant, expected)
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("expected one of: {}", expected.join(", "))));
        Error {
            path: String::new(),
            pos: None,
            message: format!("unknown value `{variant}`"),
            hint,
        }
    }
}

/// A hint for a type error that came without one, from its message.
fn type_hint(message: &str) -> Option<String> {
    let hint = if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        format!("add `{field}:` here (`liftoff init` writes a commented starter spec)")
    } else if message.contains("whole number") {
        "write a number without quotes or units, e.g. `100`".into()
    } else if message.starts_with("expected a string") {
        "write text; quote it when YAML would read it as something else, e.g. \"1.33\"".into()
    } else if message.starts_with("expected a list") {
        "write a list: `[a, b]`, or one `- item` per line".into()
    } else if message.starts_with("expected a mapping") {
        "write `key: value` pairs, indented under this key".into()
    } else if message.contains("boolean") {
        "write `true` or `false`".into()
    } else {
        "see the spec reference in the README".into()
    };
    Some(hint)
}

/// The closest candidate, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

struct NodeDe<'a> {
    node: &'a Node,
    path: String,
    unknown: &'a RefCell<Vec<Problem>>,
}

impl<'a> NodeDe<'a> {
    fn child(&self, node: &'a Node, segment: &str) -> NodeDe<'a> {
        NodeDe {
            node,
            path: self.child_path(segment),
            unknown: self.unknown,
        }
    }

    /// Fills in path and position on an error raised below this node.
    fn locate(&self, mut e: Error) -> Error {
        if e.pos.is_none() {
            e.pos = Some(self.node.pos.clone());
            e.path = self.path.clone();
        }
        e
    }

    fn fail(&self, message: String) -> Error {
        Error {
            path: self.path.clone(),
            pos: Some(self.node.pos.clone()),
            message,
            hint: None,
        }
    }

    fn kind(&self) -> &'static str {
        match &self.node.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { .. } => match self.node.resolve() {
                Some(Resolved::Null) => "nothing (null)",
                Some(Resolved::Bool(_)) => "a boolean",
                Some(Resolved::Int(_) | Resolved::Float(_)) => "a number",
                _ => "a string",
            },
        }
    }

    fn scalar(&self, expected: &str) -> Result<&'a str, Error> {
        match &self.node.value {
            Value::Scalar { text, .. } => Ok(text),
            _ => Err(self.fail(format!("expected {expected}, found {}", self.kind()))),
        }
    }

    fn parse<T: std::str::FromStr>(&self, expected: &str) -> Result<T, Error> {
        let text = self.scalar(expected)?;
        text.trim()
            .parse()
            .map_err(|_| self.fail(format!("expected {expected}, found `{text}`")))
    }
}

macro_rules! number {
    ($($method:ident $visit:ident $ty:ty, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let v: $ty = self.parse($what)?;
            visitor.$visit(v).map_err(|e| self.locate(e))
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.value {
            Value::Seq(_) => return self.deserialize_seq(visitor),
            Value::Map(_) => return self.deserialize_map(visitor),
            Value::Scalar { .. } => match self.node.resolve().expect("scalar") {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(b),
                Resolved::Int(i) => visitor.visit_i64(i),
                Resolved::Float(f) => visitor.visit_f64(f),
                Resolved::Str(s) => visitor.visit_str(s),
            },
        };
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.resolve() {
            Some(Resolved::Bool(b)) => visitor.visit_bool(b).map_err(|e| self.locate(e)),
            _ => Err(self.fail(format!("expected true or false, found {}", self.kind()))),
        }
    }

    number! {
        deserialize_i8 visit_i8 i8, "a whole number";
        deserialize_i16 visit_i16 i16, "a whole number";
        deserialize_i32 visit_i32 i32, "a whole number";
        deserialize_i64 visit_i64 i64, "a whole number";
        deserialize_u8 visit_u8 u8, "a whole number from 0 to 255";
        deserialize_u16 visit_u16 u16, "a whole number from 0 to 65535";
        deserialize_u32 visit_u32 u32, "a positive whole number";
        deserialize_u64 visit_u64 u64, "a positive whole number";
        deserialize_f32 visit_f32 f32, "a number";
        deserialize_f64 visit_f64 f64, "a number";
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            return Err(self.fail("expected a string, found nothing (null)".into()));
        }
        let text = self.scalar("a string")?;
        visitor.visit_str(text).map_err(|e| self.locate(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let Value::Seq(items) = &self.node.value else {
            return Err(self.fail(format!("expected a list, found {}", self.kind())));
        };
        let access = SeqAccess {
            de: &self,
            items: items.iter().enumerate(),
        };
        visitor.visit_seq(access).map_err(|e| self.locate(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.map(None, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.map(Some(fields), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let text = self.scalar("one of the listed values")?;
        visitor
            .visit_enum(text.into_deserializer())
            .map_err(|e: Error| self.locate(e))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

type Entries<'a> = Box<dyn Iterator<Item = &'a (Key, Node)> + 'a>;

impl<'a> NodeDe<'a> {
    fn map<'de, V: Visitor<'de>>(
        self,
        fields: Option<&'static [&'static str]>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let entries: &'a [(Key, Node)] = match &self.node.value {
            Value::Map(entries) => entries,
            _ if self.node.is_null() && fields.is_some() => &[],
            _ => return Err(self.fail(format!("expected a mapping, found {}", self.kind()))),
        };
        if let Some(fields) = fields {
            for (key, _) in entries
                .iter()
                .filter(|(k, _)| !fields.contains(&k.name.as_str()))
            {
                let hint = match did_you_mean(&key.name, fields) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known keys here: {}", fields.join(", ")),
                };
                self.unknown.borrow_mut().push(Problem {
                    path: self.child_path(&key.name),
                    pos: key.pos.clone(),
                    message: format!("unknown key `{}`", key.name),
                    hint: Some(hint),
                });
            }
        }
        let known: Entries<'a> = Box::new(
            entries
                .iter()
                .filter(move |(k, _)| fields.is_none_or(|f| f.contains(&k.name.as_str()))),
        );
        let access = MapAccess {
            de: &self,
            entries: known,
            value: None,
        };
        visitor.visit_map(access).map_err(|e| self.locate(e))
    }

    fn child_path(&self, segment: &str) -> String {
        if self.path.is_empty() || segment.starts_with('[') {
            format!("{}{segment}", self.path)
        } else {
            format!("{}.{segment}", self.path)
        }
    }
}

struct SeqAccess<'s, 'a, I> {
    de: &'s NodeDe<'a>,
    items: I,
}

impl<'de, 's, 'a, I: Iterator<Item = (usize, &'a Node)>> de::SeqAccess<'de>
    for SeqAccess<'s, 'a, I>
{
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => seed
                .deserialize(self.de.child(node, &format!("[{i}]")))
                .map(Some),
        }
    }
}

struct MapAccess<'s, 'a> {
    de: &'s NodeDe<'a>,
    entries: Entries<'a>,
    value: Option<&'a (Key, Node)>,
}

impl<'de, 's, 'a> de::MapAccess<'de> for MapAccess<'s, 'a> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some(entry) => {
                self.value = Some(entry);
                seed.deserialize(entry.0.name.as_str().into_deserializer())
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (key, node) = self.value.take().expect("value after key");
        seed.deserialize(self.de.child(node, &key.name))
    }
}
