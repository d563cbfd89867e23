//! The symbolic ticket space: each field a bundle can tell apart is split
//! into cells (an enum value, a string literal the conditions compare with,
//! "any other string", an integer interval between thresholds, "absent"),
//! and each cell is a binary decision diagram variable. A list field is one
//! variable per member (and one for "absent", when it can be absent).
//!
//! One space can serve two bundles at once (`triage plan`): each field's
//! cells are then the union of what either side tells apart, and each side
//! knows which cells it accepts.

use std::collections::BTreeSet;
use std::sync::Arc;

use biodivine_lib_bdd::{Bdd, BddValuation, BddVariable, BddVariableSet};
use serde_json::{Map, Value};

use crate::schema::FieldPath;

/// One class of a field's values: everything in it decides alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// The field is not in the ticket.
    Absent,
    /// This exact string (an enum value or a literal the conditions use).
    Str(Arc<str>),
    /// Any string that is none of the field's `Str` cells.
    OtherStr,
    /// This boolean.
    Bool(bool),
    /// An integer in this inclusive range.
    Int(i64, i64),
}

/// How a field's cells are encoded.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    /// Exactly one of `vars` is set; `vars[i]` selects `cells[i]`.
    Cells {
        cells: Vec<Cell>,
        vars: Vec<BddVariable>,
    },
    /// A list of distinct strings: one variable for "absent" where the field
    /// can be, then one per member that can be in it.
    List {
        absent: Option<BddVariable>,
        members: Vec<(Arc<str>, BddVariable)>,
    },
}

/// One field of the space.
#[derive(Clone, Debug)]
pub(crate) struct Dim {
    pub path: Arc<str>,
    pub shape: Shape,
    /// The value an absent field stands for, when it has no cell of its own.
    pub default: Option<Value>,
}

/// What the cells of one field are made from, gathered from every side.
#[derive(Clone, Debug, Default)]
pub(crate) struct FieldSpec {
    pub path: Arc<str>,
    pub strings: BTreeSet<Arc<str>>,
    pub other_string: bool,
    pub bools: bool,
    /// Thresholds integer comparisons use, when the field can be an integer.
    pub ints: Option<BTreeSet<i64>>,
    /// Members, when the field can be a list.
    pub list: Option<BTreeSet<Arc<str>>>,
    pub absent: bool,
    /// What every side reads when the field is absent, where they agree.
    pub default: Option<Value>,
}

/// The space: its variables, its fields, and what a well-formed assignment
/// is (one cell a field; a list that is absent has no members).
pub(crate) struct Space {
    pub vars: BddVariableSet,
    pub dims: Vec<Dim>,
    pub encoding: Bdd,
}

impl Space {
    /// The space of `specs`; `None` when it needs more variables than the
    /// decision diagrams can number (65,535).
    pub(crate) fn new(specs: &[FieldSpec]) -> Option<Space> {
        let layouts: Vec<Layout> = specs.iter().map(layout).collect();
        let count: usize = layouts.iter().map(Layout::vars).sum();
        let vars = BddVariableSet::new_anonymous(u16::try_from(count).ok()?);
        let all = vars.variables();
        let mut next = 0;
        let mut dims = Vec::new();
        for (spec, layout) in specs.iter().zip(layouts) {
            let mut take = || {
                let v = all[next];
                next += 1;
                v
            };
            let shape = match layout {
                Layout::Cells(cells) => {
                    let vars = cells.iter().map(|_| take()).collect();
                    Shape::Cells { cells, vars }
                }
                Layout::List(absent, members) => Shape::List {
                    absent: absent.then(&mut take),
                    members: members.into_iter().map(|m| (m, take())).collect(),
                },
            };
            dims.push(Dim {
                path: spec.path.clone(),
                shape,
                default: spec.default.clone(),
            });
        }
        let encoding = dims.iter().fold(vars.mk_true(), |acc, dim| {
            acc.and(&well_formed(&vars, &dim.shape))
        });
        Some(Space {
            vars,
            dims,
            encoding,
        })
    }

    /// The assignments where field `dim` is in cell `cell`.
    pub(crate) fn cell(&self, dim: usize, cell: usize) -> Bdd {
        match &self.dims[dim].shape {
            Shape::Cells { vars, .. } => self.vars.mk_var(vars[cell]),
            Shape::List { .. } => self.vars.mk_false(),
        }
    }

    /// How many combinations of cells `set` holds (each counted once): the
    /// whole that `share` divides by.
    pub(crate) fn size(&self, set: &Bdd) -> f64 {
        set.and(&self.encoding).cardinality()
    }

    /// The share of `set` in a whole of `size` combinations; `set` lies
    /// within the whole (every set the flows make lies within the space's
    /// encoding, so no intersection is needed).
    pub(crate) fn share(&self, set: &Bdd, size: f64) -> f64 {
        match size == 0.0 {
            true => 0.0,
            false => set.cardinality() / size,
        }
    }

    /// One assignment in `set` (a set within the space's encoding), if any.
    pub(crate) fn pick(&self, set: &Bdd) -> Option<BddValuation> {
        set.sat_witness()
    }

    /// What `valuation` says of each field.
    pub(crate) fn choices(&self, valuation: &BddValuation) -> Vec<Choice> {
        self.dims
            .iter()
            .map(|dim| match &dim.shape {
                Shape::Cells { cells, vars } => {
                    let at = vars.iter().position(|v| valuation.value(*v)).unwrap_or(0);
                    Choice::Cell(cells.get(at).cloned().unwrap_or(Cell::Absent))
                }
                Shape::List { absent, members } => {
                    if absent.is_some_and(|a| valuation.value(a)) {
                        Choice::Cell(Cell::Absent)
                    } else {
                        let held = members.iter().filter(|(_, v)| valuation.value(*v));
                        Choice::Members(held.map(|(m, _)| m.clone()).collect())
                    }
                }
            })
            .collect()
    }

    /// Where `ticket` falls: its valuation, if every field's value is one the
    /// space can place.
    pub(crate) fn place(&self, ticket: &Value) -> Option<BddValuation> {
        let mut valuation = BddValuation::all_false(self.vars.num_vars());
        for dim in &self.dims {
            let sent = FieldPath::new(&dim.path).get(ticket);
            let value = sent.filter(|v| !v.is_null()).or(dim.default.as_ref());
            match &dim.shape {
                Shape::Cells { cells, vars } => {
                    let at = cells.iter().position(|c| c.holds(value))?;
                    valuation.set(vars[at]);
                }
                Shape::List { absent, members } => match value {
                    None => valuation.set((*absent)?),
                    Some(Value::Array(items)) => {
                        for item in items {
                            let item = item.as_str()?;
                            let (_, var) = members.iter().find(|(m, _)| &**m == item)?;
                            valuation.set(*var);
                        }
                    }
                    Some(_) => return None,
                },
            }
        }
        Some(valuation)
    }
}

impl Dim {
    /// The field's variables.
    pub(crate) fn vars(&self) -> Vec<BddVariable> {
        match &self.shape {
            Shape::Cells { vars, .. } => vars.clone(),
            Shape::List { absent, members } => absent
                .iter()
                .copied()
                .chain(members.iter().map(|(_, v)| *v))
                .collect(),
        }
    }
}

/// A field's value in one assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    Cell(Cell),
    Members(Vec<Arc<str>>),
}

impl Cell {
    /// Whether a ticket's value (`None` when absent) is in this cell.
    fn holds(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Cell::Absent, None) => true,
            (Cell::Str(s), Some(Value::String(v))) => **s == **v,
            // Decided by the caller's order: `OtherStr` comes after every `Str`.
            (Cell::OtherStr, Some(Value::String(_))) => true,
            (Cell::Bool(b), Some(Value::Bool(v))) => b == v,
            (Cell::Int(lo, hi), Some(Value::Number(n))) => {
                n.as_i64().is_some_and(|n| *lo <= n && n <= *hi)
            }
            _ => false,
        }
    }

    /// A concrete value in this cell, avoiding `taken` strings; `None` for absent.
    pub(crate) fn sample(&self, taken: &[&str], timestamp: bool) -> Option<Value> {
        Some(match self {
            Cell::Absent => return None,
            Cell::Str(s) => Value::String(s.to_string()),
            Cell::OtherStr => Value::String(fresh(taken, timestamp)),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(lo, hi) => Value::from(if *lo == i64::MIN { *hi } else { *lo }),
        })
    }
}

/// A string none of `taken` is: a timestamp where the field holds them.
fn fresh(taken: &[&str], timestamp: bool) -> String {
    (0u32..)
        .map(|n| match timestamp {
            true => format!("2001-01-01T00:{:02}:{:02}Z", (n / 60) % 60, n % 60),
            false if n == 0 => "other".to_owned(),
            false => format!("other-{n}"),
        })
        .find(|s| !taken.contains(&s.as_str()))
        .unwrap_or_default()
}

/// Puts `value` (or nothing, for `None`) at `path` in `ticket`.
pub(crate) fn put(ticket: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    if let Some(value) = value {
        FieldPath::new(path).set(ticket, value);
    }
}

enum Layout {
    Cells(Vec<Cell>),
    List(bool, Vec<Arc<str>>),
}

impl Layout {
    /// How many variables the field takes.
    fn vars(&self) -> usize {
        match self {
            Layout::Cells(cells) => cells.len(),
            Layout::List(absent, members) => members.len() + usize::from(*absent),
        }
    }
}

/// The cells of one field.
fn layout(spec: &FieldSpec) -> Layout {
    if let Some(members) = &spec.list {
        let members: Vec<Arc<str>> = members.iter().cloned().collect();
        return Layout::List(spec.absent, members);
    }
    let mut cells = Vec::new();
    if spec.absent {
        cells.push(Cell::Absent);
    }
    cells.extend(spec.strings.iter().map(|s| Cell::Str(s.clone())));
    if spec.other_string {
        cells.push(Cell::OtherStr);
    }
    if spec.bools {
        cells.extend([Cell::Bool(false), Cell::Bool(true)]);
    }
    if let Some(points) = &spec.ints {
        cells.extend(intervals(points));
    }
    Layout::Cells(cells)
}

/// The integer line cut at each threshold: below, at, between, above.
fn intervals(points: &BTreeSet<i64>) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut from = Some(i64::MIN);
    for &p in points {
        if let Some(lo) = from.filter(|&lo| lo < p) {
            cells.push(Cell::Int(lo, p - 1));
        }
        cells.push(Cell::Int(p, p));
        from = p.checked_add(1);
    }
    if let Some(lo) = from {
        cells.push(Cell::Int(lo, i64::MAX));
    }
    cells
}

/// One cell set for a field, and an absent list has no members.
fn well_formed(vars: &BddVariableSet, shape: &Shape) -> Bdd {
    match shape {
        Shape::Cells { vars: cells, .. } => exactly_one(vars, cells),
        Shape::List { absent, members } => match absent {
            Some(absent) => members.iter().fold(vars.mk_true(), |acc, (_, m)| {
                acc.and(&vars.mk_var(*absent).imp(&vars.mk_not_var(*m)))
            }),
            None => vars.mk_true(),
        },
    }
}

/// Exactly one of `cells`, built in one pass: "none yet" and "one so far".
fn exactly_one(vars: &BddVariableSet, cells: &[BddVariable]) -> Bdd {
    let mut none = vars.mk_true();
    let mut one = vars.mk_false();
    for &v in cells {
        let var = vars.mk_var(v);
        one = one.and_not(&var).or(&none.and(&var));
        none = none.and_not(&var);
    }
    one
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_thresholds_cut_the_line_into_cells() {
        let points: BTreeSet<i64> = [0, 1, 5].into_iter().collect();
        let cells = intervals(&points);
        assert_eq!(
            cells,
            vec![
                Cell::Int(i64::MIN, -1),
                Cell::Int(0, 0),
                Cell::Int(1, 1),
                Cell::Int(2, 4),
                Cell::Int(5, 5),
                Cell::Int(6, i64::MAX)
            ]
        );
    }

    #[test]
    fn a_field_takes_exactly_one_cell() {
        let spec = FieldSpec {
            path: "f".into(),
            strings: ["a".into(), "b".into()].into_iter().collect(),
            other_string: true,
            absent: true,
            ..FieldSpec::default()
        };
        let space = Space::new(&[spec]).unwrap();
        assert_eq!(space.encoding.cardinality(), 4.0);
        let ticket = serde_json::json!({ "f": "zzz" });
        let valuation = space.place(&ticket).unwrap();
        assert_eq!(
            space.choices(&valuation),
            vec![Choice::Cell(Cell::OtherStr)]
        );
    }
}
