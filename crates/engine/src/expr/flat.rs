//! Compile, fourth step: the bound tree (`bound`) as a flat list of tests,
//! each leading to another test or to the answer, whether it passes or not.
//! `&&`, `||` and `!` become where each test leads, so a run is a loop
//! over tests, not a walk down a tree, and a test of an enum field (of at
//! most 64 declared values) against constants is one bit of a mask. The
//! tests run in the tree's order, the same ones, so the answer is the
//! tree's, including where it gives up.

use crate::expr::bound::Op;
use crate::expr::evaluated::Evaluated;
use crate::expr::term::Term;
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

/// Where a test leads, in 32 bits: the place of another test, or, with
/// [`ANSWER`] set, the expression's value ([`TRUE`]) and the operand of its
/// top-level `&&` or `||` that decided, counted from one ([`PART`], 0 for
/// none).
#[derive(Clone, Copy, Debug)]
struct Next(u32);

const ANSWER: u32 = 1 << 31;
const TRUE: u32 = 1 << 30;
/// Operands are counted from one in 28 bits, as the trace keeps them.
const PART: u32 = (1 << 28) - 1;

#[derive(Debug)]
enum Test {
    /// A test of a ticket field or a named condition.
    Read(Read),
    /// Any other test, answered by the bound tree (boxed: rare, and large).
    Op(Box<Op>),
}

impl Flat {
    /// `op` as a flat list of tests; `schema`, the one it is bound to.
    /// `None` for a tree too large to number in 30 bits, which no
    /// expression within the file size cap is.
    pub fn of(op: Op, schema: &Schema, max_array: usize) -> Option<Flat> {
        let mut flat = Lowering {
            schema,
            max_array,
            tests: Vec::new(),
            fits: true,
        };
        let entry = flat.top(op);
        flat.fits.then(|| Flat {
            tests: flat.tests.into(),
            entry,
        })
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
        let mut next = self.entry.0;
        while next & ANSWER == 0 {
            let node = self.tests.get(next as usize)?;
            let passed = match &node.test {
                Test::Read(Read::Enum { field, places }) => {
                    match ticket.slots.get(*field as usize)? {
                        Slot::Enum(place) => places.checked_shr(*place)? & 1 != 0,
                        _ => return None,
                    }
                }
                Test::Read(Read::Bool(field)) => match ticket.slots.get(*field as usize)? {
                    Slot::Bool(b) => *b,
                    // What the general evaluator says of a field that is not.
                    _ => return None,
                },
                Test::Read(Read::List { field, code, max }) => {
                    match ticket.slots.get(*field as usize)? {
                        Slot::List(items) if *max == 0 || items.len() <= *max => {
                            code.is_some_and(|code| items.contains(&code))
                        }
                        _ => return None,
                    }
                }
                Test::Read(Read::Condition(c)) => conditions.get(*c as usize)?,
                Test::Op(op) => other(op)?,
            };
            next = if passed {
                node.then.0
            } else {
                node.otherwise.0
            };
        }
        Some((next & TRUE != 0, (next & PART).checked_sub(1)))
    }
}

/// A test of a ticket field or a named condition: most tests are, and
/// atom mode (`engine::atoms`) numbers those of fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Read {
    /// An enum field's place is marked in `places`.
    Enum {
        field: u32,
        places: u64,
    },
    /// A boolean field is true.
    Bool(u32),
    /// A list field of at most `max` items (0: any) holds the value at `code`.
    List {
        field: u32,
        code: Option<u32>,
        max: usize,
    },
    Condition(u32),
}

/// Where a test leads, as [`Flat::view`] shows it: another test, or the
/// expression's value and the operand of its top-level `&&` or `||` that
/// decided, if any.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Goto {
    Test(usize),
    Answer(bool, Option<u32>),
}

impl Next {
    fn goto(self) -> Goto {
        match self.0 & ANSWER {
            0 => Goto::Test(self.0 as usize),
            _ => Goto::Answer(self.0 & TRUE != 0, (self.0 & PART).checked_sub(1)),
        }
    }
}

/// A flat expression as atom mode reads it: each test, where it leads when
/// it passes and when not, and the first test.
pub(crate) struct View {
    pub tests: Vec<(Read, Goto, Goto)>,
    pub entry: Goto,
}

impl Flat {
    /// The tests as what they read; `None` when one is left to the bound
    /// tree, which atom mode does not take.
    pub fn view(&self) -> Option<View> {
        let read = |test: &Test| match test {
            Test::Read(read) => Some(*read),
            Test::Op(_) => None,
        };
        let tests = self.tests.iter().map(|node| {
            let (then, otherwise) = (node.then.goto(), node.otherwise.goto());
            Some((read(&node.test)?, then, otherwise))
        });
        Some(View {
            tests: tests.collect::<Option<_>>()?,
            entry: self.entry.goto(),
        })
    }
}

/// Builds the tests, last first: each test is built after those it leads to.
struct Lowering<'a> {
    schema: &'a Schema,
    /// The sandbox's limit on a list's length (0 for none).
    max_array: usize,
    tests: Vec<Node>,
    /// Whether every place and operand fits its bits so far.
    fits: bool,
}

impl Lowering<'_> {
    /// The top level, where the operand that decided a `&&` or `||` is named.
    fn top(&mut self, op: Op) -> Next {
        match op {
            Op::And(ops) => self.top_chain(ops, false),
            Op::Or(ops) => self.top_chain(ops, true),
            op => {
                let (then, otherwise) = (self.answer(true, None), self.answer(false, None));
                self.lower(op, then, otherwise)
            }
        }
    }

    /// A top-level `&&` (`stop` false) or `||` (`stop` true): the first
    /// operand that comes out `stop` decides, and is named.
    fn top_chain(&mut self, ops: Box<[Op]>, stop: bool) -> Next {
        let mut next = self.answer(!stop, None);
        for (i, op) in ops.into_vec().into_iter().enumerate().rev() {
            let decided = self.answer(stop, Some(i));
            next = match stop {
                false => self.lower(op, next, decided),
                true => self.lower(op, decided, next),
            };
        }
        next
    }

    fn to(&mut self, at: usize) -> Next {
        let at = u32::try_from(at).ok().filter(|&at| at < ANSWER);
        self.fits &= at.is_some();
        Next(at.unwrap_or(0))
    }

    fn answer(&mut self, value: bool, part: Option<usize>) -> Next {
        let part = match part {
            None => Some(0),
            Some(p) => u32::try_from(p + 1).ok().filter(|&p| p <= PART),
        };
        self.fits &= part.is_some();
        Next(ANSWER | if value { TRUE } else { 0 } | part.unwrap_or(0))
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
                self.to(self.tests.len() - 1)
            }
        }
    }

    fn test(&self, op: Op) -> Test {
        let small = |index: usize| u32::try_from(index).ok();
        match (self.places(&op), &op) {
            (Some(places), Op::EnumIs { field, .. } | Op::EnumIn { field, .. }) => {
                if let Some(field) = small(*field) {
                    return Test::Read(Read::Enum { field, places });
                }
            }
            (_, Op::ListHas { field, code }) => {
                if let Some(field) = small(*field) {
                    let (code, max) = (*code, self.max_array);
                    return Test::Read(Read::List { field, code, max });
                }
            }
            (_, Op::Condition(c)) => {
                if let Some(c) = small(*c) {
                    return Test::Read(Read::Condition(c));
                }
            }
            (_, Op::Term(Term::Field(field))) => {
                if let Some(field) = small(*field) {
                    return Test::Read(Read::Bool(field));
                }
            }
            _ => {}
        }
        Test::Op(Box::new(op))
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
