//! The loaded, validated and compiled bundle: the one object evaluation needs.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::compile::Expression;
use crate::decision::{Decision, PolicyRef, Rejection};
use crate::diagnostic::{BundleError, Problem};
use crate::schema::Schema;

/// A policy bundle ready to decide tickets. Cloning is cheap (one `Arc`), and
/// it is `Send + Sync`, so one bundle serves every thread.
#[derive(Clone)]
pub struct Bundle {
    pub(crate) inner: Arc<Compiled>,
    /// Whether lowered expressions run natively (see `native`); off only to
    /// check them against rhai.
    pub(crate) native: bool,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

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
    /// Named conditions, in declaration order; each guard's `needs` says which
    /// to evaluate for it, dependencies first.
    pub conditions: Vec<Condition>,
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
    pub id: Arc<str>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
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
    /// Every named condition the guard depends on, dependencies first.
    pub needs: Vec<usize>,
    /// Every field read, directly or through conditions, sorted.
    pub reads: Vec<usize>,
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

/// A bundle file held in memory: its name as the manifest lists it, and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PolicyFile {
    pub name: String,
    pub text: String,
}

impl Bundle {
    /// Loads the bundle in `dir`: `bundle.yaml` and the files it lists.
    pub fn load(dir: impl AsRef<Path>) -> Result<Bundle, BundleError> {
        let dir = dir.as_ref();
        let sources = crate::source::collect(
            |name| dir.join(name).display().to_string(),
            |name| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string()),
        )?;
        crate::validate::build(sources)
    }

    /// Loads a bundle from files in memory; one of them must be `bundle.yaml`.
    pub fn from_files(files: &[PolicyFile]) -> Result<Bundle, BundleError> {
        let sources = crate::source::collect(
            |name| name.to_owned(),
            |name| {
                files
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| f.text.clone())
                    .ok_or_else(|| "no such file in the bundle".to_owned())
            },
        )?;
        crate::validate::build(sources)
    }

    /// Decides one ticket.
    pub fn decide(&self, ticket: &Value) -> Result<Decision, Rejection> {
        crate::evaluate::decide(&self.inner, ticket, self.native)
    }

    /// The same bundle with every expression run by rhai, even those that
    /// have a native form. Its decisions are the same, byte for byte; it
    /// exists so that can be checked, and costs several times more a ticket.
    pub fn interpreted(&self) -> Bundle {
        Bundle {
            inner: Arc::clone(&self.inner),
            native: false,
        }
    }

    /// Decides a ticket of any serialisable type (it goes through the same
    /// validation as JSON does).
    pub fn decide_typed<T: Serialize>(&self, ticket: &T) -> Result<Decision, Rejection> {
        match serde_json::to_value(ticket) {
            Ok(value) => self.decide(&value),
            Err(error) => Err(crate::evaluate::unserialisable(
                &self.inner,
                &error.to_string(),
            )),
        }
    }

    /// A copy compiled anew from the same files (so the same digest), for a
    /// thread of its own: the ids, names and constants a decision clones are
    /// then reference-counted per thread, not bounced between cores. Files
    /// that compiled once compile again; if they ever did not, the copy is
    /// this bundle, shared.
    pub(crate) fn thread_copy(&self) -> Bundle {
        match Bundle::from_files(self.files()) {
            Ok(copy) => Bundle {
                native: self.native,
                ..copy
            },
            Err(_) => self.clone(),
        }
    }

    /// The bundle's name, version and digest.
    pub fn policy(&self) -> &PolicyRef {
        &self.inner.policy
    }

    /// Problems worth a look that do not stop the bundle from loading.
    pub fn warnings(&self) -> &[Problem] {
        &self.inner.warnings
    }

    /// The boundary rule ids, in evaluation order.
    pub fn rule_ids(&self) -> Vec<Arc<str>> {
        self.inner.rules.iter().map(|r| r.id.clone()).collect()
    }

    /// The declared vehicles.
    pub fn vehicles(&self) -> &[Described] {
        &self.inner.vehicles
    }

    /// Everything the bundle declares, for people and tools.
    pub fn catalog(&self) -> crate::catalog::Catalog {
        crate::catalog::Catalog::of(&self.inner)
    }

    /// The manifest and every file it lists, exactly as loaded (the bytes the
    /// digest covers): enough to rebuild the same bundle with `from_files`.
    pub fn files(&self) -> &[PolicyFile] {
        &self.inner.files
    }

    /// Each file's display name and text, for rendering diagnostics.
    pub(crate) fn sources(&self) -> Vec<(Arc<str>, Arc<str>)> {
        self.inner.sources.clone()
    }

    /// Every path step as `(path, step)`, in order.
    pub fn path_steps(&self) -> Vec<(Arc<str>, Arc<str>)> {
        self.inner
            .paths
            .iter()
            .flat_map(|p| p.steps.iter().map(|s| (p.id.clone(), s.id.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_is_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Bundle>();
    }
}
