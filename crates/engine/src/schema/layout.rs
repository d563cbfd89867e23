//! The schema as a bundle declares it: each field's type, and the layout
//! of the fields as nested objects; and whether a single value fits a type.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::path::FieldPath;
use crate::diagnostic::did_you_mean;
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

/// Why `text` is not an RFC 3339 timestamp, if it is not.
pub(crate) fn timestamp(text: &str) -> Result<(), String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|_| ())
        .map_err(|e| format!("not an RFC 3339 timestamp: {e}"))
}

/// Why `value` is not among `allowed`, if it is not: else its place there.
pub(crate) fn member(allowed: &[Arc<str>], value: &str) -> Result<u32, String> {
    if let Some(code) = allowed.iter().position(|a| &**a == value) {
        return Ok(code as u32);
    }
    let mut message = "not an allowed value".to_owned();
    if let Some(hint) = did_you_mean(value, allowed.iter().map(|a| &**a)) {
        message = format!("{message}; {hint}");
    }
    Err(message)
}

/// Each item's place among `allowed`, or which items are not there.
pub(crate) fn members(allowed: &[Arc<str>], items: &[Value]) -> Result<Vec<u32>, String> {
    let mut codes = Vec::with_capacity(items.len());
    let mut bad = BTreeSet::new();
    for item in items {
        match item
            .as_str()
            .map(|s| allowed.iter().position(|a| &**a == s))
        {
            Some(Some(code)) => codes.push(code as u32),
            _ => {
                bad.insert(found(item));
            }
        }
    }
    if bad.is_empty() {
        return Ok(codes);
    }
    let bad: Vec<String> = bad.into_iter().collect();
    Err(format!("not allowed in this list: {}", bad.join(", ")))
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
