//! The model: the compiled policy as evaluation and the tools read it. The
//! linker (`link`) builds it; the engine (`engine`) wraps it in a `Bundle`.

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostic::Problem;
use crate::expr::Expression;
use crate::load::PolicyFile;
use crate::schema::Schema;

pub mod decision;

use decision::{Decision, PolicyRef};

pub(crate) struct Compiled {
    pub policy: PolicyRef,
    pub description: Option<String>,
    pub engine: rhai::Engine,
    pub schema: Schema,
    pub roles: Vec<Described>,
    pub actions: Vec<ActionDef>,
    pub outcomes: Vec<OutcomeDef>,
    pub vehicles: Vec<Described>,
    pub sets: Vec<(Arc<str>, Vec<Arc<str>>)>,
    /// Each set as the array rhai sees, for the expressions rhai runs.
    pub set_arrays: Vec<rhai::Dynamic>,
    /// Named conditions, in declaration order; each guard's `needs` says which
    /// to evaluate for it, dependencies first.
    pub conditions: Vec<Condition>,
    /// Each condition's place in an order where each comes after those it
    /// uses: the order a guard's conditions are evaluated in.
    pub rank: Vec<usize>,
    pub constraints: Vec<Constraint>,
    pub rules: Vec<Rule>,
    pub paths: Vec<PathDef>,
    /// Warnings found while loading (nothing that stops the bundle from working).
    pub warnings: Vec<Problem>,
    /// The manifest and the files it lists, as loaded: what the digest covers.
    pub files: Vec<PolicyFile>,
    /// The same files under their display names, for diagnostics.
    pub sources: Vec<(Arc<str>, Arc<str>)>,
}

/// Something a bundle declares, as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Described {
    /// The id it is declared under, as rules, decisions and other declarations name it.
    pub id: Arc<str>,
    /// A short name a person reads.
    pub title: String,
    /// A longer description; absent when the bundle gives none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What a vehicle costs the partner; vehicles only, and absent when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
    /// What a vehicle covers; vehicles only, and absent when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covers: Option<String>,
}

pub(crate) struct ActionDef {
    pub id: Arc<str>,
    pub info: Described,
    /// Sorted, so decisions list them in a stable order.
    pub roles: Vec<Arc<str>>,
}

pub(crate) struct OutcomeDef {
    pub id: Arc<str>,
    pub info: Described,
    pub escalates: bool,
}

pub(crate) struct Condition {
    pub name: Arc<str>,
    pub expr: Expression,
}

/// A condition-bearing item (rule or step) as evaluation needs it.
pub(crate) struct Guard {
    pub expr: Expression,
    /// The named conditions the guard depends on.
    pub needs: Needs,
    /// Every field read, directly or through conditions, sorted.
    pub reads: Vec<usize>,
    /// The listed needs as bits, when they are all among the first 64
    /// conditions: once all are evaluated (or there are none), one test
    /// says so.
    pub needs_bits: Option<u64>,
}

/// The named conditions a guard depends on, directly or through others,
/// which are evaluated (each once a ticket) before it, in the bundle's
/// condition order (`Compiled::rank`).
pub(crate) enum Needs {
    /// All of them, in that order: most guards need a few.
    Listed(Vec<usize>),
    /// Too many to list for every guard (a list each would make a bundle's
    /// size the product of its guards and its conditions): they are found
    /// when the guard is evaluated, from the conditions its expression names.
    Found,
}

pub(crate) struct Constraint {
    pub id: Arc<str>,
    pub guard: Guard,
    pub field: usize,
    pub expected: Template,
    pub message: Template,
}

/// Text with `{field.path}` placeholders, split once at load time.
pub(crate) struct Template(pub Vec<Piece>);

pub(crate) enum Piece {
    Text(String),
    Field(usize),
}

/// The action a rule or fallback names: fixed, or picked by an enum field's value.
pub(crate) enum ActionSel {
    Fixed(usize),
    ByField {
        field: usize,
        cases: Vec<(Arc<str>, usize)>,
    },
}

pub(crate) struct Rule {
    pub id: Arc<str>,
    pub guard: Guard,
    pub outcome: usize,
    pub action: ActionSel,
    pub path: Option<usize>,
    pub rationale: Arc<str>,
}

impl Described {
    pub(crate) fn new(id: &str, title: &str, description: Option<&str>) -> Self {
        Described {
            id: id.into(),
            title: title.trim().to_owned(),
            description: description.map(|d| d.trim().to_owned()),
            fee: None,
            covers: None,
        }
    }
}

pub(crate) struct PathDef {
    pub id: Arc<str>,
    pub info: Described,
    pub steps: Vec<StepDef>,
    pub fallback: Option<FallbackDef>,
}

pub(crate) struct StepDef {
    pub id: Arc<str>,
    pub vehicle: usize,
    pub guard: Guard,
    pub rationale: Arc<str>,
}

pub(crate) struct FallbackDef {
    pub outcome: usize,
    pub action: ActionSel,
    pub rationale: Arc<str>,
}

/// What coverage counts, in this order: each rule, then each path's steps
/// and its fallback, path after path.
pub(crate) enum Covered<'a> {
    Rule(&'a Rule),
    Step(&'a PathDef, &'a StepDef),
    Fallback(&'a PathDef),
}

impl Compiled {
    pub fn coverage_items(&self) -> Vec<Covered<'_>> {
        let rules = self.rules.iter().map(Covered::Rule);
        let paths = self.paths.iter().flat_map(|path| {
            let steps = path.steps.iter().map(move |step| Covered::Step(path, step));
            steps.chain(path.fallback.as_ref().map(|_| Covered::Fallback(path)))
        });
        rules.chain(paths).collect()
    }

    /// The positions in `coverage_items` a decision exercised: its rule, and
    /// the step that chose its vehicle or the fallback that applied.
    pub fn exercised(&self, d: &Decision) -> impl Iterator<Item = usize> {
        let rule = self.rules.iter().position(|r| r.id == d.rule);
        let along = rule.and_then(|r| {
            let p = self.rules[r].path?;
            let path = &self.paths[p];
            let width = |p: &PathDef| p.steps.len() + usize::from(p.fallback.is_some());
            let start = self.rules.len() + self.paths[..p].iter().map(width).sum::<usize>();
            let at = match &d.path_step {
                Some(step) => path.steps.iter().position(|s| s.id == *step)?,
                // No step matched, so the fallback applied (or the path failed).
                None => path.fallback.as_ref().map(|_| path.steps.len())?,
            };
            Some(start + at)
        });
        rule.into_iter().chain(along)
    }
}
