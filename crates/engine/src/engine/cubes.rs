//! Atom mode's expressions: each as the cubes over the bundle's atoms where
//! it holds (or where it does not). An atom is one distinct test of a ticket
//! field (an enum field's place among some, a boolean field, a list field
//! holding a value), numbered at load; a cube is a few atoms each required
//! true or false, and an expression holds where one of its cubes does. The
//! named conditions an expression uses are folded in, so a cube reads
//! ticket fields alone.

use crate::expr::flat::{Goto, Read, View};
use crate::model::Condition;
use crate::schema::{Kind, Schema};

/// An expression's value and the operand of its top-level `&&` or `||`
/// that decided, if any.
pub(crate) type Answer = (bool, Option<u32>);

/// Atoms required true (`want` set) or false (clear) where `need` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cube {
    pub need: u64,
    pub want: u64,
}

impl Cube {
    /// The cube every ticket is in.
    pub const ANY: Cube = Cube { need: 0, want: 0 };

    /// Whether the atoms true of a ticket, `atoms`, are in the cube.
    #[inline(always)]
    pub fn holds(&self, atoms: u64) -> bool {
        atoms & self.need == self.want
    }

    /// The cube of both, or `None` where they ask opposite things of an atom.
    fn and(self, other: Cube) -> Option<Cube> {
        let both = self.need & other.need;
        ((self.want ^ other.want) & both == 0).then_some(Cube {
            need: self.need | other.need,
            want: self.want | other.want,
        })
    }
}

/// The most cubes an expression may take, and the most steps finding them
/// may take: beyond, the bundle stays on the walk.
const MAX_CUBES: usize = 64;
const MAX_WORK: usize = 4_096;
/// The deepest chain of named conditions folded in.
const MAX_DEPTH: usize = 32;

/// The atoms numbered so far, and each condition's cubes once found.
pub(crate) struct Numbering<'a> {
    pub atoms: Vec<Read>,
    schema: &'a Schema,
    conditions: &'a [Condition],
    /// Condition `c`'s cubes where it is false, then where it is true.
    found: Vec<Option<[Vec<Cube>; 2]>>,
}

impl<'a> Numbering<'a> {
    pub fn new(schema: &'a Schema, conditions: &'a [Condition]) -> Self {
        Numbering {
            atoms: Vec::new(),
            schema,
            conditions,
            found: vec![None; conditions.len()],
        }
    }

    /// The cubes where `view` comes out `value`; `None` past the caps.
    pub fn cubes(&mut self, view: &View, value: bool, depth: usize) -> Option<Vec<Cube>> {
        let found = self.answers(view, Some(value), depth)?;
        Some(found.into_iter().map(|(cube, _)| cube).collect())
    }

    /// The cubes where `view` comes out `value` (any, for `None`), each
    /// with the answer there: the value and the operand that decided.
    pub fn answers(
        &mut self,
        view: &View,
        value: Option<bool>,
        depth: usize,
    ) -> Option<Vec<(Cube, Answer)>> {
        let mut found = Vec::new();
        let mut stack = vec![(view.entry, Cube::ANY)];
        let mut work = 0;
        while let Some((goto, cube)) = stack.pop() {
            work += 1;
            if work > MAX_WORK || found.len() > MAX_CUBES {
                return None;
            }
            let at = match goto {
                Goto::Answer(v, part) => {
                    if value.is_none_or(|value| v == value) && self.possible(cube) {
                        found.push((cube, (v, part)));
                    }
                    continue;
                }
                Goto::Test(at) => at,
            };
            let (read, then, otherwise) = *view.tests.get(at)?;
            let [no, yes] = self.branches(read, depth)?;
            let next = |c: &Cube| cube.and(*c);
            stack.extend(yes.iter().filter_map(next).map(|c| (then, c)));
            stack.extend(no.iter().filter_map(next).map(|c| (otherwise, c)));
        }
        Some(found)
    }

    /// Whether a ticket can be in `cube`: an enum field has one value, so
    /// a cube that asks its atoms for none (`category == "a"` and
    /// `category == "b"`, say) holds for no ticket, and is left out.
    fn possible(&self, cube: Cube) -> bool {
        let mut allowed: Vec<(u32, u64)> = Vec::new();
        for (bit, read) in self.atoms.iter().enumerate().take(64) {
            let Read::Enum { field, places } = *read else {
                continue;
            };
            if (cube.need >> bit) & 1 == 0 {
                continue;
            }
            let at = match allowed.iter().position(|(f, _)| *f == field) {
                Some(at) => at,
                None => {
                    allowed.push((field, self.every_place(field)));
                    allowed.len() - 1
                }
            };
            let want = (cube.want >> bit) & 1 != 0;
            allowed[at].1 &= if want { places } else { !places };
        }
        allowed.iter().all(|(_, places)| *places != 0)
    }

    /// Every place of enum field `field`, as a mask (all 64 for one of
    /// more values, which has no atoms).
    fn every_place(&self, field: u32) -> u64 {
        let count = match &self.schema.fields.get(field as usize).map(|f| &f.kind) {
            Some(Kind::Enum(values)) => values.len(),
            _ => 64,
        };
        1u64.checked_shl(count as u32)
            .map_or(u64::MAX, |bit| bit - 1)
    }

    /// The cubes where condition `c` is true.
    pub fn condition(&mut self, c: usize) -> Option<Vec<Cube>> {
        let read = Read::Condition(u32::try_from(c).ok()?);
        let [_, yes] = self.branches(read, 0)?;
        Some(yes)
    }

    /// The cubes where `read` is false, then where it is true.
    fn branches(&mut self, read: Read, depth: usize) -> Option<[Vec<Cube>; 2]> {
        let Read::Condition(c) = read else {
            let bit = 1u64 << self.atom(read)?;
            let no = Cube { need: bit, want: 0 };
            let yes = Cube {
                need: bit,
                want: bit,
            };
            return Some([vec![no], vec![yes]]);
        };
        let c = c as usize;
        if let Some(found) = self.found.get(c)? {
            return Some(found.clone());
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        let conditions = self.conditions;
        let view = conditions.get(c)?.expr.native.as_ref()?.view()?;
        let found = [
            self.cubes(&view, false, depth + 1)?,
            self.cubes(&view, true, depth + 1)?,
        ];
        *self.found.get_mut(c)? = Some(found.clone());
        Some(found)
    }

    /// `read`'s atom number, numbered now if new; `None` past 64.
    fn atom(&mut self, read: Read) -> Option<u32> {
        let at = match self.atoms.iter().position(|a| *a == read) {
            Some(at) => at,
            None => {
                self.atoms.push(read);
                self.atoms.len() - 1
            }
        };
        u32::try_from(at).ok().filter(|&at| at < 64)
    }
}
