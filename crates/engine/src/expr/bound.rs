//! Compile, third step: a lowered tree bound to the ticket schema, so that
//! the tests most conditions are made of compare integers. A ticket's enum
//! value is held as its place among the field's declared values (see
//! `schema::Slot`), so `field == "x"` on an enum field becomes a comparison
//! of that place with the place of `"x"`, `field in [..]` a lookup in a
//! table of places, and `"x" in list_field` a search for one place. Every
//! other term stays as it was, run by the general evaluator.
//!
//! The answers are the general evaluator's, including where it gives up
//! for rhai to answer (an absent field, a list past the size limit): a
//! bound test gives up in the same cases, and an enum whose declared values
//! could pass the string size limit is not bound at all.

use crate::expr::evaluated::Evaluated;
use crate::expr::term::{Cmp, Term};
use crate::schema::{Kind, Schema, Slot, Ticket};

/// A boolean term bound to the schema.
#[derive(Debug)]
pub(crate) enum Op {
    /// An enum field is (`equal`) or is not the declared value at `code`;
    /// `None` for a value the field does not declare, which it never is.
    EnumIs {
        field: usize,
        code: Option<u32>,
        equal: bool,
    },
    /// An enum field's value is one of those marked, by place.
    EnumIn {
        field: usize,
        places: Box<[bool]>,
    },
    /// A list field holds the declared value at `code` (`None`: never).
    ListHas {
        field: usize,
        code: Option<u32>,
    },
    Condition(usize),
    Not(Box<Op>),
    And(Box<[Op]>),
    Or(Box<[Op]>),
    /// Any other term, for the general evaluator.
    Term(Term),
}

/// What a bound tree reads, and the general evaluator for the rest.
pub(crate) struct Inputs<'a> {
    pub ticket: &'a Ticket<'a>,
    pub conditions: &'a Evaluated,
    /// The sandbox's limit on a list's length (0 for none).
    pub max_array: usize,
    pub general: &'a dyn Fn(&Term) -> Option<bool>,
}

/// `term` bound to `schema`; `max_string` is the sandbox's limit on a
/// string's length (0 for none).
pub(crate) fn bind(term: &Term, schema: &Schema, max_string: usize) -> Op {
    let enum_values = |field: usize| match &schema.fields.get(field)?.kind {
        Kind::Enum(values) if max_string == 0 || values.iter().all(|v| v.len() <= max_string) => {
            Some(values)
        }
        _ => None,
    };
    let place = |values: &[std::sync::Arc<str>], s: &str| {
        values.iter().position(|v| **v == *s).map(|p| p as u32)
    };
    let all = |terms: &[Term]| terms.iter().map(|t| bind(t, schema, max_string)).collect();
    match term {
        Term::Condition(c) => Op::Condition(*c),
        Term::Not(inner) => Op::Not(Box::new(bind(inner, schema, max_string))),
        Term::And(terms) => Op::And(all(terms)),
        Term::Or(terms) => Op::Or(all(terms)),
        Term::Compare(cmp @ (Cmp::Eq | Cmp::Ne), pair) => match &**pair {
            (Term::Field(f), Term::Str(s)) | (Term::Str(s), Term::Field(f)) => {
                match enum_values(*f) {
                    Some(values) => Op::EnumIs {
                        field: *f,
                        code: place(values, s),
                        equal: *cmp == Cmp::Eq,
                    },
                    None => Op::Term(term.clone()),
                }
            }
            _ => Op::Term(term.clone()),
        },
        Term::In(pair) => match &**pair {
            (Term::Field(f), Term::List(items)) => match enum_values(*f) {
                Some(values) => Op::EnumIn {
                    field: *f,
                    places: values.iter().map(|v| items.contains(v)).collect(),
                },
                None => Op::Term(term.clone()),
            },
            (Term::Str(s), Term::Field(f)) => match schema.fields.get(*f).map(|f| &f.kind) {
                Some(Kind::List(values)) => Op::ListHas {
                    field: *f,
                    code: place(values, s),
                },
                _ => Op::Term(term.clone()),
            },
            _ => Op::Term(term.clone()),
        },
        _ => Op::Term(term.clone()),
    }
}

impl Op {
    /// The value, or `None` where the general evaluator would give up.
    pub fn eval(&self, inputs: &Inputs<'_>) -> Option<bool> {
        let slots = &inputs.ticket.slots;
        match self {
            Op::EnumIs { field, code, equal } => match slots.get(*field)? {
                Slot::Enum(place) => Some((Some(*place) == *code) == *equal),
                _ => None,
            },
            Op::EnumIn { field, places } => match slots.get(*field)? {
                Slot::Enum(place) => Some(places.get(*place as usize).copied().unwrap_or(false)),
                _ => None,
            },
            Op::ListHas { field, code } => match slots.get(*field)? {
                Slot::List(items) if inputs.max_array == 0 || items.len() <= inputs.max_array => {
                    Some(code.is_some_and(|code| items.contains(&code)))
                }
                _ => None,
            },
            Op::Condition(c) => inputs.conditions.get(*c),
            Op::Not(inner) => Some(!inner.eval(inputs)?),
            Op::And(ops) => {
                for op in ops {
                    if !op.eval(inputs)? {
                        return Some(false);
                    }
                }
                Some(true)
            }
            Op::Or(ops) => {
                for op in ops {
                    if op.eval(inputs)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
            Op::Term(term) => (inputs.general)(term),
        }
    }
}
