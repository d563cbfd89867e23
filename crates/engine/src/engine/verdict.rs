//! Record: a decision as evaluation leaves it, indices into the bundle and
//! the ticket it read, and its two renderings: the [`Decision`] value, and
//! the same decision written straight to JSON (`write`). Under first match
//! every rule tried before the deciding one did not match, and what each
//! read is known at load, so the trace is kept as which step gave what, and
//! names, paths and values are looked up only when it is rendered.

use std::sync::Arc;

use crate::engine::atoms::Atoms;
use crate::engine::fragments::Fragments;
use crate::engine::index::RuleIndex;
use crate::engine::packed::{Packed, Step, Steps, unpacked};
use crate::expr::evaluated::Evaluated;
use crate::model::decision::{Decision, Named, Reads, Requester, StepKind, StepResult, TraceStep};
use crate::model::{ActionSel, Compiled, Guard};
use crate::schema::Ticket;

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
    /// The trace, or what it is found from.
    pub(crate) kept: Kept<'a>,
    pub(crate) rule: usize,
    pub(crate) outcome: usize,
    /// The path step that chose the vehicle; none along the rule's path
    /// means the path's fallback applied (else there is no verdict).
    pub(crate) step: Option<usize>,
    pub(crate) action: usize,
}

/// A verdict's trace, or what it is found from, kept small so that the
/// verdict is cheap to move.
pub(crate) enum Kept<'a> {
    /// Decided in atom mode: the bundle's atom mode and the ticket's
    /// atoms, from which rendering finds the trace (`render`).
    Atoms(&'a Atoms, u64),
    /// The walk's trace and conditions, lent where they are, by a caller
    /// that renders the verdict in place.
    Lent(&'a Steps, &'a Evaluated),
    /// The walk's trace, for a verdict handed back.
    Owned(Box<Walked>),
}

/// The trace a walk leaves: its entries, and the named conditions' values
/// where they were evaluated.
pub(crate) struct Walked {
    pub steps: Steps,
    pub conditions: Evaluated,
}

/// No condition evaluated: what a verdict without its trace shows.
static NONE: Evaluated = Evaluated::Bits { known: 0, value: 0 };

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
            trace: self.trace.render(self.steps(), self.conditions()),
        }
    }

    /// The trace's entries (none for a verdict in atom mode: see `render`).
    pub(crate) fn steps(&self) -> &[Packed] {
        match &self.kept {
            Kept::Lent(steps, _) => steps,
            Kept::Owned(walked) => &walked.steps,
            Kept::Atoms(..) => &[],
        }
    }

    /// The named conditions' values, where they were evaluated.
    pub(crate) fn conditions(&self) -> &Evaluated {
        match &self.kept {
            Kept::Lent(_, conditions) => conditions,
            Kept::Owned(walked) => &walked.conditions,
            Kept::Atoms(..) => &NONE,
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
