//! Validate: the ticket schema a bundle declares, and the check of every
//! ticket against it before any rule runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::did_you_mean;

mod json;
mod layout;
mod path;
mod read;
mod stream;
mod ticket;
pub use json::{BOM, TicketSyntaxError, parse_ticket, strip_bom};
pub use layout::FieldType;
pub(crate) use layout::{FIELD_TYPES, FieldDef, Kind, Node, Schema, found, unmaskable};
pub use path::FieldPath;
pub(crate) use read::read;
pub use stream::read_tickets;
pub use ticket::Ticket;
pub(crate) use ticket::{Slot, name};

/// One thing wrong with a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProblem {
    /// The dotted path of the field, or `` for the ticket itself.
    pub field: String,
    /// What the field must hold, in words (`one of a, b`).
    pub expected: String,
    /// What the ticket holds instead, shortened if long.
    pub found: String,
    /// The problem in one line.
    pub message: String,
}

impl Schema {
    /// Checks a ticket's shape, types and values; every problem is reported.
    pub fn check<'a>(
        &'a self,
        digest: &'a str,
        ticket: &'a Value,
    ) -> Result<Ticket<'a>, Vec<InputProblem>> {
        let mut sent: Vec<Option<Slot<'a>>> = vec![None; self.fields.len()];
        let mut problems = Vec::new();
        let Value::Object(map) = ticket else {
            return Err(vec![InputProblem {
                field: String::new(),
                expected: "a ticket object".to_owned(),
                found: found(ticket),
                message: "a ticket must be an object".to_owned(),
            }]);
        };
        self.walk(map, &mut Vec::new(), &self.root, &mut sent, &mut problems);
        let ticket = Ticket::complete(self, digest, sent);
        if let Err(missing) = &ticket {
            problems.extend(missing.iter().map(|&index| {
                let field = &self.fields[index];
                InputProblem {
                    field: field.path.to_string(),
                    expected: field.kind.describe(),
                    found: "nothing".to_owned(),
                    message: "required field is missing".to_owned(),
                }
            }));
        }
        match ticket {
            Ok(ticket) if problems.is_empty() => Ok(ticket),
            _ => {
                problems.sort_by(|a, b| a.field.cmp(&b.field));
                Err(problems)
            }
        }
    }

    fn walk<'a>(
        &self,
        map: &'a serde_json::Map<String, Value>,
        prefix: &mut Vec<&'a str>,
        node: &Node,
        sent: &mut [Option<Slot<'a>>],
        problems: &mut Vec<InputProblem>,
    ) {
        for (key, value) in map {
            // Paths are spelt out only where a problem needs one: this is the hot path.
            let path = |prefix: &[&str]| {
                let mut path = prefix.join(".");
                if !path.is_empty() {
                    path.push('.');
                }
                path + key.as_str()
            };
            match node.child(key) {
                Some(Node::Leaf(index)) => {
                    let field = &self.fields[*index];
                    if value.is_null() && !field.required {
                        continue;
                    }
                    match Slot::of(&field.kind, value) {
                        Ok(slot) => sent[*index] = Some(slot),
                        // `Null` marks a field that is present but wrong, so it
                        // is not reported a second time as missing.
                        Err(message) => {
                            sent[*index] = Some(Slot::Null);
                            problems.push(InputProblem {
                                field: field.path.to_string(),
                                expected: field.kind.describe(),
                                found: found(value),
                                message,
                            })
                        }
                    }
                }
                Some(child @ Node::Object(_)) => match value {
                    Value::Object(inner) => {
                        prefix.push(key);
                        self.walk(inner, prefix, child, sent, problems);
                        prefix.pop();
                    }
                    other => problems.push(InputProblem {
                        field: path(prefix),
                        expected: "an object".to_owned(),
                        found: found(other),
                        message: "wrong type".to_owned(),
                    }),
                },
                None => {
                    let known = match node {
                        Node::Object(children) => children.iter().map(|(n, _)| &**n).collect(),
                        Node::Leaf(_) => Vec::new(),
                    };
                    let mut message = "unknown field".to_owned();
                    if let Some(hint) = did_you_mean(key, known.iter().copied()) {
                        message = format!("{message}; {hint}");
                    }
                    problems.push(InputProblem {
                        field: path(prefix),
                        expected: format!("one of the fields {}", known.join(", ")),
                        found: found(value),
                        message,
                    });
                }
            }
        }
    }
}

/// Why a value does not fit a field's type, if it does not.
pub(crate) fn check_value(kind: &Kind, value: &Value) -> Result<(), String> {
    Slot::of(kind, value).map(drop)
}
