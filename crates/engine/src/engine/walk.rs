//! The first-match walk of one ticket: the constraints, the first rule
//! that matches, its path, its action; each guard's result kept in the
//! trace as indices. How an expression is answered, and how a failure is
//! told, is the [`Judge`]'s: the [`Quick`] one answers from the native tree
//! alone and gives up, without a word, wherever that cannot answer; the
//! full one (`evaluate`) runs rhai there and words every failure.

use std::sync::Arc;

use crate::engine::index::{Candidates, RuleIndex};
use crate::engine::packed::{Packed, Steps};
use crate::engine::verdict::{Route, Trace};
use crate::expr::Expression;
use crate::expr::evaluated::Evaluated;
use crate::model::decision::{EvaluationError, Stage, StepResult};
use crate::model::{ActionSel, Compiled, Constraint, Guard, Needs};
use crate::schema::Ticket;

/// An expression's value, and the operand of its top-level `&&` or `||`
/// that decided, when known.
pub(crate) type Answer = (bool, Option<u32>);

/// Where an expression sits, for the words of its failure.
#[derive(Clone, Copy)]
pub(crate) struct Site<'a> {
    pub stage: Stage,
    pub id: &'a Arc<str>,
    /// The rule being tried, if any.
    pub rule: Option<&'a Arc<str>>,
}

impl<'a> Site<'a> {
    pub fn new(stage: Stage, id: &'a Arc<str>, rule: Option<&'a Arc<str>>) -> Self {
        Site { stage, id, rule }
    }
}

/// How a walk answers an expression and tells a failure.
pub(crate) trait Judge<'a>: Sized {
    /// What a failed walk gives.
    type Fail;
    /// `expr`'s answer, at `site`.
    fn run(
        walk: &mut Walk<'a, Self>,
        expr: &'a Expression,
        site: Site<'a>,
    ) -> Result<Answer, Self::Fail>;
    /// The failure `error` words, with the trace so far.
    fn fail(walk: &Walk<'a, Self>, error: impl FnOnce() -> EvaluationError) -> Self::Fail;
    /// The ticket's rejection for the constraints in `broken`.
    fn invalid(walk: &Walk<'a, Self>, broken: &[&'a Constraint]) -> Self::Fail;
    /// `fail` with its trace brought up to date.
    fn traced(walk: &Walk<'a, Self>, fail: Self::Fail) -> Self::Fail;
}

/// The judge of the common case: the native tree answers every expression,
/// or the walk gives up (`Err(())`) for the full one to decide again.
pub(crate) struct Quick;

impl<'a> Judge<'a> for Quick {
    type Fail = ();

    #[inline(always)]
    fn run(walk: &mut Walk<'a, Quick>, expr: &'a Expression, _: Site<'a>) -> Result<Answer, ()> {
        let program = expr.native.as_ref().ok_or(())?;
        program.eval_deciding(&walk.inputs()).ok_or(())
    }

    fn fail(_: &Walk<'a, Quick>, _: impl FnOnce() -> EvaluationError) {}

    fn invalid(_: &Walk<'a, Quick>, _: &[&'a Constraint]) {}

    fn traced(_: &Walk<'a, Quick>, _: ()) {}
}

/// The state of one walk: the conditions evaluated so far and the trace.
pub(crate) struct Walk<'a, J> {
    pub bundle: &'a Compiled,
    pub index: Option<&'a RuleIndex>,
    pub ticket: &'a Ticket<'a>,
    pub conditions: Evaluated,
    pub steps: Steps,
    pub judge: J,
}

/// Where a walk ends: the deciding rule, where it leads, and its action.
pub(crate) struct End<'a> {
    pub rule: usize,
    pub route: Route<'a>,
    pub action: usize,
}

impl<'a, J: Judge<'a>> Walk<'a, J> {
    pub fn new(
        bundle: &'a Compiled,
        index: Option<&'a RuleIndex>,
        ticket: &'a Ticket<'a>,
        judge: J,
    ) -> Self {
        Walk {
            bundle,
            index,
            ticket,
            conditions: Evaluated::new(bundle.conditions.len()),
            steps: Steps::new(),
            judge,
        }
    }

    /// The walk whole: constraints, rule, path, action.
    pub fn run(&mut self) -> Result<End<'a>, J::Fail> {
        self.check_constraints()?;
        let candidates = (self.index).and_then(|index| index.candidates(self.bundle, self.ticket));
        let rule = match candidates {
            Some(candidates) => self.first_indexed(candidates)?,
            None => self.first_rule()?,
        };
        let route = self.follow(rule)?;
        let action = self.action(rule, route.action)?;
        Ok(End {
            rule,
            route,
            action,
        })
    }

    /// What the native tree reads.
    #[inline]
    pub fn inputs(&self) -> crate::expr::native::Inputs<'_> {
        crate::expr::native::Inputs {
            ticket: self.ticket,
            schema: &self.bundle.schema,
            conditions: &self.conditions,
        }
    }

    /// What rendering the trace reads, apart from the conditions' values.
    pub fn trace_view(&self) -> Trace<'a> {
        Trace {
            bundle: self.bundle,
            index: self.index,
            ticket: self.ticket,
        }
    }

    fn check_constraints(&mut self) -> Result<(), J::Fail> {
        let bundle = self.bundle;
        let mut broken = Vec::new();
        for constraint in &bundle.constraints {
            let site = Site::new(Stage::Constraint, &constraint.id, None);
            if !self.eval(&constraint.guard, site)?.0 {
                broken.push(constraint);
            }
        }
        match broken.is_empty() {
            true => Ok(()),
            false => Err(J::invalid(self, &broken)),
        }
    }

    /// The first rule that matches: the one that decides.
    fn first_rule(&mut self) -> Result<usize, J::Fail> {
        for position in 0..self.bundle.rules.len() {
            if self.try_rule(position)? {
                return Ok(position);
            }
        }
        Err(self.none_matched())
    }

    /// Tries the rule at `position`, and records it in the trace.
    #[inline(always)]
    fn try_rule(&mut self, position: usize) -> Result<bool, J::Fail> {
        let rule = &self.bundle.rules[position];
        let result = self.eval(
            &rule.guard,
            Site::new(Stage::Rule, &rule.id, Some(&rule.id)),
        );
        let rule = position as u32;
        self.test(result, |result, part| Packed::rule(rule, result, part))
    }

    /// The first rule that matches among those `index` lets through, each
    /// run of rules it left out written in the trace as one entry.
    fn first_indexed(&mut self, candidates: Candidates) -> Result<usize, J::Fail> {
        let mut next = 0;
        for position in candidates {
            if position > next {
                self.excluded(next, position);
            }
            next = position + 1;
            if self.try_rule(position)? {
                return Ok(position);
            }
        }
        if self.bundle.rules.len() > next {
            self.excluded(next, self.bundle.rules.len());
        }
        Err(self.none_matched())
    }

    /// Records the rules from `first` up to `end` as left out by the index.
    fn excluded(&mut self, first: usize, end: usize) {
        let (first, end) = (first as u32, end as u32);
        self.steps.push(Packed::excluded(first, end));
    }

    fn none_matched(&self) -> J::Fail {
        // The loader rejects bundles without a final catch-all, so this is
        // unreachable for a valid bundle; it still answers rather than panics.
        J::fail(self, || EvaluationError {
            stage: Stage::Rule,
            id: "(none)".into(),
            rule: None,
            expression: "(none)".into(),
            location: String::new(),
            cause: "no rule matched".into(),
        })
    }

    /// The rule's path, if it has one: the first eligible step, or the fallback.
    fn follow(&mut self, position: usize) -> Result<Route<'a>, J::Fail> {
        let bundle = self.bundle;
        let rule = &bundle.rules[position];
        let mut route = Route {
            outcome: rule.outcome,
            action: &rule.action,
            step: None,
        };
        let Some(path_index) = rule.path else {
            return Ok(route);
        };
        let path = &bundle.paths[path_index];
        for (at, step) in path.steps.iter().enumerate() {
            let site = Site::new(Stage::PathStep, &step.id, Some(&rule.id));
            let result = self.eval(&step.guard, site);
            let make = |result, part| Packed::along(at as u32, result, part);
            if self.test(result, make)? {
                route.step = Some(at);
                return Ok(route);
            }
        }
        let Some(fallback) = &path.fallback else {
            return Err(J::fail(self, || EvaluationError {
                stage: Stage::Path,
                id: path.id.clone(),
                rule: Some(rule.id.clone()),
                expression: "(none)".into(),
                location: String::new(),
                cause: "no step of the path matched and it has no fallback".into(),
            }));
        };
        route.outcome = fallback.outcome;
        route.action = &fallback.action;
        self.steps.push(Packed::fallback());
        Ok(route)
    }

    /// The action: fixed, or picked by an enum field's value.
    fn action(&self, position: usize, action: &ActionSel) -> Result<usize, J::Fail> {
        let index = match action {
            ActionSel::Fixed(index) => *index,
            ActionSel::ByField { field, cases } => {
                let value = self.ticket.text(&self.bundle.schema, *field);
                match cases.iter().find(|(case, _)| &**case == value) {
                    Some((_, index)) => *index,
                    None => {
                        let rule = &self.bundle.rules[position];
                        let path = self.bundle.schema.fields[*field].path.clone();
                        return Err(J::fail(self, || EvaluationError {
                            stage: Stage::Rule,
                            id: rule.id.clone(),
                            rule: Some(rule.id.clone()),
                            cause: format!("no action for `{path}` = `{value}`"),
                            expression: path,
                            location: String::new(),
                        }));
                    }
                }
            }
        };
        Ok(index)
    }

    /// Records in the trace the step `make` builds from the result of its
    /// guard, and passes the result on; a failure's trace ends with it.
    #[inline(always)]
    fn test(
        &mut self,
        result: Result<Answer, J::Fail>,
        make: impl FnOnce(StepResult, Option<u32>) -> Packed,
    ) -> Result<bool, J::Fail> {
        let step = match &result {
            Ok((true, part)) => make(StepResult::Matched, *part),
            Ok((false, part)) => make(StepResult::NotMatched, *part),
            Err(_) => make(StepResult::Error, None),
        };
        self.steps.push(step);
        match result {
            Ok((value, _)) => Ok(value),
            Err(fail) => Err(J::traced(self, fail)),
        }
    }

    /// Evaluates a guard's named conditions (once per ticket), then the
    /// guard.
    #[inline(always)]
    fn eval(&mut self, guard: &'a Guard, site: Site<'a>) -> Result<Answer, J::Fail> {
        if !guard
            .needs_bits
            .is_some_and(|bits| self.conditions.has_all(bits))
        {
            self.eval_needs(guard, site)?;
        }
        if guard.expr.always {
            return Ok((true, None));
        }
        J::run(self, &guard.expr, site)
    }

    /// Evaluates those of `guard`'s named conditions not evaluated yet.
    #[inline(never)]
    fn eval_needs(&mut self, guard: &'a Guard, site: Site<'a>) -> Result<(), J::Fail> {
        let found;
        let needs = match &guard.needs {
            Needs::Listed(needs) => needs,
            Needs::Found => {
                found = self.unevaluated(&guard.expr.conditions);
                &found
            }
        };
        for &index in needs {
            if self.conditions.has(index) {
                continue;
            }
            let condition = &self.bundle.conditions[index];
            let (stage, id) = (Stage::Condition, &condition.name);
            let (value, _) = J::run(self, &condition.expr, Site { stage, id, ..site })?;
            self.conditions.set(index, value);
        }
        Ok(())
    }

    /// The conditions `start` depends on (itself included) not yet evaluated,
    /// in the bundle's condition order: the list a guard with too many to
    /// list evaluates. A condition already evaluated was evaluated with all
    /// it depends on, so the walk stops there.
    fn unevaluated(&self, start: &[usize]) -> Vec<usize> {
        let conditions = &self.bundle.conditions;
        let mut reached = std::collections::HashSet::new();
        let mut stack: Vec<usize> = start.to_vec();
        let mut found = Vec::new();
        while let Some(c) = stack.pop() {
            if self.conditions.has(c) || !reached.insert(c) {
                continue;
            }
            found.push(c);
            stack.extend(&conditions[c].expr.conditions);
        }
        found.sort_unstable_by_key(|&c| self.bundle.rank[c]);
        found
    }
}
