//! Expressions as sets: each condition's lowered tree (`expr::native`)
//! becomes the tickets it is true on, false on, and fails on, with rhai's own
//! rules for absent values: a comparison with `()` is false (`!=` true), an
//! absent value in `&&`, `||`, `!` or as a whole condition is an error, and
//! `"x" in list` fails when the list is absent. Anything outside the lowered
//! subset is opaque: named, never guessed.

use std::sync::Arc;

use biodivine_lib_bdd::Bdd;

use super::side::{AVal, Side};
use super::space::Shape;
use crate::expr::native::{Cmp, Term};

/// The tickets an expression is true on, false on, and fails on.
#[derive(Clone)]
pub(crate) struct Tri {
    pub t: Bdd,
    pub f: Bdd,
    pub e: Bdd,
}

/// A subterm: a set of tickets already, a field, or a constant.
enum Operand {
    Tri(Tri),
    Field(usize),
    Str(Arc<str>),
    Int(i64),
    Bool(bool),
    List(Vec<Arc<str>>),
}

/// Why an expression cannot be analysed.
pub(crate) type Why = String;

impl Side<'_> {
    /// The sets of `term`, with named conditions read from `conditions`.
    pub(crate) fn tri(&self, term: &Term, conditions: &[Option<Tri>]) -> Result<Tri, Why> {
        let operand = self.operand(term, conditions)?;
        self.as_tri(operand)
    }

    fn operand(&self, term: &Term, conditions: &[Option<Tri>]) -> Result<Operand, Why> {
        Ok(match term {
            Term::Field(i) => Operand::Field(self.dim(*i)?),
            Term::Condition(i) => match conditions.get(*i) {
                // Its errors count where the guard needs it, not here.
                Some(Some(c)) => Operand::Tri(Tri {
                    e: self.none(),
                    ..c.clone()
                }),
                _ => return Err("a named condition it uses cannot be analysed".into()),
            },
            Term::Str(s) => Operand::Str(s.as_ref().into()),
            Term::Int(i) => Operand::Int(*i),
            Term::Bool(b) => Operand::Bool(*b),
            Term::List(items) => Operand::List(items.iter().map(|s| s.as_ref().into()).collect()),
            Term::Not(operand) => {
                let x = self.tri(operand, conditions)?;
                Operand::Tri(Tri {
                    t: x.f,
                    f: x.t,
                    e: x.e,
                })
            }
            Term::And(operands) => Operand::Tri(self.chain(operands, conditions, true)?),
            Term::Or(operands) => Operand::Tri(self.chain(operands, conditions, false)?),
            Term::Compare(cmp, pair) => {
                let a = self.operand(&pair.0, conditions)?;
                let b = self.operand(&pair.1, conditions)?;
                Operand::Tri(self.compare(*cmp, a, b)?)
            }
            Term::In(pair) => {
                let item = self.operand(&pair.0, conditions)?;
                let list = self.operand(&pair.1, conditions)?;
                Operand::Tri(self.member(item, list)?)
            }
        })
    }

    /// `&&` (`all`) or `||` from left to right, stopping at the first false
    /// (true) operand and failing at the first that fails.
    fn chain(&self, operands: &[Term], conditions: &[Option<Tri>], all: bool) -> Result<Tri, Why> {
        let mut going = self.everything();
        let mut stop = self.none();
        let mut e = self.none();
        for operand in operands {
            let x = self.tri(operand, conditions)?;
            let (keep, halt) = if all { (x.t, x.f) } else { (x.f, x.t) };
            e = e.or(&going.and(&x.e));
            stop = stop.or(&going.and(&halt));
            going = going.and(&keep);
        }
        let (t, f) = if all { (going, stop) } else { (stop, going) };
        Ok(Tri { t, f, e })
    }

    /// An operand where a boolean is needed: anything else fails.
    fn as_tri(&self, operand: Operand) -> Result<Tri, Why> {
        Ok(match operand {
            Operand::Tri(tri) => tri,
            Operand::Bool(b) => self.constant(Some(b)),
            Operand::Field(dim) => {
                let mut tri = self.failing();
                let cells = self.cells(dim)?;
                for (cell, value) in cells {
                    match value {
                        AVal::Bool(true) => tri.t = tri.t.or(&cell),
                        AVal::Bool(false) => tri.f = tri.f.or(&cell),
                        _ => tri.e = tri.e.or(&cell),
                    }
                }
                tri
            }
            _ => self.constant(None),
        })
    }

    fn compare(&self, cmp: Cmp, a: Operand, b: Operand) -> Result<Tri, Why> {
        match (a, b) {
            (Operand::Field(x), Operand::Field(y)) => self.fields_compare(cmp, x, y),
            (Operand::Field(x), other) => {
                let value = constant(&other).ok_or("a comparison it cannot model")?;
                self.field_compare(x, |v| compare(cmp, v, &value))
            }
            (other, Operand::Field(y)) => {
                let value = constant(&other).ok_or("a comparison it cannot model")?;
                self.field_compare(y, |v| compare(cmp, &value, v))
            }
            (Operand::Tri(x), Operand::Bool(b)) | (Operand::Bool(b), Operand::Tri(x)) => {
                Ok(self.bool_compare(cmp, &x, &self.constant(Some(b))))
            }
            (Operand::Tri(x), Operand::Tri(y)) => Ok(self.bool_compare(cmp, &x, &y)),
            (a, b) => match (constant(&a), constant(&b)) {
                (Some(a), Some(b)) => match compare(cmp, &a, &b) {
                    Some(r) => Ok(self.constant(Some(r))),
                    None => Err("a comparison it cannot model".into()),
                },
                _ => Err("a comparison of a condition with a value".into()),
            },
        }
    }

    /// `field <op> value`, cell by cell.
    fn field_compare(&self, dim: usize, test: impl Fn(&AVal) -> Option<bool>) -> Result<Tri, Why> {
        let mut tri = self.failing();
        for (cell, value) in self.cells(dim)? {
            match test(&value) {
                Some(true) => tri.t = tri.t.or(&cell),
                Some(false) => tri.f = tri.f.or(&cell),
                None => return Err("an ordering of strings or of ranges it cannot split".into()),
            }
        }
        Ok(tri)
    }

    fn fields_compare(&self, cmp: Cmp, x: usize, y: usize) -> Result<Tri, Why> {
        let (xs, ys) = (self.cells(x)?, self.cells(y)?);
        if xs.len() * ys.len() > 4096 {
            return Err("a comparison of two fields with too many values".into());
        }
        let mut tri = self.failing();
        for (a, va) in &xs {
            for (b, vb) in &ys {
                let both = a.and(b);
                match compare(cmp, va, vb) {
                    Some(true) => tri.t = tri.t.or(&both),
                    Some(false) => tri.f = tri.f.or(&both),
                    None => return Err("a comparison of two fields it cannot split".into()),
                }
            }
        }
        Ok(tri)
    }

    /// Two booleans compared; either failing fails.
    fn bool_compare(&self, cmp: Cmp, x: &Tri, y: &Tri) -> Tri {
        let same = x.t.and(&y.t).or(&x.f.and(&y.f));
        let differ = x.t.and(&y.f).or(&x.f.and(&y.t));
        let e = x.e.or(&y.e);
        let (t, f) = match cmp {
            Cmp::Eq => (same, differ),
            Cmp::Ne => (differ, same),
            // false < true
            Cmp::Lt => (x.f.and(&y.t), x.t.or(&y.f)),
            Cmp::Le => (x.f.or(&y.t), x.t.and(&y.f)),
            Cmp::Gt => (x.t.and(&y.f), x.f.or(&y.t)),
            Cmp::Ge => (x.t.or(&y.f), x.f.and(&y.t)),
        };
        Tri {
            t: t.and_not(&e),
            f: f.and_not(&e),
            e,
        }
    }

    /// `item in list`.
    fn member(&self, item: Operand, list: Operand) -> Result<Tri, Why> {
        match (item, list) {
            (item, Operand::List(items)) => match item {
                Operand::Field(dim) => self.field_compare(dim, |v| {
                    Some(matches!(v, AVal::Str(s) if items.contains(s)))
                }),
                Operand::Str(s) => Ok(self.constant(Some(items.contains(&s)))),
                _ => Ok(self.constant(Some(false))),
            },
            (Operand::Str(s), Operand::Field(dim)) => self.holds(dim, |m| *m == *s),
            (Operand::Field(item), Operand::Field(dim)) => self.field_in_list(item, dim),
            _ => Err("an `in` test it cannot model (a substring, or a computed list)".into()),
        }
    }

    /// A list field holds a member for which `wanted` is true; an absent
    /// list fails, as rhai's `contains` on `()` does.
    fn holds(&self, dim: usize, wanted: impl Fn(&str) -> bool) -> Result<Tri, Why> {
        let Shape::List { absent, members } = &self.space.dims[dim].shape else {
            return Err("an `in` test on a text field (a substring test)".into());
        };
        let vars = &self.space.vars;
        let mut t = vars.mk_false();
        for (m, var) in members {
            if wanted(m) {
                t = t.or(&vars.mk_var(*var));
            }
        }
        let mut e = vars.mk_false();
        if let Some(absent) = absent {
            let gone = vars.mk_var(*absent);
            t = t.and_not(&gone);
            match self.absent_list(dim) {
                AVal::List(default) => {
                    let hit = default.iter().any(|m| wanted(m));
                    if hit {
                        t = t.or(&gone);
                    }
                }
                _ => e = gone,
            }
        }
        let f = vars.mk_true().and_not(&t).and_not(&e);
        Ok(Tri { t, f, e })
    }

    fn field_in_list(&self, item: usize, dim: usize) -> Result<Tri, Why> {
        let mut tri = self.failing();
        for (cell, value) in self.cells(item)? {
            let inside = match &value {
                AVal::Str(s) => self.holds(dim, |m| *m == **s)?,
                // `contains` compares with `==`: nothing else is a member.
                _ => self.holds(dim, |_| false)?,
            };
            tri.t = tri.t.or(&cell.and(&inside.t));
            tri.f = tri.f.or(&cell.and(&inside.f));
            tri.e = tri.e.or(&cell.and(&inside.e));
        }
        Ok(tri)
    }

    fn constant(&self, value: Option<bool>) -> Tri {
        let mut tri = self.failing();
        match value {
            Some(true) => tri.t = self.everything(),
            Some(false) => tri.f = self.everything(),
            None => tri.e = self.everything(),
        }
        tri
    }

    fn failing(&self) -> Tri {
        Tri {
            t: self.none(),
            f: self.none(),
            e: self.none(),
        }
    }

    pub(crate) fn everything(&self) -> Bdd {
        self.space.vars.mk_true()
    }

    pub(crate) fn none(&self) -> Bdd {
        self.space.vars.mk_false()
    }
}

/// A constant operand as a value.
fn constant(operand: &Operand) -> Option<AVal> {
    Some(match operand {
        Operand::Str(s) => AVal::Str(s.clone()),
        Operand::Int(i) => AVal::Int(*i, *i),
        Operand::Bool(b) => AVal::Bool(*b),
        _ => return None,
    })
}

/// rhai's comparison of two values; `None` where the cells do not decide it.
fn compare(cmp: Cmp, a: &AVal, b: &AVal) -> Option<bool> {
    use std::cmp::Ordering;
    let ordering: Ordering = match (a, b) {
        (AVal::Unit, AVal::Unit) => return Some(cmp == Cmp::Eq),
        (AVal::Str(x), AVal::Str(y)) => x.cmp(y),
        (AVal::OtherStr, AVal::Str(_)) | (AVal::Str(_), AVal::OtherStr) => {
            return match cmp {
                Cmp::Eq => Some(false),
                Cmp::Ne => Some(true),
                _ => None,
            };
        }
        (AVal::Bool(x), AVal::Bool(y)) => x.cmp(y),
        (AVal::Int(lo1, hi1), AVal::Int(lo2, hi2)) => {
            if hi1 < lo2 {
                Ordering::Less
            } else if lo1 > hi2 {
                Ordering::Greater
            } else if lo1 == hi1 && lo2 == hi2 {
                Ordering::Equal
            } else {
                return None;
            }
        }
        (AVal::OtherStr, AVal::OtherStr) | (AVal::List(_), _) | (_, AVal::List(_)) => {
            return None;
        }
        // Values of different types: rhai says `!=`, and nothing else.
        _ => return Some(cmp == Cmp::Ne),
    };
    Some(match cmp {
        Cmp::Eq => ordering.is_eq(),
        Cmp::Ne => ordering.is_ne(),
        Cmp::Lt => ordering.is_lt(),
        Cmp::Le => ordering.is_le(),
        Cmp::Gt => ordering.is_gt(),
        Cmp::Ge => ordering.is_ge(),
    })
}
