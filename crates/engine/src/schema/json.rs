//! Tickets as JSON bytes: the one reader for every place a ticket arrives
//! that way (`triage eval` files and standard input, batch lines, HTTP
//! bodies), so that they all accept and refuse the same things.
//!
//! It differs from `serde_json::from_slice::<Value>` in two ways: one leading
//! UTF-8 byte-order mark is skipped, and an object that names a key twice is
//! refused (serde_json keeps the last value, so two readers of the same
//! ticket could see two different tickets). Nesting stays bounded by
//! serde_json's recursion limit of 128 arrays and objects.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The UTF-8 byte-order mark, which editors on some systems put first.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without one leading UTF-8 byte-order mark, if they start with one.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// Why bytes are not a ticket in JSON.
#[derive(Debug)]
pub enum TicketSyntaxError {
    /// Not JSON, or nested deeper than 128 arrays and objects: serde_json's
    /// error, with its line and column.
    Json(serde_json::Error),
    /// A ticket read from a stream ([`read_tickets`](crate::read_tickets))
    /// is larger than it may be; the stream was not read past it.
    TooLarge {
        /// Which ticket of an array it is (from 0); `None` when the input
        /// is not an array.
        index: Option<usize>,
        /// The most bytes a ticket may take.
        max: u64,
    },
    /// An object names the same key twice.
    DuplicateKey {
        /// The key named twice.
        key: String,
        /// The dotted path of the object holding it (`issue`, `[2].issue`);
        /// empty for the top level.
        within: String,
        /// 1-based line of the second occurrence.
        line: usize,
        /// 1-based column of the end of the second occurrence.
        column: usize,
    },
}

impl TicketSyntaxError {
    /// The dotted path of the field at fault, for a duplicate key (`issue.severity`).
    pub fn field(&self) -> Option<String> {
        match self {
            TicketSyntaxError::Json(_) | TicketSyntaxError::TooLarge { .. } => None,
            TicketSyntaxError::DuplicateKey { key, within, .. } if within.is_empty() => {
                Some(key.clone())
            }
            TicketSyntaxError::DuplicateKey { key, within, .. } => Some(format!("{within}.{key}")),
        }
    }
}

impl fmt::Display for TicketSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TicketSyntaxError::Json(error) => write!(f, "{error}"),
            TicketSyntaxError::TooLarge { index, max } => {
                if let Some(index) = index {
                    write!(f, "ticket [{index}] is ")?;
                }
                write!(
                    f,
                    "larger than the {max} bytes a ticket may take, so the input was not read past it"
                )
            }
            TicketSyntaxError::DuplicateKey {
                key,
                within,
                line,
                column,
            } => {
                write!(f, "duplicate key `{key}`")?;
                if !within.is_empty() {
                    write!(f, " in `{within}`")?;
                }
                write!(f, " at line {line} column {column}")
            }
        }
    }
}

impl std::error::Error for TicketSyntaxError {}

/// Reads `bytes` as one JSON value (a ticket, or an array of them): one
/// leading byte-order mark skipped, any duplicate key refused. Valid JSON
/// without a duplicate key gives the very value `serde_json` would.
pub fn parse_ticket(bytes: &[u8]) -> Result<Value, TicketSyntaxError> {
    let found = RefCell::new(None);
    let mut reader = serde_json::Deserializer::from_slice(strip_bom(bytes));
    let read = Seed(&found)
        .deserialize(&mut reader)
        .and_then(|value| reader.end().map(|()| value));
    read.map_err(|error| syntax(error, found.into_inner()))
}

/// The error for `error`, a duplicate key's when one was `found`.
pub(super) fn syntax(error: serde_json::Error, found: Option<Duplicate>) -> TicketSyntaxError {
    match found {
        Some(Duplicate { key, mut path }) => {
            path.reverse();
            TicketSyntaxError::DuplicateKey {
                key,
                within: dotted(&path),
                line: error.line(),
                column: error.column(),
            }
        }
        None => TicketSyntaxError::Json(error),
    }
}

/// A key found twice, and the path to its object, innermost step first.
pub(super) struct Duplicate {
    key: String,
    path: Vec<Step>,
}

pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// `issue.tags`, `[2].issue`: the path as people write it.
fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// Builds a `Value` as serde_json's own does, but refuses a duplicate key,
/// noting it in the cell; each enclosing array and object adds its step to
/// the path as the error passes through it, so success costs nothing extra.
#[derive(Clone, Copy)]
pub(super) struct Seed<'a>(pub(super) &'a RefCell<Option<Duplicate>>);

impl Seed<'_> {
    /// Adds `step` to the path of the duplicate key, if one was found.
    pub(super) fn within(self, step: Step) {
        if let Some(duplicate) = self.0.borrow_mut().as_mut() {
            duplicate.path.push(step);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            match seq.next_element_seed(self) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(Value::Array(items)),
                Err(error) => {
                    self.within(Step::Index(items.len()));
                    return Err(error);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let message = format!("duplicate key `{key}`");
                *self.0.borrow_mut() = Some(Duplicate {
                    key,
                    path: Vec::new(),
                });
                return Err(de::Error::custom(message));
            }
            match map.next_value_seed(self) {
                Ok(value) => {
                    object.insert(key, value);
                }
                Err(error) => {
                    self.within(Step::Key(key));
                    return Err(error);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate(text: &str) -> (String, Option<String>) {
        let error = parse_ticket(text.as_bytes()).unwrap_err();
        (error.to_string(), error.field())
    }

    #[test]
    fn a_duplicate_key_is_named_with_its_path_and_place() {
        assert_eq!(
            duplicate(r#"{"id": "T-1", "id": "T-2"}"#),
            (
                "duplicate key `id` at line 1 column 18".to_owned(),
                Some("id".to_owned())
            )
        );
        assert_eq!(
            duplicate("{\"issue\": {\"severity\": \"A\",\n \"severity\": \"C\"}}").0,
            "duplicate key `severity` in `issue` at line 2 column 11"
        );
        let (message, field) = duplicate(r#"[{}, {"a": [0, {"b": 1, "b": 2}]}]"#);
        assert_eq!(
            message,
            "duplicate key `b` in `[1].a[1]` at line 1 column 27"
        );
        assert_eq!(field.as_deref(), Some("[1].a[1].b"));
    }

    #[test]
    fn the_same_key_in_two_objects_is_no_duplicate() {
        let value = parse_ticket(br#"{"a": {"x": 1}, "b": {"x": 2}}"#).unwrap();
        assert_eq!(value["b"]["x"], 2);
    }

    #[test]
    fn one_leading_bom_is_skipped_and_only_one() {
        assert_eq!(
            parse_ticket(b"\xEF\xBB\xBF{}").unwrap(),
            serde_json::json!({})
        );
        assert!(parse_ticket(b"\xEF\xBB\xBF\xEF\xBB\xBF{}").is_err());
        assert!(parse_ticket(b" \xEF\xBB\xBF{}").is_err());
    }

    #[test]
    fn values_are_those_serde_json_reads() {
        let text = br#"{"a": [1, -2, 3.5, 1e300, "x\u001b", null, true, {}], "big": 18446744073709551615}"#;
        let theirs: Result<Value, _> = serde_json::from_slice(text);
        assert_eq!(parse_ticket(text).ok(), theirs.ok());
    }

    #[test]
    fn nesting_stays_bounded() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = parse_ticket(deep.as_bytes()).unwrap_err();
        assert!(
            error.to_string().starts_with("recursion limit exceeded"),
            "{error}"
        );
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        parse_ticket(fine.as_bytes()).unwrap();
    }
}
