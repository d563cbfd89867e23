//! Atom mode's trace: a verdict decided in atom mode keeps where the
//! decision ended and the ticket's atoms; its trace is found from those
//! when the verdict is rendered. Under first match the walk tried every
//! constraint, each rule up to the deciding one and each step of its path
//! up to the chosen one (all of them, before a fallback); each guard's
//! answer, and the operand that decided it, is one of its cubes, and the
//! named conditions the walk evaluated are those the guards tried need,
//! each a function of the atoms too. So the trace is the walk's, entry for
//! entry, without running it.

use crate::engine::cubes::{Answer, Cube, Numbering};
use crate::engine::packed::{Packed, Steps};
use crate::expr::Expression;
use crate::expr::evaluated::Evaluated;
use crate::model::decision::StepResult;
use crate::model::{Compiled, Guard};

/// What the trace of a decision in atom mode is found from.
pub(crate) struct Replay {
    /// The named conditions the constraints need (bit `c` for condition `c`).
    constraints: u64,
    rules: Box<[Tried]>,
    /// Each path's steps.
    steps: Box<[Box<[Tried]>]>,
    /// Each named condition's cubes where it is true.
    conditions: Box<[Box<[Cube]>]>,
}

/// A guard as its trace entry reads it: the conditions it needs, and its
/// answer in each of its cubes.
struct Tried {
    needs: u64,
    answers: Box<[(Cube, Answer)]>,
}

impl Replay {
    /// The replay of `bundle`'s decisions; `None` for a bundle of more than
    /// 64 named conditions, or a guard whose needs are not listed as bits.
    pub fn build(bundle: &Compiled, numbering: &mut Numbering) -> Option<Replay> {
        if bundle.conditions.len() > 64 {
            return None;
        }
        let needs = |guard: &Guard| guard.needs_bits;
        let constraints =
            (bundle.constraints.iter()).try_fold(0, |all, c| Some(all | needs(&c.guard)?))?;
        let rules = (bundle.rules.iter())
            .map(|r| Tried::of(numbering, &r.guard))
            .collect::<Option<_>>()?;
        let steps = (bundle.paths.iter())
            .map(|p| {
                (p.steps.iter())
                    .map(|s| Tried::of(numbering, &s.guard))
                    .collect()
            })
            .collect::<Option<_>>()?;
        let conditions = (0..bundle.conditions.len())
            .map(|c| numbering.condition(c).map(Into::into))
            .collect::<Option<_>>()?;
        Some(Replay {
            constraints,
            rules,
            steps,
            conditions,
        })
    }

    /// The trace and the named conditions' values of the decision that
    /// ended at rule `rule` and, along its path `path`, at `step` (none: the
    /// fallback), for a ticket whose atoms are `atoms`.
    pub fn trace(
        &self,
        atoms: u64,
        rule: usize,
        path: Option<usize>,
        step: Option<usize>,
    ) -> Option<(Steps, Evaluated)> {
        let mut steps = Steps::new();
        let mut known = self.constraints;
        for (at, rule) in self.rules.get(..=rule)?.iter().enumerate() {
            let (result, part) = rule.answer(atoms)?;
            steps.push(Packed::rule(u32::try_from(at).ok()?, result, part));
            known |= rule.needs;
        }
        if let Some(path) = path {
            let along = self.steps.get(path)?;
            let tried = match step {
                Some(step) => along.get(..=step)?,
                None => along,
            };
            for (at, step) in tried.iter().enumerate() {
                let (result, part) = step.answer(atoms)?;
                steps.push(Packed::along(u32::try_from(at).ok()?, result, part));
                known |= step.needs;
            }
            if step.is_none() {
                steps.push(Packed::fallback());
            }
        }
        Some((steps, self.conditions(atoms, known)))
    }

    /// The values of the conditions in `known`.
    fn conditions(&self, atoms: u64, known: u64) -> Evaluated {
        let mut conditions = Evaluated::new(self.conditions.len());
        for (c, cubes) in self.conditions.iter().enumerate() {
            if (known >> c) & 1 != 0 {
                conditions.set(c, cubes.iter().any(|cube| cube.holds(atoms)));
            }
        }
        conditions
    }
}

impl Tried {
    fn of(numbering: &mut Numbering, guard: &Guard) -> Option<Tried> {
        Some(Tried {
            needs: guard.needs_bits?,
            answers: answers(numbering, &guard.expr)?.into(),
        })
    }

    /// The guard's result for `atoms`, and the operand that decided.
    fn answer(&self, atoms: u64) -> Option<(StepResult, Option<u32>)> {
        let (_, (value, part)) = self.answers.iter().find(|(c, _)| c.holds(atoms))?;
        let result = match value {
            true => StepResult::Matched,
            false => StepResult::NotMatched,
        };
        Some((result, *part))
    }
}

/// Every cube of `expr`, with its answer there.
fn answers(numbering: &mut Numbering, expr: &Expression) -> Option<Vec<(Cube, Answer)>> {
    if expr.always {
        return Some(vec![(Cube::ANY, (true, None))]);
    }
    let view = expr.native.as_ref()?.view()?;
    numbering.answers(&view, None, 0)
}
