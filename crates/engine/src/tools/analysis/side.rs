//! One bundle over a space: which cells its schema accepts, and the value
//! each cell has for it (an absent field takes its default).

use std::sync::Arc;

use biodivine_lib_bdd::Bdd;
use serde_json::Value;

use super::space::{Cell, Shape, Space};
use crate::model::Compiled;
use crate::schema::{FieldDef, Kind, check_value};

/// A value as rhai sees it, as far as the cells tell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AVal {
    /// Absent (`()`).
    Unit,
    Str(Arc<str>),
    /// Some string that is none of the field's literals.
    OtherStr,
    Bool(bool),
    /// An integer in this inclusive range.
    Int(i64, i64),
    List(Vec<Arc<str>>),
    /// Not a value this bundle accepts for the field.
    Invalid,
}

/// One bundle and where its fields are in the space.
pub(crate) struct Side<'a> {
    pub bundle: &'a Compiled,
    pub space: &'a Space,
    /// For each dimension of the space, this bundle's field there, if any.
    pub field_of: Vec<Option<usize>>,
}

impl<'a> Side<'a> {
    pub(crate) fn new(bundle: &'a Compiled, space: &'a Space) -> Side<'a> {
        let field_of = space
            .dims
            .iter()
            .map(|d| bundle.schema.index.get(&d.path).copied())
            .collect();
        Side {
            bundle,
            space,
            field_of,
        }
    }

    /// The dimension of this bundle's field `index`.
    pub(crate) fn dim(&self, index: usize) -> Result<usize, String> {
        self.field_of
            .iter()
            .position(|f| *f == Some(index))
            .ok_or_else(|| "a field outside the analysed space".to_owned())
    }

    fn def(&self, dim: usize) -> Option<&FieldDef> {
        self.field_of[dim].map(|i| &self.bundle.schema.fields[i])
    }

    /// Each cell of a dimension, with its value for this bundle.
    pub(crate) fn cells(&self, dim: usize) -> Result<Vec<(Bdd, AVal)>, String> {
        let Shape::Cells { cells, .. } = &self.space.dims[dim].shape else {
            return Err("a list field used as a single value".into());
        };
        Ok(cells
            .iter()
            .enumerate()
            .map(|(i, cell)| (self.space.cell(dim, i), self.value(dim, cell)))
            .collect())
    }

    /// What a cell is for this bundle.
    fn value(&self, dim: usize, cell: &Cell) -> AVal {
        let Some(def) = self.def(dim) else {
            return match cell {
                Cell::Absent => AVal::Unit,
                _ => AVal::Invalid,
            };
        };
        if !accepts(def, cell) {
            return AVal::Invalid;
        }
        match cell {
            Cell::Absent => def.default.as_ref().map_or(AVal::Unit, aval),
            Cell::Str(s) => AVal::Str(s.clone()),
            Cell::OtherStr => AVal::OtherStr,
            Cell::Bool(b) => AVal::Bool(*b),
            Cell::Int(lo, hi) => AVal::Int(*lo, *hi),
        }
    }

    /// What an absent list field is for this bundle: its default, or `()`.
    pub(crate) fn absent_list(&self, dim: usize) -> AVal {
        match self.def(dim) {
            Some(def) => def.default.as_ref().map_or(AVal::Unit, aval),
            None => AVal::Unit,
        }
    }

    /// The assignments whose tickets this bundle's schema accepts.
    pub(crate) fn valid(&self) -> Bdd {
        let vars = &self.space.vars;
        let mut valid = self.space.encoding.clone();
        for (dim, d) in self.space.dims.iter().enumerate() {
            let def = self.def(dim);
            let accepted = match &d.shape {
                Shape::Cells { cells, .. } => {
                    let mut any = vars.mk_false();
                    for (i, cell) in cells.iter().enumerate() {
                        if self.value(dim, cell) != AVal::Invalid {
                            any = any.or(&self.space.cell(dim, i));
                        }
                    }
                    any
                }
                Shape::List { absent, members } => {
                    let mut ok = vars.mk_true();
                    let declared: &[Arc<str>] = match def.map(|f| &f.kind) {
                        Some(Kind::List(values)) => values,
                        _ => &[],
                    };
                    for (m, var) in members {
                        if !declared.contains(m) {
                            ok = ok.and(&vars.mk_not_var(*var));
                        }
                    }
                    let can_be_absent = def.is_none_or(|f| !f.required);
                    let must_be_absent = !matches!(def.map(|f| &f.kind), Some(Kind::List(_)));
                    match absent {
                        Some(a) if !can_be_absent => ok = ok.and(&vars.mk_not_var(*a)),
                        Some(a) if must_be_absent => ok = ok.and(&vars.mk_var(*a)),
                        None if must_be_absent => ok = vars.mk_false(),
                        _ => {}
                    }
                    ok
                }
            };
            valid = valid.and(&accepted);
        }
        valid
    }
}

/// Whether a field's schema accepts a value of this cell.
fn accepts(def: &FieldDef, cell: &Cell) -> bool {
    match (&def.kind, cell) {
        (_, Cell::Absent) => !def.required,
        (Kind::Enum(values), Cell::Str(s)) => values.contains(s),
        (Kind::String, Cell::Str(_) | Cell::OtherStr) => true,
        (Kind::Timestamp, Cell::OtherStr) => true,
        (Kind::Timestamp, Cell::Str(s)) => {
            check_value(&def.kind, &serde_json::Value::String(s.to_string())).is_ok()
        }
        (Kind::Bool, Cell::Bool(_)) => true,
        (Kind::Integer, Cell::Int(..)) => true,
        _ => false,
    }
}

/// A JSON default as a value.
pub(crate) fn aval(value: &Value) -> AVal {
    match value {
        Value::String(s) => AVal::Str(s.as_str().into()),
        Value::Bool(b) => AVal::Bool(*b),
        Value::Number(n) => n.as_i64().map_or(AVal::Unit, |n| AVal::Int(n, n)),
        Value::Array(items) => AVal::List(
            items
                .iter()
                .filter_map(|i| i.as_str().map(Into::into))
                .collect(),
        ),
        _ => AVal::Unit,
    }
}
