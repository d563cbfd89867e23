//! Sets of tickets for people: a class (one condition a field, as `split`
//! finds them) written as a predicate, and a concrete ticket from a class.

use std::sync::Arc;

use biodivine_lib_bdd::{Bdd, BddValuation};
use serde::Serialize;
use serde_json::{Map, Value};

use super::space::{Cell, Choice, Shape, Space, put};
use crate::model::Compiled;
use crate::schema::{FieldDef, Kind};

/// A class of tickets: a readable predicate, its share of the tickets the
/// schema accepts, and one complete ticket in it.
#[derive(Clone, Debug, Serialize)]
pub struct Class {
    /// The class as a predicate (`service = azure and issue.severity = A`).
    pub class: String,
    /// Its share of the valid ticket space, counting each combination of
    /// field cells once.
    pub share: f64,
    /// A complete ticket in the class.
    pub witness: serde_json::Value,
}

/// One field's condition in a class: the cells (or list memberships) it allows.
#[derive(Clone, Debug)]
pub(crate) enum Part {
    Cells(usize, Vec<Cell>),
    Member(usize, Arc<str>, bool),
    ListAbsent(usize, bool),
}

/// A class as a predicate a person reads.
pub(crate) fn describe(space: &Space, parts: &[Part]) -> String {
    if parts.is_empty() {
        return "every ticket".to_owned();
    }
    let words: Vec<String> = parts.iter().map(|p| part_text(space, p)).collect();
    words.join(" and ")
}

fn part_text(space: &Space, part: &Part) -> String {
    match part {
        Part::Cells(dim, cells) => cells_text(space, *dim, cells),
        Part::Member(dim, m, true) => format!("{} includes {m}", space.dims[*dim].path),
        Part::Member(dim, m, false) => format!("{} excludes {m}", space.dims[*dim].path),
        Part::ListAbsent(dim, true) => format!("{} is absent", space.dims[*dim].path),
        Part::ListAbsent(dim, false) => format!("{} is present", space.dims[*dim].path),
    }
}

fn cells_text(space: &Space, dim: usize, chosen: &[Cell]) -> String {
    let path = &space.dims[dim].path;
    let Shape::Cells { cells, .. } = &space.dims[dim].shape else {
        return String::new();
    };
    let absent = chosen.contains(&Cell::Absent);
    let present: Vec<&Cell> = chosen.iter().filter(|c| **c != Cell::Absent).collect();
    let body = if present.is_empty() {
        None
    } else if present.iter().all(|c| matches!(c, Cell::Int(..))) {
        Some(ints_text(path, &present))
    } else if present.contains(&&Cell::OtherStr) {
        let named: Vec<String> = cells
            .iter()
            .filter(|c| matches!(c, Cell::Str(_)) && !present.contains(c))
            .map(cell_text)
            .collect();
        Some(match named.len() {
            0 => format!("{path} is any value"),
            1 => format!("{path} != {}", named[0]),
            _ => format!("{path} not in [{}]", named.join(", ")),
        })
    } else if present.len() == 1 {
        Some(format!("{path} = {}", cell_text(present[0])))
    } else {
        let items: Vec<String> = present.iter().map(|c| cell_text(c)).collect();
        Some(format!("{path} in [{}]", items.join(", ")))
    };
    match (absent, body) {
        (true, Some(body)) => format!("({path} is absent or {body})"),
        (true, None) => format!("{path} is absent"),
        (false, Some(body)) => body,
        (false, None) => String::new(),
    }
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Absent => "absent".to_owned(),
        Cell::Str(s) => s.to_string(),
        Cell::OtherStr => "another value".to_owned(),
        Cell::Bool(b) => b.to_string(),
        Cell::Int(lo, hi) if lo == hi => lo.to_string(),
        Cell::Int(lo, hi) => format!("{lo}..{hi}"),
    }
}

/// Integer cells as ranges: `n < 5`, `5 <= n <= 9`, `n = 7`.
fn ints_text(path: &str, cells: &[&Cell]) -> String {
    let ranges: Vec<String> = cells
        .iter()
        .filter_map(|c| match c {
            Cell::Int(lo, hi) => Some(match (*lo, *hi) {
                (lo, hi) if lo == hi => format!("{path} = {lo}"),
                (i64::MIN, hi) => format!("{path} <= {hi}"),
                (lo, i64::MAX) => format!("{path} >= {lo}"),
                (lo, hi) => format!("{lo} <= {path} <= {hi}"),
            }),
            _ => None,
        })
        .collect();
    match ranges.len() {
        1 => ranges[0].clone(),
        _ => format!("({})", ranges.join(" or ")),
    }
}

/// A complete ticket for `valuation`, valid for `bundle` where the
/// valuation says so: the space's fields as chosen, every other required
/// field of the bundle with a value of its type.
pub(crate) fn ticket(
    space: &Space,
    valuation: &BddValuation,
    bundle: &Compiled,
    n: usize,
) -> Value {
    let mut ticket = Map::new();
    let choices = space.choices(valuation);
    for (dim, choice) in space.dims.iter().zip(&choices) {
        let timestamp = field_def(bundle, &dim.path).is_some_and(|f| f.kind == Kind::Timestamp);
        let value = match choice {
            Choice::Cell(cell) => {
                let taken: Vec<&str> = match &dim.shape {
                    Shape::Cells { cells, .. } => cells
                        .iter()
                        .filter_map(|c| match c {
                            Cell::Str(s) => Some(&**s),
                            _ => None,
                        })
                        .collect(),
                    Shape::List { .. } => Vec::new(),
                };
                cell.sample(&taken, timestamp)
            }
            Choice::Members(members) => Some(Value::Array(
                members
                    .iter()
                    .map(|m| Value::String(m.to_string()))
                    .collect(),
            )),
        };
        put(&mut ticket, &dim.path, value);
    }
    let in_space = |path: &str| space.dims.iter().any(|d| &*d.path == path);
    for (i, field) in bundle.schema.fields.iter().enumerate() {
        if !field.required || in_space(&field.path) {
            continue;
        }
        let value = if i == bundle.schema.id_field {
            Value::String(format!("W-{n}"))
        } else {
            filler(&field.kind)
        };
        put(&mut ticket, &field.path, Some(value));
    }
    Value::Object(ticket)
}

fn field_def<'b>(bundle: &'b Compiled, path: &str) -> Option<&'b FieldDef> {
    bundle
        .schema
        .index
        .get(path)
        .map(|&i| &bundle.schema.fields[i])
}

/// Some valid value of a kind, for a required field no condition reads.
fn filler(kind: &Kind) -> Value {
    match kind {
        Kind::String => Value::String("x".into()),
        Kind::Bool => Value::Bool(false),
        Kind::Integer => Value::from(0),
        Kind::Timestamp => Value::String("2001-01-01T00:00:00Z".into()),
        Kind::Enum(values) => {
            Value::String(values.first().map(|v| v.to_string()).unwrap_or_default())
        }
        Kind::List(_) => Value::Array(Vec::new()),
    }
}

/// The tickets a class's parts allow (any value for fields without a part).
pub(crate) fn cube(space: &Space, parts: &[Part]) -> Bdd {
    let vars = &space.vars;
    parts.iter().fold(space.encoding.clone(), |acc, part| {
        let set = match part {
            Part::Cells(dim, chosen) => match &space.dims[*dim].shape {
                Shape::Cells { cells, vars: cv } => cells
                    .iter()
                    .zip(cv)
                    .filter(|(c, _)| chosen.contains(c))
                    .fold(vars.mk_false(), |any, (_, v)| any.or(&vars.mk_var(*v))),
                Shape::List { .. } => vars.mk_false(),
            },
            Part::Member(dim, member, held) => match &space.dims[*dim].shape {
                Shape::List { members, .. } => members
                    .iter()
                    .find(|(m, _)| m == member)
                    .map_or(vars.mk_false(), |(_, v)| vars.mk_literal(*v, *held)),
                Shape::Cells { .. } => vars.mk_false(),
            },
            Part::ListAbsent(dim, gone) => match &space.dims[*dim].shape {
                Shape::List {
                    absent: Some(a), ..
                } => vars.mk_literal(*a, *gone),
                _ => vars.mk_false(),
            },
        };
        acc.and(&set)
    })
}
