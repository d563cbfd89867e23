//! Evaluate: one ticket against a compiled bundle. Pure: the result depends
//! on the ticket and the bundle alone.

use std::sync::Arc;

use rhai::{Dynamic, Scope};
use serde_json::Value;

use crate::diagnostic::{lowercase_first, plain_type_names};
use crate::engine::atoms::Atoms;
use crate::engine::fragments::Fragments;
use crate::engine::index::RuleIndex;
use crate::engine::verdict::{Kept, Trace, Verdict, Walked};
use crate::engine::walk::{Answer, End, Judge, Quick, Site, Walk};
use crate::expr::Expression;
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

/// What deciding a checked ticket reads: the bundle, its rule index, its
/// atom mode (none where it does not apply) and its text as JSON; and
/// whether expressions run natively.
#[derive(Clone, Copy)]
pub(crate) struct Deciding<'a> {
    pub bundle: &'a Compiled,
    /// The rule index, used when `indexed` and not empty (looked at by the
    /// walk alone: atom mode is for bundles without one).
    pub index: Option<&'a RuleIndex>,
    pub indexed: bool,
    pub atoms: Option<&'a Atoms>,
    pub json: &'a Fragments,
    pub native: bool,
}

impl<'a> Deciding<'a> {
    /// Decides `ticket`: in atom mode where it takes the ticket; else the
    /// quick walk answers most tickets, and where it gives up, the full
    /// one decides again from the start and words whatever went wrong.
    #[inline(always)]
    pub fn decide(
        self,
        ticket: &'a Ticket<'a>,
        walk: impl FnOnce() -> Result<Verdict<'a>, Rejection>,
    ) -> Result<Verdict<'a>, Rejection> {
        if let Some(verdict) = self.in_atom_mode(ticket) {
            return Ok(verdict);
        }
        walk()
    }

    /// The walk's verdict, its trace boxed so that the verdict stays small.
    pub fn walk_verdict(self, ticket: &'a Ticket<'a>) -> Result<Verdict<'a>, Rejection> {
        let (walked, end) = self.walk(ticket)?;
        Ok(self.verdict(ticket, Kept::Owned(Box::new(walked)), &end))
    }

    /// `then` of `ticket`'s verdict, which it renders in place: the walk's
    /// trace is lent, not boxed.
    pub fn decide_then<R>(
        self,
        ticket: &'a Ticket<'a>,
        then: impl FnOnce(&Verdict<'_>) -> R,
    ) -> Result<R, Rejection> {
        if let Some(verdict) = self.in_atom_mode(ticket) {
            return Ok(then(&verdict));
        }
        self.walk_then(ticket, then)
    }

    /// `then` of the walk's verdict, its trace lent where the walk left it.
    #[inline(never)]
    fn walk_then<R>(
        self,
        ticket: &'a Ticket<'a>,
        then: impl FnOnce(&Verdict<'_>) -> R,
    ) -> Result<R, Rejection> {
        let (bundle, index) = (self.bundle, self.index());
        if self.native {
            let mut walk = Walk::new(bundle, index, ticket, Quick);
            if let Ok(end) = walk.run() {
                let kept = Kept::Lent(&walk.steps, &walk.conditions);
                return Ok(then(&self.verdict(ticket, kept, &end)));
            }
        }
        let mut walk = Walk::new(bundle, index, ticket, Full::new(self.native));
        let end = walk.run()?;
        let kept = Kept::Lent(&walk.steps, &walk.conditions);
        Ok(then(&self.verdict(ticket, kept, &end)))
    }

    /// The verdict atom mode gives, where it takes the ticket: where the
    /// decision ends, the trace left to be found when it is rendered.
    #[inline(always)]
    fn in_atom_mode(self, ticket: &'a Ticket<'a>) -> Option<Verdict<'a>> {
        let atoms = self.atoms?;
        let end = atoms.decide(ticket)?;
        Some(Verdict {
            trace: Trace {
                bundle: self.bundle,
                index: None,
                ticket,
            },
            json: self.json,
            kept: Kept::Atoms(atoms, end.atoms),
            rule: end.rule,
            outcome: end.outcome,
            step: end.step,
            action: end.action,
        })
    }

    /// The walk's trace and where it ended (not inlined: atom mode's way
    /// stays short without it).
    #[inline(never)]
    pub fn walk(self, ticket: &'a Ticket<'a>) -> Result<(Walked, End<'a>), Rejection> {
        let (bundle, index) = (self.bundle, self.index());
        if self.native {
            let mut walk = Walk::new(bundle, index, ticket, Quick);
            if let Ok(end) = walk.run() {
                return Ok((walked(walk), end));
            }
        }
        let mut walk = Walk::new(bundle, index, ticket, Full::new(self.native));
        let end = walk.run()?;
        Ok((walked(walk), end))
    }

    /// The rule index the walk uses, if any.
    fn index(self) -> Option<&'a RuleIndex> {
        self.index.filter(|index| self.indexed && !index.is_empty())
    }

    /// The verdict of a walk that ended at `end`, its trace kept as `kept`.
    #[inline(always)]
    fn verdict<'v>(self, ticket: &'a Ticket<'a>, kept: Kept<'v>, end: &End<'a>) -> Verdict<'v>
    where
        'a: 'v,
    {
        Verdict {
            trace: Trace {
                bundle: self.bundle,
                index: self.index(),
                ticket,
            },
            json: self.json,
            kept,
            rule: end.rule,
            outcome: end.route.outcome,
            step: end.route.step,
            action: end.action,
        }
    }
}

/// The trace a walk leaves.
#[inline(always)]
fn walked<J>(walk: Walk<'_, J>) -> Walked {
    Walked {
        steps: walk.steps,
        conditions: walk.conditions,
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
