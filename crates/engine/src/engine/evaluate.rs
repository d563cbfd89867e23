//! Evaluate: one ticket against a compiled bundle. Pure: the result depends
//! on the ticket and the bundle alone.

use std::sync::Arc;

use rhai::{Dynamic, Scope};
use serde_json::Value;

use crate::diagnostic::{lowercase_first, plain_type_names};
use crate::engine::atoms::Atoms;
use crate::engine::fragments::Fragments;
use crate::engine::index::RuleIndex;
use crate::engine::packed::Steps;
use crate::engine::verdict::{Trace, Verdict};
use crate::engine::walk::{Answer, End, Judge, Quick, Site, Walk};
use crate::expr::Expression;
use crate::expr::evaluated::Evaluated;
use crate::model::decision::{EvaluationError, Rejection, RejectionKind};
use crate::model::{Compiled, Constraint, Piece, Template};
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
/// through; with `atoms`, in atom mode where it takes the ticket. Else the
/// quick walk answers most tickets; where it gives up, the full one decides
/// again from the start, and words whatever went wrong.
#[inline]
pub(crate) fn decide<'a>(
    bundle: &'a Compiled,
    index: Option<&'a RuleIndex>,
    atoms: Option<&'a Atoms>,
    json: &'a Fragments,
    ticket: &'a Ticket<'a>,
    native: bool,
) -> Result<Verdict<'a>, Rejection> {
    if let Some(atoms) = atoms
        && let Some(end) = atoms.decide(ticket)
    {
        return Ok(atom_verdict(bundle, json, ticket, atoms, end));
    }
    if native {
        let mut walk = Walk::new(bundle, index, ticket, Quick);
        if let Ok(end) = walk.run() {
            return Ok(verdict(walk, json, end));
        }
    }
    let mut walk = Walk::new(bundle, index, ticket, Full::new(native));
    let end = walk.run()?;
    Ok(verdict(walk, json, end))
}

/// The verdict atom mode leaves: where the decision ends, the trace left
/// to be found again when it is rendered (`render`).
#[inline(always)]
fn atom_verdict<'a>(
    bundle: &'a Compiled,
    json: &'a Fragments,
    ticket: &'a Ticket<'a>,
    atoms: &'a Atoms,
    end: crate::engine::atoms::End,
) -> Verdict<'a> {
    Verdict {
        trace: Trace {
            bundle,
            index: None,
            ticket,
        },
        json,
        conditions: Evaluated::new(0),
        steps: Steps::new(),
        rule: end.rule,
        outcome: end.outcome,
        step: end.step,
        action: end.action,
        atoms: Some((atoms, end.atoms)),
    }
}

/// The verdict a walk that ended at `end` leaves; inlined, so that the
/// walk's state is moved once, into the verdict.
#[inline(always)]
fn verdict<'a, J>(walk: Walk<'a, J>, json: &'a Fragments, end: End<'a>) -> Verdict<'a> {
    Verdict {
        trace: Trace {
            bundle: walk.bundle,
            index: walk.index,
            ticket: walk.ticket,
        },
        json,
        conditions: walk.conditions,
        steps: walk.steps,
        rule: end.rule,
        outcome: end.route.outcome,
        step: end.route.step,
        action: end.action,
        atoms: None,
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

/// The judge that answers every expression, running rhai where the native
/// tree cannot say (or everywhere, when `native` is off), and words every
/// failure. It keeps each ticket root as rhai sees it, once an expression
/// run by rhai needs it.
struct Full<'a> {
    native: bool,
    roots: Vec<Option<Dynamic>>,
    /// The scope of the expression rhai runs, kept for its allocation.
    scope: Scope<'a>,
}

impl Full<'_> {
    fn new(native: bool) -> Self {
        Full {
            native,
            roots: Vec::new(),
            scope: Scope::new(),
        }
    }
}

impl<'a> Judge<'a> for Full<'a> {
    type Fail = Rejection;

    fn run(
        walk: &mut Walk<'a, Full<'a>>,
        expr: &'a Expression,
        site: Site<'a>,
    ) -> Result<Answer, Rejection> {
        // The native tree answers, or, run by rhai, still names the operand
        // that decided, so both give the same trace.
        let native = match &expr.native {
            Some(program) if walk.judge.native || expr.parts.is_some() => {
                program.eval_deciding(&walk.inputs())
            }
            _ => None,
        };
        if let (true, Some(answer)) = (walk.judge.native, native) {
            return Ok(answer);
        }
        let deciding = native.and_then(|(_, part)| part);
        let engine = &walk.bundle.engine;
        let mut scope = scope(walk, expr);
        let result = engine.eval_ast_with_scope::<Dynamic>(&mut scope, &expr.ast);
        keep_roots(walk, expr, &mut scope);
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
        Err(Full::fail(walk, || EvaluationError {
            stage: site.stage,
            id: (**site.id).into(),
            rule: site.rule.cloned(),
            expression: expr.source.clone(),
            location: expr.loc.to_string(),
            cause,
        }))
    }

    fn fail(walk: &Walk<'a, Full<'a>>, error: impl FnOnce() -> EvaluationError) -> Rejection {
        Rejection {
            ticket_id: Some(ticket_id(walk)),
            error: RejectionKind::Evaluation(Box::new(error())),
            policy: walk.bundle.policy.clone(),
            trace: walk.trace_view().render(&walk.steps, &walk.conditions),
        }
    }

    fn invalid(walk: &Walk<'a, Full<'a>>, broken: &[&'a Constraint]) -> Rejection {
        let problems = broken.iter().map(|constraint| {
            let field = &walk.bundle.schema.fields[constraint.field];
            let value = walk.ticket.slots[constraint.field].value(&field.kind);
            InputProblem {
                field: field.path.to_string(),
                expected: render(walk, &constraint.expected),
                found: found(&value),
                message: render(walk, &constraint.message),
            }
        });
        Rejection {
            ticket_id: Some(ticket_id(walk)),
            error: RejectionKind::InvalidTicket {
                problems: problems.collect(),
            },
            policy: walk.bundle.policy.clone(),
            trace: Vec::new(),
        }
    }

    fn traced(walk: &Walk<'a, Full<'a>>, mut rejection: Rejection) -> Rejection {
        rejection.trace = walk.trace_view().render(&walk.steps, &walk.conditions);
        rejection
    }
}

fn ticket_id<J>(walk: &Walk<'_, J>) -> Arc<str> {
    let schema = &walk.bundle.schema;
    walk.ticket.text(schema, schema.id_field).into()
}

/// The variables `expr` uses, as rhai sees them: its ticket roots (built
/// once a ticket, and lent to the scope), its named conditions as
/// evaluated so far (`()` for one not yet), and its named sets. Only
/// those: rhai finds a variable by a search of its scope, so a scope of
/// every condition of a large bundle would cost each lookup its size.
fn scope<'a>(walk: &mut Walk<'a, Full<'a>>, expr: &Expression) -> Scope<'a> {
    let (bundle, ticket) = (walk.bundle, walk.ticket);
    let full = &mut walk.judge;
    let mut scope = std::mem::take(&mut full.scope);
    if full.roots.is_empty() {
        full.roots = vec![None; bundle.schema.roots().len()];
    }
    for &root in &expr.roots {
        let (name, node) = &bundle.schema.roots()[root];
        let value = full.roots[root]
            .take()
            .unwrap_or_else(|| dynamic(node, bundle, ticket));
        scope.push_dynamic(&**name, value);
    }
    for &index in &expr.conditions {
        let value = walk
            .conditions
            .get(index)
            .map_or(Dynamic::UNIT, Dynamic::from_bool);
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
fn keep_roots<'a>(walk: &mut Walk<'a, Full<'a>>, expr: &Expression, scope: &mut Scope<'a>) {
    let roots = walk.bundle.schema.roots();
    let full = &mut walk.judge;
    for &root in &expr.roots {
        if let Some(value) = scope.get_mut(&roots[root].0) {
            full.roots[root] = Some(std::mem::take(value));
        }
    }
    scope.clear();
    full.scope = std::mem::take(scope);
}

/// `template` with the ticket's values in its placeholders.
fn render<J>(walk: &Walk<'_, J>, template: &Template) -> String {
    template
        .0
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.clone(),
            Piece::Field(index) => {
                let kind = &walk.bundle.schema.fields[*index].kind;
                match walk.ticket.slots[*index].value(kind) {
                    Value::String(s) => s,
                    other => other.to_string(),
                }
            }
        })
        .collect()
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
