//! Evaluate: one ticket against a compiled bundle. Pure: the result depends
//! on the ticket and the bundle alone.

use std::sync::Arc;

use rhai::{Dynamic, Scope};
use serde_json::Value;

use crate::diagnostic::lowercase_first;
use crate::model::decision::{
    Decision, EvaluationError, Reads, Rejection, RejectionKind, Requester, StepKind, StepResult,
    TraceStep,
};
use crate::model::{ActionSel, Compiled, Guard, Piece, Template};
use crate::schema::{InputProblem, Node, Values, found};

pub(crate) fn decide(
    bundle: &Compiled,
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

    let mut decided = None;
    for rule in &bundle.rules {
        if run.test(&rule.guard, StepKind::Rule, &rule.id, None, Some(&rule.id))? {
            decided = Some(rule);
            break;
        }
    }
    // The loader rejects bundles without a final catch-all, so this is unreachable
    // for a valid bundle; it still answers rather than panics.
    let Some(rule) = decided else {
        return Err(run.failure("rule", "(none)", None, "(none)", "", "no rule matched"));
    };

    let mut outcome = rule.outcome;
    let mut action = &rule.action;
    let mut vehicle = None;
    let mut path_step = None;
    let mut rationale = vec![rule.rationale.clone()];
    if let Some(path_index) = rule.path {
        let path = &bundle.paths[path_index];
        for step in &path.steps {
            if run.test(
                &step.guard,
                StepKind::PathStep,
                &step.id,
                Some(&path.id),
                Some(&rule.id),
            )? {
                vehicle = Some(bundle.vehicles[step.vehicle].id.clone());
                path_step = Some(step.id.clone());
                rationale.push(step.rationale.clone());
                break;
            }
        }
        if vehicle.is_none() {
            match &path.fallback {
                Some(fallback) => {
                    outcome = fallback.outcome;
                    action = &fallback.action;
                    rationale.push(fallback.rationale.clone());
                    run.trace.push(TraceStep {
                        kind: StepKind::Fallback,
                        id: "fallback".into(),
                        path: Some(path.id.clone()),
                        result: StepResult::Matched,
                        reads: Reads::default(),
                    });
                }
                None => {
                    return Err(run.failure(
                        "path",
                        &path.id,
                        Some(&rule.id),
                        "(none)",
                        "",
                        "no step of the path matched and it has no fallback",
                    ));
                }
            }
        }
    }

    let action = match action {
        ActionSel::Fixed(index) => *index,
        ActionSel::ByField { field, cases } => {
            let value = values[*field].as_str().unwrap_or_default();
            match cases.iter().find(|(case, _)| &**case == value) {
                Some((_, index)) => *index,
                None => {
                    let path = bundle.schema.fields[*field].path.clone();
                    return Err(run.failure(
                        "rule",
                        &rule.id,
                        Some(&rule.id),
                        &path,
                        "",
                        &format!("no action for `{path}` = `{value}`"),
                    ));
                }
            }
        }
    };
    let action = &bundle.actions[action];
    let role: Arc<str> = values[bundle.schema.role_field]
        .as_str()
        .unwrap_or_default()
        .into();
    let allowed = action.roles.contains(&role);
    Ok(Decision {
        ticket_id: run.ticket_id.clone(),
        outcome: bundle.outcomes[outcome].id.clone(),
        vehicle,
        rule: rule.id.clone(),
        path: rule.path.map(|p| bundle.paths[p].id.clone()),
        path_step,
        action: action.id.clone(),
        requester: Requester { role, allowed },
        allowed_roles: action.roles.clone(),
        rationale,
        policy: bundle.policy.clone(),
        trace: run.trace,
    })
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
    path.split('.')
        .try_fold(ticket, |value, segment| value.get(segment))
        .and_then(Value::as_str)
        .map(Into::into)
}

/// The state of one evaluation: the conditions already evaluated, the trace
/// so far, and the rhai scope once an expression needs rhai.
struct Run<'a> {
    bundle: &'a Compiled,
    values: &'a Values<'a>,
    native: bool,
    scope: Option<Scope<'a>>,
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
            scope: None,
            conditions: vec![None; bundle.conditions.len()],
            trace: Vec::new(),
            ticket_id,
        }
    }

    /// The ticket and the conditions evaluated so far, as rhai variables.
    fn scope(&mut self) -> &mut Scope<'a> {
        let (bundle, values, conditions) = (self.bundle, self.values, &self.conditions);
        self.scope.get_or_insert_with(|| {
            let mut scope =
                Scope::with_capacity(bundle.schema.roots().len() + bundle.conditions.len());
            for (name, node) in bundle.schema.roots() {
                scope.push_dynamic(&**name, dynamic(node, values));
            }
            for (condition, value) in bundle.conditions.iter().zip(conditions) {
                let value = value.map_or(Dynamic::UNIT, Dynamic::from_bool);
                scope.push_dynamic(&*condition.name, value);
            }
            scope
        })
    }

    fn check_constraints(&mut self) -> Result<(), Rejection> {
        let mut problems = Vec::new();
        for constraint in &self.bundle.constraints {
            if !self.eval(&constraint.guard, "constraint", &constraint.id, None)? {
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
            StepKind::Rule => "rule",
            StepKind::PathStep | StepKind::Fallback => "path_step",
        };
        let result = self.eval(guard, stage, id, rule);
        let reads = Reads(
            guard
                .reads
                .iter()
                .map(|&i| {
                    (
                        self.bundle.schema.fields[i].path.clone(),
                        self.values[i].clone(),
                    )
                })
                .collect(),
        );
        self.trace.push(TraceStep {
            kind,
            id: id.clone(),
            path: path.cloned(),
            result: match result {
                Ok(true) => StepResult::Matched,
                Ok(false) => StepResult::NotMatched,
                Err(_) => StepResult::Error,
            },
            reads,
        });
        result.map_err(|mut rejection| {
            rejection.trace = self.trace.clone();
            rejection
        })
    }

    /// Evaluates a guard's named conditions (once per ticket), then the guard.
    fn eval(
        &mut self,
        guard: &Guard,
        stage: &str,
        id: &Arc<str>,
        rule: Option<&Arc<str>>,
    ) -> Result<bool, Rejection> {
        for &index in &guard.needs {
            if self.conditions[index].is_some() {
                continue;
            }
            let condition = &self.bundle.conditions[index];
            let value = self.run_expr(&condition.expr, "condition", &condition.name, rule)?;
            self.conditions[index] = Some(value);
            if let Some(scope) = &mut self.scope {
                scope.set_value(&*condition.name, value);
            }
        }
        if guard.expr.always {
            return Ok(true);
        }
        self.run_expr(&guard.expr, stage, id, rule)
    }

    fn run_expr(
        &mut self,
        expr: &crate::expr::compile::Expression,
        stage: &str,
        id: &str,
        rule: Option<&Arc<str>>,
    ) -> Result<bool, Rejection> {
        if let (true, Some(program)) = (self.native, &expr.native) {
            let inputs = crate::expr::native::Inputs {
                values: self.values,
                conditions: &self.conditions,
            };
            if let Some(value) = program.eval(&inputs) {
                return Ok(value);
            }
        }
        let engine = &self.bundle.engine;
        let cause = match engine.eval_ast_with_scope::<Dynamic>(self.scope(), &expr.ast) {
            Ok(value) => match value.as_bool() {
                Ok(b) => return Ok(b),
                Err(type_name) => format!(
                    "a condition must be true or false, but this one gave {type_name} `{value}`"
                ),
            },
            Err(error) => lowercase_first(&error.to_string()),
        };
        let location = expr.loc.to_string();
        Err(self.failure(stage, id, rule, &expr.source, &location, &cause))
    }

    fn failure(
        &self,
        stage: &str,
        id: &str,
        rule: Option<&Arc<str>>,
        expression: &str,
        location: &str,
        cause: &str,
    ) -> Rejection {
        Rejection {
            ticket_id: Some(self.ticket_id.clone()),
            error: RejectionKind::Evaluation(Box::new(EvaluationError {
                stage: stage.into(),
                id: id.into(),
                rule: rule.cloned(),
                expression: expression.into(),
                location: location.to_owned(),
                cause: cause.to_owned(),
            })),
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
