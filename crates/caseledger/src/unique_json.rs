//! The one reader of JSON text into a `serde_json::Value` for everything the
//! crate reads: events (the explainer, `event/parse.rs`), business calendars,
//! SLA policies, targets, complaint policies and role directories.
//!
//! It reads like `serde_json::from_str::<Value>` with one rule more: **a key
//! given twice in one object, at any depth, is an error naming its path**
//! (`priorities.normal.response_s`, `week.mon`, `roles[2].name`). JSON leaves
//! duplicates undefined and serde_json keeps the last silently, so
//! `{"fcr_rate": 0.7, "fcr_rate": 0.1}` would be judged against a target the
//! writer may never have seen. Each reader turns [`JsonError::DuplicateKey`]
//! into its own error, with the message of [`twice`].

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a JSON text was not read.
#[derive(Debug)]
pub(crate) enum JsonError {
    /// Not JSON (serde_json's error, with its line and column).
    Syntax(serde_json::Error),
    /// A key given twice in one object, by its path from the root.
    DuplicateKey(String),
}

/// Reads one JSON text (nothing but whitespace after it), refusing an object
/// that repeats a key.
pub(crate) fn parse(text: &str) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = UniqueKeys {
        path: None,
        duplicate: &duplicate,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match duplicate.into_inner() {
        Some(path) => JsonError::DuplicateKey(path),
        None => JsonError::Syntax(e),
    })
}

/// Reads any value from a serde deserializer (a `Deserialize` impl's), by
/// the same rule; a repeated key is the deserializer's custom error with the
/// message of [`twice`].
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    let duplicate = RefCell::new(None);
    let seed = UniqueKeys {
        path: None,
        duplicate: &duplicate,
    };
    seed.deserialize(d)
        .map_err(|e| match duplicate.into_inner() {
            Some(path) => serde::de::Error::custom(twice(&path)),
            None => e,
        })
}

/// The message for a key given twice, by its path: the wording every reader
/// shares.
pub(crate) fn twice(path: &str) -> String {
    format!("`{path}` is given twice; each key may appear once")
}

/// One step on the path from the root to a value: a key of an object or
/// the index of an array's item, kept as borrowed links so that no path is
/// built unless a key repeats.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

struct PathNode<'a> {
    step: Step<'a>,
    parent: Option<&'a PathNode<'a>>,
}

impl PathNode<'_> {
    /// `a.b[2].c`: keys joined by dots, indexes in brackets.
    fn path(&self) -> String {
        let mut out = self.parent.map(PathNode::path).unwrap_or_default();
        match self.step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
        out
    }
}

/// Deserializes a [`Value`] like serde_json does, but fails on a repeated
/// key, recording its path in `duplicate`.
#[derive(Clone, Copy)]
struct UniqueKeys<'p> {
    path: Option<&'p PathNode<'p>>,
    duplicate: &'p RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot hold a NaN or an infinity, so this is a number.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let node = PathNode {
                step: Step::Index(items.len()),
                parent: self.path,
            };
            let seed = UniqueKeys {
                path: Some(&node),
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let node = PathNode {
                step: Step::Key(&key),
                parent: self.path,
            };
            let value = map.next_value_seed(UniqueKeys {
                path: Some(&node),
                duplicate: self.duplicate,
            })?;
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(node.path());
                return Err(serde::de::Error::custom("duplicate key"));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate(text: &str) -> Option<String> {
        match parse(text) {
            Err(JsonError::DuplicateKey(path)) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn a_key_given_twice_is_named_by_its_path_at_any_depth() {
        assert_eq!(duplicate(r#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            duplicate(r#"{"priorities": {"normal": {"response_s": 1, "response_s": 2}}}"#)
                .as_deref(),
            Some("priorities.normal.response_s")
        );
        assert_eq!(
            duplicate(r#"{"roles": [{"name": 1}, {"name": 1, "name": 2}]}"#).as_deref(),
            Some("roles[1].name")
        );
        assert_eq!(
            duplicate(r#"[[{"x": 0, "x": 0}]]"#).as_deref(),
            Some("[0][0].x")
        );
    }

    #[test]
    fn other_texts_read_as_serde_json_reads_them() {
        for text in [
            r#"{"a": {"b": [1, 2.5, "x", null, true]}, "c": {}}"#,
            r#"{"a": 1, "b": {"a": 1}}"#,
            "[]",
            "-0",
            "18446744073709551615",
        ] {
            let expected: Value = serde_json::from_str(text).expect("JSON");
            assert_eq!(parse(text).ok(), Some(expected), "{text}");
        }
        assert!(matches!(parse("{"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse("{} {}"), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn a_deserialize_impl_gets_the_same_refusal() {
        let mut de = serde_json::Deserializer::from_str(r#"{"k": {"x": 1, "x": 2}}"#);
        let e = deserialize(&mut de).expect_err("twice");
        assert!(
            e.to_string()
                .starts_with("`k.x` is given twice; each key may appear once"),
            "{e}"
        );
    }
}
