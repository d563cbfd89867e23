//! Evaluate: one ticket against a compiled bundle. Pure: the result depends
//! on the ticket and the bundle alone.

use std::sync::Arc;

use rhai::{Dynamic, Scope};
use serde_json::Value;

use crate::diagnostic::{lowercase_first, plain_type_names};
use crate::engine::index::{Candidates, RuleIndex};
use crate::model::decision::{
    Decision, EvaluationError, Named, Reads, Rejection, RejectionKind, Requester, Stage, StepKind,
    StepResult, TraceStep,
};
use crate::model::{ActionDef, ActionSel, Compiled, Guard, Needs, Piece, Rule, Template};
use crate::schema::{FieldPath, InputProblem, Node, Values, found};

/// Decides `ticket`: with `index`, trying only the rules it lets through.
pub(crate) fn decide(
    bundle: &Compiled,
    index: Option<&RuleIndex>,
    ticket: &Value,
    native: bool,
) -> Result<Decision, Rejection> {
    let values = bundle.schema.check(ticket).map_err(|problems| Rejection {
        ticket_id: ticket_id_of(bundle, ticket),
        error: RejectionKind::InvalidTicket { problems },
        policy: bundle.policy.clone(),
        trace: Vec::new(),
    })?;
    let mut run = Run::new(bundle, &values, native);
    run.check_constraints()?;
    let rule = match index.and_then(|index| Some((index, index.candidates(&values)?))) {
        Some((index, candidates)) => run.first_indexed(index, candidates)?,
        None => run.first_rule()?,
    };
    let route = run.follow(rule)?;
    let action = run.action(rule, route.action)?;
    Ok(run.decision(rule, route, action))
}

/// Where a rule leads: its own outcome and action, or, along its path, a
/// step's vehicle or the fallback's outcome and action.
struct Route<'a> {
    outcome: usize,
    action: &'a ActionSel,
    vehicle: Option<Arc<str>>,
    path_step: Option<Arc<str>>,
    rationale: Vec<Arc<str>>,
}

impl<'a> Run<'a> {
    /// The first rule that matches: the one that decides.
    fn first_rule(&mut self) -> Result<&'a Rule, Rejection> {
        let bundle = self.bundle;
        for rule in &bundle.rules {
            if self.test(&rule.guard, StepKind::Rule, &rule.id, None, Some(&rule.id))? {
                return Ok(rule);
            }
        }
        Err(self.none_matched())
    }

    /// The first rule that matches among those `index` lets through, each
    /// run of rules it left out written in the trace as one entry.
    fn first_indexed(
        &mut self,
        index: &RuleIndex,
        candidates: Candidates,
    ) -> Result<&'a Rule, Rejection> {
        let bundle = self.bundle;
        let mut next = 0;
        for position in candidates {
            if position > next {
                let entry = index.excluded(bundle, self.values, next, position);
                self.trace.push(entry);
            }
            next = position + 1;
            let rule = &bundle.rules[position];
            if self.test(&rule.guard, StepKind::Rule, &rule.id, None, Some(&rule.id))? {
                return Ok(rule);
            }
        }
        if bundle.rules.len() > next {
            let entry = index.excluded(bundle, self.values, next, bundle.rules.len());
            self.trace.push(entry);
        }
        Err(self.none_matched())
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
    fn follow(&mut self, rule: &'a Rule) -> Result<Route<'a>, Rejection> {
        let mut route = Route {
            outcome: rule.outcome,
            action: &rule.action,
            vehicle: None,
            path_step: None,
            rationale: vec![rule.rationale.clone()],
        };
        let Some(path_index) = rule.path else {
            return Ok(route);
        };
        let bundle = self.bundle;
        let path = &bundle.paths[path_index];
        for step in &path.steps {
            let kind = StepKind::PathStep;
            if self.test(&step.guard, kind, &step.id, Some(&path.id), Some(&rule.id))? {
                route.vehicle = Some(bundle.vehicles[step.vehicle].id.clone());
                route.path_step = Some(step.id.clone());
                route.rationale.push(step.rationale.clone());
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
        route.rationale.push(fallback.rationale.clone());
        self.trace.push(TraceStep {
            kind: StepKind::Fallback,
            id: "fallback".into(),
            path: Some(path.id.clone()),
            result: StepResult::Matched,
            reads: Reads::default(),
            defaulted: Vec::new(),
            conditions: Named::default(),
            decided_by: None,
            excluded: None,
        });
        Ok(route)
    }

    /// The action: fixed, or picked by an enum field's value.
    fn action(&self, rule: &Rule, action: &ActionSel) -> Result<&'a ActionDef, Rejection> {
        let index = match action {
            ActionSel::Fixed(index) => *index,
            ActionSel::ByField { field, cases } => {
                let value = self.values[*field].as_str().unwrap_or_default();
                match cases.iter().find(|(case, _)| &**case == value) {
                    Some((_, index)) => *index,
                    None => {
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
        Ok(&self.bundle.actions[index])
    }

    fn decision(self, rule: &Rule, route: Route, action: &ActionDef) -> Decision {
        let bundle = self.bundle;
        let role: Arc<str> = self.values[bundle.schema.role_field]
            .as_str()
            .unwrap_or_default()
            .into();
        let allowed = action.roles.contains(&role);
        Decision {
            ticket_id: self.ticket_id,
            outcome: bundle.outcomes[route.outcome].id.clone(),
            vehicle: route.vehicle,
            rule: rule.id.clone(),
            path: rule.path.map(|p| bundle.paths[p].id.clone()),
            path_step: route.path_step,
            action: action.id.clone(),
            requester: Requester { role, allowed },
            allowed_roles: action.roles.clone(),
            rationale: route.rationale,
            policy: bundle.policy.clone(),
            trace: self.trace,
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
    values: &'a Values<'a>,
    native: bool,
    roots: Vec<Option<Dynamic>>,
    /// The scope of the expression rhai runs, kept for its allocation.
    scope: Scope<'a>,
    conditions: Vec<Option<bool>>,
    trace: Vec<TraceStep>,
    ticket_id: Arc<str>,
}

impl<'a> Run<'a> {
    fn new(bundle: &'a Compiled, values: &'a Values, native: bool) -> Self {
        let ticket_id = values[bundle.schema.id_field]
            .as_str()
            .unwrap_or_default()
            .into();
        Run {
            bundle,
            values,
            native,
            roots: vec![None; bundle.schema.roots().len()],
            scope: Scope::new(),
            conditions: vec![None; bundle.conditions.len()],
            trace: Vec::new(),
            ticket_id,
        }
    }

    /// The variables `expr` uses, as rhai sees them: its ticket roots (built
    /// once a ticket, and lent to the scope), its named conditions as
    /// evaluated so far (`()` for one not yet), and its named sets. Only
    /// those: rhai finds a variable by a search of its scope, so a scope of
    /// every condition of a large bundle would cost each lookup its size.
    fn scope(&mut self, expr: &crate::expr::compile::Expression) -> Scope<'a> {
        let (bundle, values) = (self.bundle, self.values);
        let mut scope = std::mem::take(&mut self.scope);
        for &root in &expr.roots {
            let (name, node) = &bundle.schema.roots()[root];
            let value = self.roots[root]
                .take()
                .unwrap_or_else(|| dynamic(node, values));
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
                problems.push(InputProblem {
                    field: self.bundle.schema.fields[constraint.field].path.to_string(),
                    expected: self.render(&constraint.expected),
                    found: found(self.values[constraint.field]),
                    message: self.render(&constraint.message),
                });
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(Rejection {
            ticket_id: Some(self.ticket_id.clone()),
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
                Piece::Field(index) => match &self.values[*index] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect()
    }

    /// Evaluates a rule or step guard and records it in the trace.
    fn test(
        &mut self,
        guard: &Guard,
        kind: StepKind,
        id: &Arc<str>,
        path: Option<&Arc<str>>,
        rule: Option<&Arc<str>>,
    ) -> Result<bool, Rejection> {
        let stage = match kind {
            StepKind::Rule | StepKind::Excluded => Stage::Rule,
            StepKind::PathStep | StepKind::Fallback => Stage::PathStep,
        };
        let result = self.eval(guard, stage, id, rule);
        let (schema, values) = (&self.bundle.schema, self.values);
        let reads = Reads(
            guard
                .reads
                .iter()
                .map(|&i| (schema.fields[i].path.clone(), values[i].clone()))
                .collect(),
        );
        let defaulted = guard
            .reads
            .iter()
            .filter(|&&i| schema.fields[i].defaulted(values[i]))
            .map(|&i| schema.fields[i].path.clone())
            .collect();
        self.trace.push(TraceStep {
            kind,
            id: id.clone(),
            path: path.cloned(),
            result: match result {
                Ok((true, _)) => StepResult::Matched,
                Ok((false, _)) => StepResult::NotMatched,
                Err(_) => StepResult::Error,
            },
            reads,
            defaulted,
            conditions: self.named(&guard.expr),
            decided_by: match (&result, &guard.expr.parts) {
                (Ok((_, Some(i))), Some(parts)) => parts.get(*i).cloned(),
                _ => None,
            },
            excluded: None,
        });
        let result = result.map(|(value, _)| value);
        result.map_err(|mut rejection| {
            rejection.trace = self.trace.clone();
            rejection
        })
    }

    /// The named conditions `expr` uses by name, with the value each had,
    /// sorted by name.
    fn named(&self, expr: &crate::expr::compile::Expression) -> Named {
        let conditions = &self.bundle.conditions;
        let mut named: Vec<(Arc<str>, bool)> = expr
            .conditions
            .iter()
            .filter_map(|&c| Some((conditions[c].name.clone(), self.conditions[c]?)))
            .collect();
        named.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Named(named)
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
                    values: self.values,
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
            ticket_id: Some(self.ticket_id.clone()),
            error: RejectionKind::Evaluation(Box::new(error)),
            policy: self.bundle.policy.clone(),
            trace: self.trace.clone(),
        }
    }
}

/// A ticket value as rhai sees it: maps for groups of fields, `()` for absent ones.
fn dynamic(node: &Node, values: &Values<'_>) -> Dynamic {
    match node {
        Node::Leaf(index) => to_dynamic(values[*index]),
        Node::Object(children) => {
            // Inserting beats `collect`, which sorts through a temporary vector.
            let mut map = rhai::Map::new();
            for (name, child) in children {
                map.insert(name.as_ref().into(), dynamic(child, values));
            }
            Dynamic::from_map(map)
        }
    }
}

fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => n.as_i64().map_or(Dynamic::UNIT, Dynamic::from_int),
        Value::String(s) => Dynamic::from(rhai::ImmutableString::from(s.as_str())),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(map) => Dynamic::from_map(
            map.iter()
                .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
                .collect(),
        ),
    }
}
