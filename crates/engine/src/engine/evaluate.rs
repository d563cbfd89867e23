//! Evaluate: one ticket against a compiled bundle. Pure: the result depends
//! on the ticket and the bundle alone.

use std::sync::Arc;

use rhai::{Dynamic, Scope};
use serde_json::Value;

use crate::diagnostic::{lowercase_first, plain_type_names};
use crate::engine::fragments::Fragments;
use crate::engine::index::{Candidates, RuleIndex};
use crate::engine::verdict::{Route, Step, Trace, Verdict};
use crate::model::decision::{EvaluationError, Rejection, RejectionKind, Stage, StepResult};
use crate::model::{ActionSel, Compiled, Guard, Needs, Piece, Template};
use crate::schema::{FieldPath, InputProblem, Node, Slot, Ticket, found};

/// `ticket` checked against the bundle's schema, or its rejection.
pub(crate) fn check<'a>(bundle: &'a Compiled, ticket: &'a Value) -> Result<Ticket<'a>, Rejection> {
    let schema = &bundle.schema;
    schema
        .check(&bundle.policy.digest, ticket)
        .map_err(|problems| Rejection {
            ticket_id: ticket_id_of(bundle, ticket),
            error: RejectionKind::InvalidTicket { problems },
            policy: bundle.policy.clone(),
            trace: Vec::new(),
        })
}

/// Decides a checked `ticket`: with `index`, trying only the rules it lets
/// through.
pub(crate) fn decide<'a>(
    bundle: &'a Compiled,
    index: Option<&'a RuleIndex>,
    json: &'a Fragments,
    ticket: &'a Ticket<'a>,
    native: bool,
) -> Result<Verdict<'a>, Rejection> {
    let mut run = Run::new(bundle, index, ticket, native);
    run.check_constraints()?;
    let rule = match index.and_then(|index| index.candidates(bundle, ticket)) {
        Some(candidates) => run.first_indexed(candidates)?,
        None => run.first_rule()?,
    };
    let route = run.follow(rule)?;
    let action = run.action(rule, route.action)?;
    Ok(run.verdict(json, rule, route, action))
}

impl<'a> Run<'a> {
    /// The first rule that matches: the one that decides.
    fn first_rule(&mut self) -> Result<usize, Rejection> {
        for position in 0..self.bundle.rules.len() {
            if self.try_rule(position)? {
                return Ok(position);
            }
        }
        Err(self.none_matched())
    }

    /// Tries the rule at `position`, and records it in the trace.
    fn try_rule(&mut self, position: usize) -> Result<bool, Rejection> {
        let rule = &self.bundle.rules[position];
        let result = self.eval(&rule.guard, Stage::Rule, &rule.id, Some(&rule.id));
        let rule = position as u32;
        self.test(result, |result, part| Step::Rule { rule, result, part })
    }

    /// The first rule that matches among those `index` lets through, each
    /// run of rules it left out written in the trace as one entry.
    fn first_indexed(&mut self, candidates: Candidates) -> Result<usize, Rejection> {
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
        self.steps.push(Step::Excluded { first, end });
    }

    fn none_matched(&self) -> Rejection {
        // The loader rejects bundles without a final catch-all, so this is
        // unreachable for a valid bundle; it still answers rather than panics.
        self.failure(EvaluationError {
            stage: Stage::Rule,
            id: "(none)".into(),
            rule: None,
            expression: "(none)".into(),
            location: String::new(),
            cause: "no rule matched".into(),
        })
    }

    /// The rule's path, if it has one: the first eligible step, or the fallback.
    fn follow(&mut self, position: usize) -> Result<Route<'a>, Rejection> {
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
            let result = self.eval(&step.guard, Stage::PathStep, &step.id, Some(&rule.id));
            let (path, step) = (path_index as u32, at as u32);
            let make = |result, part| Step::Along {
                path,
                step,
                result,
                part,
            };
            if self.test(result, make)? {
                route.step = Some(at);
                return Ok(route);
            }
        }
        let Some(fallback) = &path.fallback else {
            return Err(self.failure(EvaluationError {
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
        let path = path_index as u32;
        self.steps.push(Step::Fallback { path });
        Ok(route)
    }

    /// The action: fixed, or picked by an enum field's value.
    fn action(&self, position: usize, action: &ActionSel) -> Result<usize, Rejection> {
        let index = match action {
            ActionSel::Fixed(index) => *index,
            ActionSel::ByField { field, cases } => {
                let value = self.ticket.text(&self.bundle.schema, *field);
                match cases.iter().find(|(case, _)| &**case == value) {
                    Some((_, index)) => *index,
                    None => {
                        let rule = &self.bundle.rules[position];
                        let path = self.bundle.schema.fields[*field].path.clone();
                        return Err(self.failure(EvaluationError {
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

    fn verdict(self, json: &'a Fragments, rule: usize, route: Route, action: usize) -> Verdict<'a> {
        Verdict {
            trace: self.trace_view(),
            json,
            conditions: self.conditions,
            steps: self.steps,
            rule,
            outcome: route.outcome,
            step: route.step,
            action,
        }
    }

    /// What rendering the trace reads, apart from the conditions' values.
    fn trace_view(&self) -> Trace<'a> {
        Trace {
            bundle: self.bundle,
            index: self.index,
            ticket: self.ticket,
        }
    }
}

/// A rejection for a typed ticket that could not be turned into JSON.
pub(crate) fn unserialisable(bundle: &Compiled, cause: &str) -> Rejection {
    Rejection::unreadable(
        &bundle.policy,
        "a ticket that serialises to JSON",
        cause,
        "the ticket cannot be serialised",
    )
}

fn ticket_id_of(bundle: &Compiled, ticket: &Value) -> Option<Arc<str>> {
    let path = &bundle.schema.fields[bundle.schema.id_field].path;
    FieldPath::new(path)
        .get(ticket)
        .and_then(Value::as_str)
        .map(Into::into)
}

/// The state of one evaluation: the conditions already evaluated, the trace
/// so far, and each ticket root as rhai sees it, once an expression run by
/// rhai needs it.
struct Run<'a> {
    bundle: &'a Compiled,
    index: Option<&'a RuleIndex>,
    ticket: &'a Ticket<'a>,
    native: bool,
    roots: Vec<Option<Dynamic>>,
    /// The scope of the expression rhai runs, kept for its allocation.
    scope: Scope<'a>,
    conditions: Vec<Option<bool>>,
    steps: Vec<Step>,
}

impl<'a> Run<'a> {
    fn new(
        bundle: &'a Compiled,
        index: Option<&'a RuleIndex>,
        ticket: &'a Ticket<'a>,
        native: bool,
    ) -> Self {
        Run {
            bundle,
            index,
            ticket,
            native,
            roots: Vec::new(),
            scope: Scope::new(),
            conditions: vec![None; bundle.conditions.len()],
            // Room for most traces, so that building one does not grow it.
            steps: Vec::with_capacity(16),
        }
    }

    fn ticket_id(&self) -> Arc<str> {
        let schema = &self.bundle.schema;
        self.ticket.text(schema, schema.id_field).into()
    }

    /// The variables `expr` uses, as rhai sees them: its ticket roots (built
    /// once a ticket, and lent to the scope), its named conditions as
    /// evaluated so far (`()` for one not yet), and its named sets. Only
    /// those: rhai finds a variable by a search of its scope, so a scope of
    /// every condition of a large bundle would cost each lookup its size.
    fn scope(&mut self, expr: &crate::expr::compile::Expression) -> Scope<'a> {
        let (bundle, ticket) = (self.bundle, self.ticket);
        let mut scope = std::mem::take(&mut self.scope);
        if self.roots.is_empty() {
            self.roots = vec![None; bundle.schema.roots().len()];
        }
        for &root in &expr.roots {
            let (name, node) = &bundle.schema.roots()[root];
            let value = self.roots[root]
                .take()
                .unwrap_or_else(|| dynamic(node, bundle, ticket));
            scope.push_dynamic(&**name, value);
        }
        for &index in &expr.conditions {
            let value = self.conditions[index].map_or(Dynamic::UNIT, Dynamic::from_bool);
            scope.push_dynamic(&*bundle.conditions[index].name, value);
        }
        for &set in &expr.sets {
            scope.push_constant_dynamic(&*bundle.sets[set].0, bundle.set_arrays[set].clone());
        }
        scope
    }

    /// Takes the ticket roots back from the scope built for `expr`, so the
    /// next expression rhai runs gets them without building them again
    /// (expressions cannot change them: nothing in the allow-list does), and
    /// keeps the emptied scope for its allocation.
    fn keep_roots(&mut self, expr: &crate::expr::compile::Expression, scope: &mut Scope<'a>) {
        let roots = self.bundle.schema.roots();
        for &root in &expr.roots {
            if let Some(value) = scope.get_mut(&roots[root].0) {
                self.roots[root] = Some(std::mem::take(value));
            }
        }
        scope.clear();
        self.scope = std::mem::take(scope);
    }

    fn check_constraints(&mut self) -> Result<(), Rejection> {
        let mut problems = Vec::new();
        for constraint in &self.bundle.constraints {
            if !self
                .eval(&constraint.guard, Stage::Constraint, &constraint.id, None)?
                .0
            {
                let field = &self.bundle.schema.fields[constraint.field];
                let value = self.ticket.slots[constraint.field].value(&field.kind);
                problems.push(InputProblem {
                    field: field.path.to_string(),
                    expected: self.render(&constraint.expected),
                    found: found(&value),
                    message: self.render(&constraint.message),
                });
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(Rejection {
            ticket_id: Some(self.ticket_id()),
            error: RejectionKind::InvalidTicket { problems },
            policy: self.bundle.policy.clone(),
            trace: Vec::new(),
        })
    }

    fn render(&self, template: &Template) -> String {
        template
            .0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Field(index) => {
                    let kind = &self.bundle.schema.fields[*index].kind;
                    match self.ticket.slots[*index].value(kind) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }
                }
            })
            .collect()
    }

    /// Records in the trace the step `make` builds from the result of its
    /// guard, and passes the result on; a failure's trace ends with it.
    fn test(
        &mut self,
        result: Result<(bool, Option<usize>), Rejection>,
        make: impl FnOnce(StepResult, Option<u32>) -> Step,
    ) -> Result<bool, Rejection> {
        let step = match &result {
            Ok((true, part)) => make(StepResult::Matched, part.map(|p| p as u32)),
            Ok((false, part)) => make(StepResult::NotMatched, part.map(|p| p as u32)),
            Err(_) => make(StepResult::Error, None),
        };
        self.steps.push(step);
        result.map(|(value, _)| value).map_err(|mut rejection| {
            rejection.trace = self.trace_view().render(&self.steps, &self.conditions);
            rejection
        })
    }

    /// Evaluates a guard's named conditions (once per ticket), then the
    /// guard: its value, and the index of the operand of a top-level `&&`
    /// or `||` that decided it, when known.
    fn eval(
        &mut self,
        guard: &Guard,
        stage: Stage,
        id: &Arc<str>,
        rule: Option<&Arc<str>>,
    ) -> Result<(bool, Option<usize>), Rejection> {
        let found;
        let needs = match &guard.needs {
            Needs::Listed(needs) => needs,
            Needs::Found => {
                found = self.unevaluated(&guard.expr.conditions);
                &found
            }
        };
        for &index in needs {
            if self.conditions[index].is_some() {
                continue;
            }
            let condition = &self.bundle.conditions[index];
            let (value, _) =
                self.run_expr(&condition.expr, Stage::Condition, &condition.name, rule)?;
            self.conditions[index] = Some(value);
        }
        if guard.expr.always {
            return Ok((true, None));
        }
        self.run_expr(&guard.expr, stage, id, rule)
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
            if self.conditions[c].is_some() || !reached.insert(c) {
                continue;
            }
            found.push(c);
            stack.extend(&conditions[c].expr.conditions);
        }
        found.sort_unstable_by_key(|&c| self.bundle.rank[c]);
        found
    }

    fn run_expr(
        &mut self,
        expr: &crate::expr::compile::Expression,
        stage: Stage,
        id: &str,
        rule: Option<&Arc<str>>,
    ) -> Result<(bool, Option<usize>), Rejection> {
        // The native tree answers, or, run by rhai, still names the operand
        // that decided, so both give the same trace.
        let native = match &expr.native {
            Some(program) if self.native || expr.parts.is_some() => {
                let inputs = crate::expr::native::Inputs {
                    ticket: self.ticket,
                    schema: &self.bundle.schema,
                    conditions: &self.conditions,
                };
                program.eval_deciding(&inputs)
            }
            _ => None,
        };
        if let (true, Some(answer)) = (self.native, native) {
            return Ok(answer);
        }
        let deciding = native.and_then(|(_, part)| part);
        let engine = &self.bundle.engine;
        let mut scope = self.scope(expr);
        let result = engine.eval_ast_with_scope::<Dynamic>(&mut scope, &expr.ast);
        self.keep_roots(expr, &mut scope);
        let cause = match result {
            Ok(value) => match value.as_bool() {
                Ok(b) => return Ok((b, deciding)),
                Err(type_name) => format!(
                    "a condition must be true or false, but this one gave {} `{value}`",
                    plain_type_names(type_name)
                ),
            },
            Err(error) => lowercase_first(&plain_type_names(&error.to_string())),
        };
        Err(self.failure(EvaluationError {
            stage,
            id: id.into(),
            rule: rule.cloned(),
            expression: expr.source.clone(),
            location: expr.loc.to_string(),
            cause,
        }))
    }

    fn failure(&self, error: EvaluationError) -> Rejection {
        Rejection {
            ticket_id: Some(self.ticket_id()),
            error: RejectionKind::Evaluation(Box::new(error)),
            policy: self.bundle.policy.clone(),
            trace: self.trace_view().render(&self.steps, &self.conditions),
        }
    }
}

/// A ticket value as rhai sees it: maps for groups of fields, `()` for absent ones.
fn dynamic(node: &Node, bundle: &Compiled, ticket: &Ticket<'_>) -> Dynamic {
    match node {
        Node::Leaf(index) => {
            let kind = &bundle.schema.fields[*index].kind;
            to_dynamic(&ticket.slots[*index], kind)
        }
        Node::Object(children) => {
            // Inserting beats `collect`, which sorts through a temporary vector.
            let mut map = rhai::Map::new();
            for (name, child) in children {
                map.insert(name.as_ref().into(), dynamic(child, bundle, ticket));
            }
            Dynamic::from_map(map)
        }
    }
}

fn to_dynamic(slot: &Slot<'_>, kind: &crate::schema::Kind) -> Dynamic {
    let text = |s: &str| Dynamic::from(rhai::ImmutableString::from(s));
    match slot {
        Slot::Null => Dynamic::UNIT,
        Slot::Bool(b) => Dynamic::from_bool(*b),
        Slot::Int(i) => Dynamic::from_int(*i),
        Slot::Text(s) => text(s),
        Slot::Enum(code) => text(crate::schema::name(kind, *code)),
        Slot::List(codes) => Dynamic::from_array(
            codes
                .iter()
                .map(|&c| text(crate::schema::name(kind, c)))
                .collect(),
        ),
    }
}
