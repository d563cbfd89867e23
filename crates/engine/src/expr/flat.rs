//! Compile, fourth step: the bound tree (`bound`) as a flat list of tests,
//! each leading to another test or to the answer, whether it passes or not.
//! `&&`, `||` and `!` become where each test leads, so a run is a loop
//! over tests, not a walk down a tree, and a test of an enum field (of at
//! most 64 declared values) against constants is one bit of a mask. The
//! tests run in the tree's order, the same ones, so the answer is the
//! tree's, including where it gives up.

use crate::expr::bound::Op;
use crate::expr::evaluated::Evaluated;
use crate::schema::{Kind, Schema, Slot, Ticket};

/// A bound expression as a flat list of tests.
#[derive(Debug)]
pub(crate) struct Flat {
    /// Each test leads only to tests before it, so a run ends.
    tests: Box<[Node]>,
    entry: Next,
}

#[derive(Debug)]
struct Node {
    test: Test,
    then: Next,
    otherwise: Next,
}

/// Where a test leads: another test, or the expression's value and the
/// operand of its top-level `&&` or `||` that decided.
#[derive(Clone, Copy, Debug)]
enum Next {
    To(u32),
    Answer(bool, Option<u32>),
}

#[derive(Debug)]
enum Test {
    /// An enum field's place is marked in `places`.
    Enum {
        field: usize,
        places: u64,
    },
    Condition(usize),
    /// Any other test, answered by the bound tree (boxed: rare, and large).
    Op(Box<Op>),
}

impl Flat {
    /// `op` as a flat list of tests; `schema`, the one it is bound to.
    pub fn of(op: Op, schema: &Schema) -> Flat {
        let mut flat = Lowering {
            schema,
            tests: Vec::new(),
        };
        let entry = flat.top(op);
        Flat {
            tests: flat.tests.into(),
            entry,
        }
    }

    /// The value and, at a top-level `&&` or `||`, the operand that decided:
    /// the first false one of a `&&`, the first true one of a `||`; `None`
    /// where the bound tree would give up. `other` answers the tests left
    /// to the bound tree.
    #[inline(always)]
    pub fn eval_deciding(
        &self,
        ticket: &Ticket<'_>,
        conditions: &Evaluated,
        other: &dyn Fn(&Op) -> Option<bool>,
    ) -> Option<(bool, Option<u32>)> {
        let mut next = self.entry;
        loop {
            let node = match next {
                Next::To(at) => self.tests.get(at as usize)?,
                Next::Answer(value, part) => return Some((value, part)),
            };
            let passed = match &node.test {
                Test::Enum { field, places } => match ticket.slots.get(*field)? {
                    Slot::Enum(place) => places.checked_shr(*place)? & 1 != 0,
                    _ => return None,
                },
                Test::Condition(c) => conditions.get(*c)?,
                Test::Op(op) => other(op)?,
            };
            next = if passed { node.then } else { node.otherwise };
        }
    }
}

/// Builds the tests, last first: each test is built after those it leads to.
struct Lowering<'a> {
    schema: &'a Schema,
    tests: Vec<Node>,
}

impl Lowering<'_> {
    /// The top level, where the operand that decided a `&&` or `||` is named.
    fn top(&mut self, op: Op) -> Next {
        match op {
            Op::And(ops) => {
                let mut next = Next::Answer(true, None);
                for (i, op) in ops.into_vec().into_iter().enumerate().rev() {
                    next = self.lower(op, next, Next::Answer(false, Some(i as u32)));
                }
                next
            }
            Op::Or(ops) => {
                let mut next = Next::Answer(false, None);
                for (i, op) in ops.into_vec().into_iter().enumerate().rev() {
                    next = self.lower(op, Next::Answer(true, Some(i as u32)), next);
                }
                next
            }
            op => self.lower(op, Next::Answer(true, None), Next::Answer(false, None)),
        }
    }

    /// `op`, leading to `then` where it holds and `otherwise` where not.
    fn lower(&mut self, op: Op, then: Next, otherwise: Next) -> Next {
        match op {
            Op::Not(op) => self.lower(*op, otherwise, then),
            Op::And(ops) => (ops.into_vec().into_iter().rev())
                .fold(then, |next, op| self.lower(op, next, otherwise)),
            Op::Or(ops) => (ops.into_vec().into_iter().rev())
                .fold(otherwise, |next, op| self.lower(op, then, next)),
            op => {
                let test = self.test(op);
                self.tests.push(Node {
                    test,
                    then,
                    otherwise,
                });
                Next::To(self.tests.len() as u32 - 1)
            }
        }
    }

    fn test(&self, op: Op) -> Test {
        match (self.places(&op), op) {
            (Some(places), Op::EnumIs { field, .. } | Op::EnumIn { field, .. }) => {
                Test::Enum { field, places }
            }
            (_, Op::Condition(c)) => Test::Condition(c),
            (_, op) => Test::Op(Box::new(op)),
        }
    }

    /// The places an enum test accepts, as a mask, when its field declares
    /// at most 64 values (a ticket's place is always one of those).
    fn places(&self, op: &Op) -> Option<u64> {
        let field = match op {
            Op::EnumIs { field, .. } | Op::EnumIn { field, .. } => *field,
            _ => return None,
        };
        let Kind::Enum(values) = &self.schema.fields.get(field)?.kind else {
            return None;
        };
        if values.len() > 64 {
            return None;
        }
        let bit = |place: u32| 1u64.checked_shl(place).unwrap_or(0);
        Some(match op {
            Op::EnumIs { code, equal, .. } => {
                let mask = code.map_or(0, bit);
                if *equal { mask } else { !mask }
            }
            Op::EnumIn { places, .. } => (places.iter().enumerate())
                .filter(|(_, marked)| **marked)
                .fold(0, |mask, (place, _)| mask | bit(place as u32)),
            _ => return None,
        })
    }
}
