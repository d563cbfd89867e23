//! A checked ticket in its bundle's layout: one slot per schema field, an
//! enum value as its place among the declared values, a list as those
//! places in the ticket's order. Conditions read the slots; the trace turns
//! them back into the JSON values the ticket sent.

use std::borrow::Cow;

use serde_json::Value;

use super::layout::{Kind, Schema, member, members, timestamp};

/// One field's value in a checked ticket.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Slot<'a> {
    /// An optional field the ticket did not send, without a default: `null`.
    Null,
    Bool(bool),
    Int(i64),
    /// A string or timestamp field's text.
    Text(Cow<'a, str>),
    /// An enum field's value: its place among the field's declared values.
    Enum(u32),
    /// A list field's items, each its place among the declared values, in
    /// the ticket's order (a list may name a value twice; the trace shows it
    /// as sent).
    List(Vec<u32>),
}

/// A ticket checked against a bundle's schema and laid out for evaluation,
/// by [`Bundle::read_ticket`](crate::Bundle::read_ticket) or
/// [`Bundle::ticket`](crate::Bundle::ticket). It borrows the bytes or value
/// it was read from, and it is decided by the bundle that read it (another
/// bundle refuses it unless it has the same digest).
#[derive(Clone, Debug)]
pub struct Ticket<'a> {
    pub(crate) slots: Vec<Slot<'a>>,
    /// For each field, whether its slot is the schema's default, standing in
    /// for a value the ticket did not send.
    pub(crate) defaulted: Vec<bool>,
    /// The digest of the bundle whose schema laid it out.
    pub(crate) digest: &'a str,
}

impl<'a> Slot<'a> {
    /// The slot for `value` in a field of `kind`, or why it does not fit.
    pub fn of(kind: &Kind, value: &'a Value) -> Result<Slot<'a>, String> {
        let slot = match (kind, value) {
            (Kind::String, Value::String(s)) => Slot::Text(Cow::Borrowed(s)),
            (Kind::Bool, Value::Bool(b)) => Slot::Bool(*b),
            (Kind::Integer, Value::Number(n)) => match n.as_i64() {
                Some(i) => Slot::Int(i),
                None => return Err("wrong type".to_owned()),
            },
            (Kind::Timestamp, Value::String(s)) => {
                timestamp(s)?;
                Slot::Text(Cow::Borrowed(s))
            }
            (Kind::Enum(allowed), Value::String(s)) => Slot::Enum(member(allowed, s)?),
            (Kind::List(allowed), Value::Array(items)) => Slot::List(members(allowed, items)?),
            _ => return Err("wrong type".to_owned()),
        };
        Ok(slot)
    }

    /// The value as the ticket sent it, in a field of `kind`.
    pub fn value(&self, kind: &Kind) -> Value {
        let name = |code: &u32| Value::String(name(kind, *code).to_owned());
        match self {
            Slot::Null => Value::Null,
            Slot::Bool(b) => Value::Bool(*b),
            Slot::Int(i) => Value::from(*i),
            Slot::Text(s) => Value::String(s.to_string()),
            Slot::Enum(code) => name(code),
            Slot::List(codes) => Value::Array(codes.iter().map(name).collect()),
        }
    }

    /// The text of a string, timestamp or enum value.
    pub fn as_str<'s>(&'s self, kind: &'s Kind) -> Option<&'s str> {
        match self {
            Slot::Text(s) => Some(s),
            Slot::Enum(code) => Some(name(kind, *code)),
            _ => None,
        }
    }
}

/// The declared value at `code` of an enum or list field.
pub(crate) fn name(kind: &Kind, code: u32) -> &str {
    let values = kind.values().unwrap_or_default();
    values.get(code as usize).map_or("", |v| v)
}

impl<'a> Ticket<'a> {
    /// The slots and default marks of a ticket whose fields were found as
    /// `sent` (`None` for a field not sent): each missing field takes its
    /// default, or `null`; `Err` lists the required fields missing.
    pub(crate) fn complete(
        schema: &'a Schema,
        digest: &'a str,
        sent: Vec<Option<Slot<'a>>>,
    ) -> Result<Ticket<'a>, Vec<usize>> {
        let mut slots = Vec::with_capacity(sent.len());
        let mut defaulted = vec![false; sent.len()];
        let mut missing = Vec::new();
        for (index, (field, slot)) in schema.fields.iter().zip(sent).enumerate() {
            let slot = match (slot, &field.default) {
                (Some(slot), _) => slot,
                (None, Some(default)) => {
                    defaulted[index] = true;
                    // The loader checked the default against the field's type.
                    Slot::of(&field.kind, default).unwrap_or(Slot::Null)
                }
                (None, None) if field.required => {
                    missing.push(index);
                    Slot::Null
                }
                (None, None) => Slot::Null,
            };
            slots.push(slot);
        }
        match missing.is_empty() {
            true => Ok(Ticket {
                slots,
                defaulted,
                digest,
            }),
            false => Err(missing),
        }
    }

    /// The text of the field at `index`, for the id and role fields.
    pub(crate) fn text<'s>(&'s self, schema: &'s Schema, index: usize) -> &'s str {
        self.slots[index]
            .as_str(&schema.fields[index].kind)
            .unwrap_or_default()
    }
}
