//! A JSON ticket read straight into its slots, driven by the schema: no
//! `serde_json::Value` is built, each value is checked as it is read, and
//! strings without escapes are borrowed from the input.
//!
//! This reader only answers for tickets that are right. At the first thing
//! that is not (a wrong type, an unknown or missing field, a duplicate key,
//! JSON that does not parse) it gives up, and the caller reads the bytes the
//! long way, as a `Value` checked by `Schema::check`, which finds every
//! problem and words it. So the two ways can never disagree on an answer:
//! they agree on which tickets are right (tested on generated tickets), and
//! only the long way ever words a problem.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::json::strip_bom;
use super::layout::{Kind, Node, Schema, member, timestamp};
use super::ticket::{Slot, Ticket};

/// The ticket in `bytes`, if it is valid JSON and a valid ticket; `None`
/// for anything else, to be read by the long way for its problems.
pub(crate) fn read<'a>(schema: &'a Schema, digest: &'a str, bytes: &'a [u8]) -> Option<Ticket<'a>> {
    let mut sent = vec![None; schema.fields.len()];
    // Checked as UTF-8 once, whole: a reader of `&str` then takes each
    // string as it is, where one of bytes checks each string on its own.
    let text = std::str::from_utf8(strip_bom(bytes)).ok()?;
    let mut reader = serde_json::Deserializer::from_str(text);
    let object = Object {
        schema,
        node: &schema.root,
        sent: &mut sent,
    };
    object.deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Ticket::complete(schema, digest, sent).ok()
}

/// The error that sends a ticket the long way; never shown.
fn give_up<E: de::Error>() -> E {
    E::custom("")
}

/// An object of the ticket: its fields go into `sent`.
struct Object<'s, 'a> {
    schema: &'a Schema,
    node: &'a Node,
    sent: &'s mut [Option<Slot<'a>>],
}

impl<'a> DeserializeSeed<'a> for Object<'_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for Object<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ticket object")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        let Node::Object(children) = self.node else {
            return Err(give_up());
        };
        // The children already read: a key named twice is refused.
        let mut seen = 0u64;
        // Tickets mostly list a schema's fields in its order: the child
        // after the last one found is tried first.
        let mut next = 0;
        while let Some(key) = map.next_key::<&'a str>()? {
            let at = match children.get(next) {
                Some((name, _)) if **name == *key => next,
                _ => (children.iter().position(|(name, _)| **name == *key)).ok_or_else(give_up)?,
            };
            next = at + 1;
            // An object of more than 64 names is read the long way.
            let bit = 1u64.checked_shl(at as u32).ok_or_else(give_up)?;
            if seen & bit != 0 {
                return Err(give_up());
            }
            seen |= bit;
            match &children[at].1 {
                Node::Leaf(index) => {
                    let field = &self.schema.fields[*index];
                    let seed = Leaf {
                        kind: &field.kind,
                        required: field.required,
                    };
                    if let Some(slot) = map.next_value_seed(seed)? {
                        self.sent[*index] = Some(slot);
                    }
                }
                child => map.next_value_seed(Object {
                    schema: self.schema,
                    node: child,
                    sent: &mut *self.sent,
                })?,
            }
        }
        Ok(())
    }
}

/// A field's value: its slot, or `None` for the `null` of an optional field
/// (which then takes its default, as if it were not sent).
struct Leaf<'a> {
    kind: &'a Kind,
    required: bool,
}

impl<'a> DeserializeSeed<'a> for Leaf<'a> {
    type Value = Option<Slot<'a>>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> Leaf<'a> {
    fn text<E: de::Error>(self, text: Cow<'a, str>) -> Result<Option<Slot<'a>>, E> {
        let slot = match self.kind {
            Kind::String => Slot::Text(text),
            Kind::Timestamp if timestamp(&text).is_ok() => Slot::Text(text),
            Kind::Enum(allowed) => Slot::Enum(member(allowed, &text).map_err(|_| give_up())?),
            _ => return Err(give_up()),
        };
        Ok(Some(slot))
    }
}

impl<'a> Visitor<'a> for Leaf<'a> {
    type Value = Option<Slot<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field's value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        match self.kind {
            Kind::Bool => Ok(Some(Slot::Bool(value))),
            _ => Err(give_up()),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        match self.kind {
            Kind::Integer => Ok(Some(Slot::Int(value))),
            _ => Err(give_up()),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        let value = i64::try_from(value).map_err(|_| give_up())?;
        self.visit_i64(value)
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'a str) -> Result<Self::Value, E> {
        self.text(Cow::Borrowed(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        self.text(Cow::Owned(value.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        match self.required {
            false => Ok(None),
            true => Err(give_up()),
        }
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut items: S) -> Result<Self::Value, S::Error> {
        let Kind::List(allowed) = self.kind else {
            return Err(give_up());
        };
        let mut codes = Vec::new();
        while let Some(code) = items.next_element_seed(Member(allowed))? {
            codes.push(code);
        }
        Ok(Some(Slot::List(codes)))
    }
}

/// An item of a list field: its place among the declared values.
struct Member<'a>(&'a [std::sync::Arc<str>]);

impl<'a> DeserializeSeed<'a> for Member<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for Member<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of the list's values")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<u32, E> {
        member(self.0, value).map_err(|_| give_up())
    }
}
