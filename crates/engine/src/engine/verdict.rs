//! Record: a decision as evaluation leaves it, indices into the bundle and
//! the ticket it read, and its two renderings: the [`Decision`] value, and
//! the same decision written straight to JSON (`write`). Under first match
//! every rule tried before the deciding one did not match, and what each
//! read is known at load, so the trace is kept as which step gave what, and
//! names, paths and values are looked up only when it is rendered.

use std::sync::Arc;

use crate::engine::fragments::Fragments;
use crate::engine::index::RuleIndex;
use crate::expr::evaluated::Evaluated;
use crate::model::decision::{Decision, Named, Reads, Requester, StepKind, StepResult, TraceStep};
use crate::model::{ActionSel, Compiled, Guard};
use crate::schema::Ticket;

/// One entry of the trace, as rendering reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// The rule at `rule`; `part`: the operand of its top-level `&&`/`||`
    /// that decided, when known (never for an `error` result).
    Rule {
        rule: u32,
        result: StepResult,
        part: Option<u32>,
    },
    /// The step at `step` of the path at `path`.
    Along {
        path: u32,
        step: u32,
        result: StepResult,
        part: Option<u32>,
    },
    /// The fallback of the path at `path`.
    Fallback { path: u32 },
    /// The rules from `first` up to `end` (not included), left out by the index.
    Excluded { first: u32, end: u32 },
}

/// One entry of the trace as evaluation keeps it, in 8 bytes, so that the
/// trace kept inline stays small to move: `at` is the rule, the path step,
/// or the first rule left out; `info` holds the kind (top two bits), the
/// result (the next two) and the operand that decided, counted from one
/// (the rest; 0 for none), or, left out by the index, the end of the run.
/// An entry along a path, or its fallback, belongs to the path of the rule
/// tried last. Operands and rules are counted in 28 and 30 bits, more than
/// a bundle within the size caps can hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packed {
    at: u32,
    info: u32,
}

const KIND: u32 = 0b11 << 30;
const ALONG: u32 = 1 << 30;
const FALLBACK: u32 = 2 << 30;
const EXCLUDED: u32 = 3 << 30;
const RESULT: u32 = 28;
/// The most an operand's count from one can be (see also `expr::flat`).
pub(crate) const PART: u32 = (1 << 28) - 1;

impl Packed {
    #[inline]
    pub fn rule(rule: u32, result: StepResult, part: Option<u32>) -> Packed {
        Packed::tried(0, rule, result, part)
    }

    #[inline]
    pub fn along(step: u32, result: StepResult, part: Option<u32>) -> Packed {
        Packed::tried(ALONG, step, result, part)
    }

    pub fn fallback() -> Packed {
        Packed {
            at: 0,
            info: FALLBACK,
        }
    }

    pub fn excluded(first: u32, end: u32) -> Packed {
        Packed {
            at: first,
            info: EXCLUDED | (end & !KIND),
        }
    }

    #[inline]
    fn tried(kind: u32, at: u32, result: StepResult, part: Option<u32>) -> Packed {
        let result = match result {
            StepResult::Matched => 0,
            StepResult::NotMatched => 1,
            StepResult::Error => 2,
        };
        let part = part.and_then(|p| p.checked_add(1)).filter(|&p| p <= PART);
        Packed {
            at,
            info: kind | result << RESULT | part.unwrap_or(0),
        }
    }

    /// The entry, for a trace whose rule tried last leads along `path`.
    fn unpack(self, path: u32) -> Step {
        let result = match (self.info >> RESULT) & 0b11 {
            0 => StepResult::Matched,
            1 => StepResult::NotMatched,
            _ => StepResult::Error,
        };
        let part = (self.info & PART).checked_sub(1);
        match self.info & KIND {
            ALONG => Step::Along {
                path,
                step: self.at,
                result,
                part,
            },
            FALLBACK => Step::Fallback { path },
            EXCLUDED => Step::Excluded {
                first: self.at,
                end: self.info & !KIND,
            },
            _ => Step::Rule {
                rule: self.at,
                result,
                part,
            },
        }
    }
}

/// The entries of `packed`, unpacked: those along a path, on the path of
/// the rule tried last.
pub(crate) fn unpacked<'s>(
    bundle: &'s Compiled,
    packed: &'s [Packed],
) -> impl Iterator<Item = Step> + 's {
    let mut path = 0;
    packed.iter().map(move |p| {
        let step = p.unpack(path);
        if let Step::Rule { rule, .. } = step {
            let rule = bundle.rules.get(rule as usize);
            path = rule.and_then(|r| r.path).map_or(0, |p| p as u32);
        }
        step
    })
}

/// The trace as evaluation keeps it: inline up to 15 entries, so that a
/// decision allocates nothing for most traces (the reference pack's longest
/// is 15 entries), and the trace is 128 bytes, which the compiler moves
/// without a call to `memcpy`.
pub(crate) type Steps = smallvec::SmallVec<[Packed; 15]>;

/// Where a rule leads: its own outcome and action, or, along its path, a
/// step's vehicle or the fallback's outcome and action.
pub(crate) struct Route<'a> {
    pub outcome: usize,
    pub action: &'a ActionSel,
    /// The step that chose the vehicle; none along a path means its
    /// fallback applied.
    pub step: Option<usize>,
}

/// What rendering a trace reads besides the steps and the conditions' values.
#[derive(Clone, Copy)]
pub(crate) struct Trace<'a> {
    pub bundle: &'a Compiled,
    pub index: Option<&'a RuleIndex>,
    pub ticket: &'a Ticket<'a>,
}

/// A decision as evaluation leaves it: render it with
/// [`Verdict::decision`], or write its JSON with [`Verdict::write_json`]
/// (the same bytes as the decision's JSON, without building it). It borrows
/// the bundle and the ticket.
pub struct Verdict<'a> {
    pub(crate) trace: Trace<'a>,
    /// The bundle's text as JSON, for writing.
    pub(crate) json: &'a Fragments,
    /// Each named condition's value, where it was evaluated.
    pub(crate) conditions: Evaluated,
    pub(crate) steps: Steps,
    pub(crate) rule: usize,
    pub(crate) outcome: usize,
    /// The path step that chose the vehicle; none along the rule's path
    /// means the path's fallback applied (else there is no verdict).
    pub(crate) step: Option<usize>,
    pub(crate) action: usize,
    /// Decided in atom mode: `steps` and `conditions` are left empty, and
    /// found again (`walked`) when the verdict is rendered.
    pub(crate) atoms: bool,
}

impl std::fmt::Debug for Verdict<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verdict")
            .field("rule", self.rule_id())
            .field("outcome", self.outcome())
            .finish_non_exhaustive()
    }
}

impl<'a> Verdict<'a> {
    /// The outcome id.
    pub fn outcome(&self) -> &'a Arc<str> {
        &self.trace.bundle.outcomes[self.outcome].id
    }

    /// The vehicle id, if a path step chose one.
    pub fn vehicle(&self) -> Option<&'a Arc<str>> {
        Some(&self.trace.bundle.vehicles[self.vehicle_index()?].id)
    }

    /// The place of the path the deciding rule named, if it named one.
    pub(crate) fn path(&self) -> Option<usize> {
        self.trace.bundle.rules[self.rule].path
    }

    /// The place of the vehicle a path step chose, if one did.
    pub(crate) fn vehicle_index(&self) -> Option<usize> {
        let bundle = self.trace.bundle;
        Some(bundle.paths[self.path()?].steps[self.step?].vehicle)
    }

    /// Whether the requester's role may take the action.
    pub(crate) fn allowed(&self) -> bool {
        let role = self.role();
        let roles = &self.trace.bundle.actions[self.action].roles;
        roles.iter().any(|r| **r == *role)
    }

    /// The id of the rule that decided.
    pub fn rule_id(&self) -> &'a Arc<str> {
        &self.trace.bundle.rules[self.rule].id
    }

    /// The decision, with the trace this verdict keeps (see `render`).
    pub(crate) fn decision_kept(&self) -> Decision {
        let bundle = self.trace.bundle;
        let rule = &bundle.rules[self.rule];
        let path = self.path().map(|p| &bundle.paths[p]);
        let action = &bundle.actions[self.action];
        Decision {
            ticket_id: self.text(bundle.schema.id_field).into(),
            outcome: self.outcome().clone(),
            vehicle: self.vehicle().cloned(),
            rule: rule.id.clone(),
            path: path.map(|p| p.id.clone()),
            path_step: path.zip(self.step).map(|(p, s)| p.steps[s].id.clone()),
            action: action.id.clone(),
            requester: Requester {
                role: self.role().into(),
                allowed: self.allowed(),
            },
            allowed_roles: action.roles.clone(),
            rationale: self.rationale().cloned().collect(),
            policy: bundle.policy.clone(),
            trace: self.trace.render(&self.steps, &self.conditions),
        }
    }

    /// The requester's role, from the ticket.
    pub(crate) fn role(&self) -> &str {
        self.text(self.trace.bundle.schema.role_field)
    }

    pub(crate) fn text(&self, field: usize) -> &str {
        self.trace.ticket.text(&self.trace.bundle.schema, field)
    }

    /// The deciding rule's rationale, then the path step's or fallback's.
    pub(crate) fn rationale(&self) -> impl Iterator<Item = &'a Arc<str>> {
        let bundle = self.trace.bundle;
        let rule = &bundle.rules[self.rule];
        let path = self.path().map(|p| &bundle.paths[p]);
        let step = path.zip(self.step).map(|(p, s)| &p.steps[s].rationale);
        let fallback = path
            .and_then(|p| p.fallback.as_ref())
            .filter(|_| self.step.is_none())
            .map(|f| &f.rationale);
        std::iter::once(&rule.rationale).chain(step).chain(fallback)
    }
}

impl<'a> Trace<'a> {
    /// The trace entries of `steps`, with the conditions' values `conditions`.
    pub fn render(&self, steps: &[Packed], conditions: &Evaluated) -> Vec<TraceStep> {
        let steps = unpacked(self.bundle, steps);
        steps.map(|s| self.entry(&s, conditions)).collect()
    }

    /// One entry of the trace.
    pub fn entry(&self, step: &Step, conditions: &Evaluated) -> TraceStep {
        let bundle = self.bundle;
        match *step {
            Step::Rule { rule, result, part } => {
                let rule = &bundle.rules[rule as usize];
                let tried = Tried { result, part };
                self.tried(
                    StepKind::Rule,
                    &rule.guard,
                    &rule.id,
                    None,
                    tried,
                    conditions,
                )
            }
            Step::Along {
                path,
                step,
                result,
                part,
            } => {
                let path = &bundle.paths[path as usize];
                let step = &path.steps[step as usize];
                let tried = Tried { result, part };
                let kind = StepKind::PathStep;
                self.tried(
                    kind,
                    &step.guard,
                    &step.id,
                    Some(&path.id),
                    tried,
                    conditions,
                )
            }
            Step::Fallback { path } => TraceStep {
                kind: StepKind::Fallback,
                id: "fallback".into(),
                path: Some(bundle.paths[path as usize].id.clone()),
                result: StepResult::Matched,
                reads: Reads::default(),
                defaulted: Vec::new(),
                conditions: Named::default(),
                decided_by: None,
                excluded: None,
            },
            Step::Excluded { first, end } => match self.index {
                Some(index) => index.excluded(bundle, self.ticket, first as usize, end as usize),
                // Only an indexed run leaves rules out.
                None => TraceStep {
                    kind: StepKind::Excluded,
                    id: bundle.rules[first as usize].id.clone(),
                    path: None,
                    result: StepResult::NotMatched,
                    reads: Reads::default(),
                    defaulted: Vec::new(),
                    conditions: Named::default(),
                    decided_by: None,
                    excluded: None,
                },
            },
        }
    }

    fn tried(
        &self,
        kind: StepKind,
        guard: &Guard,
        id: &Arc<str>,
        path: Option<&Arc<str>>,
        tried: Tried,
        conditions: &Evaluated,
    ) -> TraceStep {
        let (schema, ticket) = (&self.bundle.schema, self.ticket);
        let reads = guard.reads.iter().map(|&i| {
            let field = &schema.fields[i];
            (field.path.clone(), ticket.slots[i].value(&field.kind))
        });
        let defaulted = guard.reads.iter().filter(|&&i| ticket.defaulted[i]);
        TraceStep {
            kind,
            id: id.clone(),
            path: path.cloned(),
            result: tried.result,
            reads: Reads(reads.collect()),
            defaulted: defaulted.map(|&i| schema.fields[i].path.clone()).collect(),
            conditions: self.named(guard, conditions),
            decided_by: decided_by(guard, tried),
            excluded: None,
        }
    }

    /// The named conditions `guard`'s expression uses by name, with the
    /// value each had, sorted by name.
    fn named(&self, guard: &Guard, conditions: &Evaluated) -> Named {
        let all = &self.bundle.conditions;
        let mut named: Vec<(Arc<str>, bool)> = (guard.expr.conditions.iter())
            .filter_map(|&c| Some((all[c].name.clone(), conditions.get(c)?)))
            .collect();
        named.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Named(named)
    }
}

/// How a guard came out: its result, and the operand that decided.
#[derive(Clone, Copy)]
struct Tried {
    result: StepResult,
    part: Option<u32>,
}

/// The operand, as written, that decided `guard`, when known (a step that
/// failed carries none).
fn decided_by(guard: &Guard, tried: Tried) -> Option<Arc<str>> {
    let parts = guard.expr.parts.as_ref()?;
    parts.get(tried.part? as usize).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace entry stays small: the inline trace is moved with the verdict.
    #[test]
    fn an_entry_takes_8_bytes_and_unpacks_as_packed() {
        assert_eq!(size_of::<Packed>(), 8);
        let results = [
            StepResult::Matched,
            StepResult::NotMatched,
            StepResult::Error,
        ];
        for (result, part) in results.into_iter().zip([None, Some(0), Some(PART - 1)]) {
            let rule = Packed::rule(7, result, part).unpack(3);
            let along = Packed::along(9, result, part).unpack(3);
            let rule_back = matches!(rule, Step::Rule { rule: 7, result: r, part: p } if r == result && p == part);
            let along_back = matches!(along, Step::Along { path: 3, step: 9, result: r, part: p } if r == result && p == part);
            assert!(rule_back && along_back, "{rule:?} {along:?}");
        }
        let excluded = Packed::excluded(5, (1 << 30) - 1).unpack(0);
        assert!(matches!(excluded, Step::Excluded { first: 5, end } if end == (1 << 30) - 1));
        assert!(matches!(
            Packed::fallback().unpack(2),
            Step::Fallback { path: 2 }
        ));
    }
}
