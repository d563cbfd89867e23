//! Validate: the ticket schema a bundle declares, and the check of every
//! ticket against it before any rule runs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::did_you_mean;

mod json;
mod path;
mod stream;
pub use json::{BOM, TicketSyntaxError, parse_ticket, strip_bom};
pub use path::FieldPath;
pub use stream::read_tickets;

/// The type of a ticket field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Bool,
    Integer,
    Timestamp,
    Enum(Vec<Arc<str>>),
    List(Vec<Arc<str>>),
}

/// The field types a policy may declare (`role` is an enum of the roles).
/// A ticket field's type as the catalog shows it (a `role` field is an
/// `enum` of the declared roles); written in JSON in lowercase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Any text.
    String,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// An RFC 3339 date and time.
    Timestamp,
    /// One of a listed set of strings.
    Enum,
    /// A list of distinct strings from a listed set.
    List,
}

pub(crate) const FIELD_TYPES: [&str; 7] = [
    "string",
    "bool",
    "integer",
    "timestamp",
    "enum",
    "list",
    "role",
];

impl Kind {
    /// The type's name as a policy writes it (a `role` field reads `enum`).
    pub fn field_type(&self) -> FieldType {
        match self {
            Kind::String => FieldType::String,
            Kind::Bool => FieldType::Bool,
            Kind::Integer => FieldType::Integer,
            Kind::Timestamp => FieldType::Timestamp,
            Kind::Enum(_) => FieldType::Enum,
            Kind::List(_) => FieldType::List,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Kind::String => "a string".to_owned(),
            Kind::Bool => "true or false".to_owned(),
            Kind::Integer => "an integer".to_owned(),
            Kind::Timestamp => "an RFC 3339 timestamp".to_owned(),
            Kind::Enum(values) => format!("one of {}", values.join(", ")),
            Kind::List(values) => format!("a list of {}", values.join(", ")),
        }
    }

    /// The values a field may take, when there are finitely many.
    pub fn values(&self) -> Option<&[Arc<str>]> {
        match self {
            Kind::Enum(values) | Kind::List(values) => Some(values),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FieldDef {
    pub path: Arc<str>,
    pub kind: Kind,
    pub required: bool,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub mask: bool,
}

impl FieldDef {
    /// Whether `value` (the field's value in a checked ticket) is the
    /// schema's default standing in for a value the ticket did not send:
    /// the check lends the default itself, so it is the same by address.
    pub fn defaulted(&self, value: &Value) -> bool {
        self.default
            .as_ref()
            .is_some_and(|d| std::ptr::eq(value, d))
    }
}

/// How the ticket is laid out as rhai variables: a top-level name holds a
/// field's value or a map of the fields below it.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Leaf(usize),
    Object(Vec<(Arc<str>, Node)>),
}

impl Node {
    /// Every field at or below this node.
    pub fn leaves(&self, out: &mut Vec<usize>) {
        match self {
            Node::Leaf(index) => out.push(*index),
            Node::Object(children) => children.iter().for_each(|(_, c)| c.leaves(out)),
        }
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Leaf(_) => None,
            Node::Object(children) => children.iter().find(|(n, _)| &**n == name).map(|(_, c)| c),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Schema {
    pub fields: Vec<FieldDef>,
    pub index: HashMap<Arc<str>, usize>,
    /// The ticket itself: an object whose children are the top-level names,
    /// in declaration order.
    pub root: Node,
    pub id_field: usize,
    pub role_field: usize,
}

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

/// A validated ticket: one value per schema field (borrowed from the ticket or
/// the schema's defaults), `null` where an optional field without a default is absent.
pub(crate) type Values<'a> = Vec<&'a Value>;

static NULL: Value = Value::Null;

impl Schema {
    /// Builds the layout tree; `Err` (the field's index and why) when a path is
    /// both a field and a parent of fields.
    pub fn new(
        fields: Vec<FieldDef>,
        id_field: usize,
        role_field: usize,
    ) -> Result<Schema, (usize, String)> {
        let mut roots: Vec<(Arc<str>, Node)> = Vec::new();
        // Each node's place among its siblings, by its dotted path: finding
        // it costs the same with 5 fields or 50,000.
        let mut places: HashMap<String, usize> = HashMap::new();
        for (index, field) in fields.iter().enumerate() {
            let segments: Vec<&str> = FieldPath::new(&field.path).segments().collect();
            insert(&mut roots, &mut places, &segments, index)
                .map_err(|conflict| (index, conflict))?;
        }
        let index = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        Ok(Schema {
            fields,
            index,
            root: Node::Object(roots),
            id_field,
            role_field,
        })
    }

    /// The top-level names and what each holds.
    pub fn roots(&self) -> &[(Arc<str>, Node)] {
        match &self.root {
            Node::Object(children) => children,
            Node::Leaf(_) => &[],
        }
    }

    /// The node at a dotted path, if the schema declares it.
    pub fn node(&self, segments: &[&str]) -> Option<&Node> {
        segments
            .iter()
            .try_fold(&self.root, |node, segment| node.child(segment))
    }

    /// Checks a ticket's shape, types and values; every problem is reported.
    pub fn check<'a>(&'a self, ticket: &'a Value) -> Result<Values<'a>, Vec<InputProblem>> {
        let mut values: Vec<Option<&'a Value>> = vec![None; self.fields.len()];
        let mut problems = Vec::new();
        let Value::Object(map) = ticket else {
            return Err(vec![InputProblem {
                field: String::new(),
                expected: "a ticket object".to_owned(),
                found: found(ticket),
                message: "a ticket must be an object".to_owned(),
            }]);
        };
        self.walk(map, &mut Vec::new(), &self.root, &mut values, &mut problems);
        let mut out = Vec::with_capacity(self.fields.len());
        for (field, value) in self.fields.iter().zip(values) {
            match value.or(field.default.as_ref()) {
                Some(value) => out.push(value),
                None if field.required => problems.push(InputProblem {
                    field: field.path.to_string(),
                    expected: field.kind.describe(),
                    found: "nothing".to_owned(),
                    message: "required field is missing".to_owned(),
                }),
                None => out.push(&NULL),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            problems.sort_by(|a, b| a.field.cmp(&b.field));
            Err(problems)
        }
    }

    fn walk<'a>(
        &self,
        map: &'a serde_json::Map<String, Value>,
        prefix: &mut Vec<&'a str>,
        node: &Node,
        values: &mut [Option<&'a Value>],
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
                    match check_value(&field.kind, value) {
                        Ok(()) => values[*index] = Some(value),
                        // `Null` marks a field that is present but wrong, so it
                        // is not reported a second time as missing.
                        Err(message) => {
                            values[*index] = Some(&NULL);
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
                        self.walk(inner, prefix, child, values, problems);
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

fn insert(
    roots: &mut Vec<(Arc<str>, Node)>,
    places: &mut HashMap<String, usize>,
    segments: &[&str],
    index: usize,
) -> Result<(), String> {
    if segments.is_empty() {
        return Err("empty field path".to_owned());
    }
    let mut nodes = roots;
    let mut path = String::new();
    for (depth, segment) in segments.iter().enumerate() {
        if depth > 0 {
            path.push('.');
        }
        path.push_str(segment);
        let last = depth + 1 == segments.len();
        let conflict =
            || format!("`{segment}` is declared both as a field and as a group of fields");
        let at = match places.get(&path) {
            Some(&at) => at,
            None => {
                let node = if last {
                    Node::Leaf(index)
                } else {
                    Node::Object(Vec::new())
                };
                nodes.push(((*segment).into(), node));
                places.insert(path.clone(), nodes.len() - 1);
                nodes.len() - 1
            }
        };
        if last {
            return match nodes[at].1 {
                Node::Leaf(i) if i == index => Ok(()),
                _ => Err(conflict()),
            };
        }
        nodes = match &mut nodes[at].1 {
            Node::Object(children) => children,
            Node::Leaf(_) => return Err(conflict()),
        };
    }
    Ok(())
}

/// Why a value does not fit a field's type, if it does not.
pub(crate) fn check_value(kind: &Kind, value: &Value) -> Result<(), String> {
    let fits = match (kind, value) {
        (Kind::String, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Integer, Value::Number(n)) => n.is_i64(),
        (Kind::Timestamp, Value::String(s)) => {
            return chrono::DateTime::parse_from_rfc3339(s)
                .map(|_| ())
                .map_err(|e| format!("not an RFC 3339 timestamp: {e}"));
        }
        (Kind::Enum(allowed), Value::String(s)) => return member(allowed, s),
        (Kind::List(allowed), Value::Array(items)) => {
            let mut bad = BTreeSet::new();
            for item in items {
                match item {
                    Value::String(s) if member(allowed, s).is_ok() => {}
                    other => {
                        bad.insert(found(other));
                    }
                }
            }
            if bad.is_empty() {
                return Ok(());
            }
            let bad: Vec<String> = bad.into_iter().collect();
            return Err(format!("not allowed in this list: {}", bad.join(", ")));
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err("wrong type".to_owned())
    }
}

fn member(allowed: &[Arc<str>], value: &str) -> Result<(), String> {
    if allowed.iter().any(|a| &**a == value) {
        return Ok(());
    }
    let mut message = "not an allowed value".to_owned();
    if let Some(hint) = did_you_mean(value, allowed.iter().map(|a| &**a)) {
        message = format!("{message}; {hint}");
    }
    Err(message)
}

/// A short rendering of what the ticket held.
pub(crate) fn found(value: &Value) -> String {
    const LIMIT: usize = 80;
    let text = value.to_string();
    if text.chars().count() <= LIMIT {
        return text;
    }
    let head: String = text.chars().take(LIMIT).collect();
    format!("{head}…")
}

/// Why `mask: true` cannot apply to a field of this kind, if it cannot.
pub(crate) fn unmaskable(path: &str, kind: &Kind) -> Option<String> {
    // A token is a string: only a string field still validates once masked,
    // which replay needs.
    (!matches!(kind, Kind::String)).then(|| {
        format!(
            "field `{path}` of type `{}` cannot be masked: only string fields can",
            kind.describe()
        )
    })
}
