//! Record: the decision for a ticket, or the reason there is none. These
//! structs are the JSON contract other services depend on; their field names
//! and shapes change only with a new contract version.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::printable;
pub use crate::schema::InputProblem;

/// What must happen with a ticket, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The ticket's id: the value of the schema's `id_field`.
    pub ticket_id: Arc<str>,
    /// The outcome id: the deciding rule's, or the path fallback's when no step was eligible.
    pub outcome: Arc<str>,
    /// The support vehicle an escalation goes through, if one was chosen.
    pub vehicle: Option<Arc<str>>,
    /// The boundary rule that decided.
    pub rule: Arc<str>,
    /// The escalation path that ran, if the rule named one.
    pub path: Option<Arc<str>>,
    /// The path step that chose the vehicle (`null` when the fallback applied).
    pub path_step: Option<Arc<str>>,
    /// The action the partner takes next.
    pub action: Arc<str>,
    /// The requester's role, from the ticket, and whether it may take `action`.
    pub requester: Requester,
    /// The roles that may take `action`, sorted.
    pub allowed_roles: Vec<Arc<str>>,
    /// The deciding rule's rationale, then the path step's or fallback's.
    pub rationale: Vec<Arc<str>>,
    /// The bundle that decided.
    pub policy: PolicyRef,
    /// Every rule and path step evaluated, in order, and the fallback when it
    /// applied; each run of rules the rule index left out is one `excluded` entry.
    pub trace: Vec<TraceStep>,
}

/// Who asked for the decision, and whether they may act on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// The requester's role: the value of the schema's `role_field`.
    pub role: Arc<str>,
    /// Whether `role` may take the decision's action.
    pub allowed: bool,
}

/// Which bundle decided: its name, human version and content digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyRef {
    /// The bundle's name, from its manifest.
    pub name: Arc<str>,
    /// The bundle's version, as its manifest writes it.
    pub version: Arc<str>,
    /// `sha256:` and the hex digest of the bundle's files, in manifest order.
    pub digest: Arc<str>,
}

/// One condition evaluated on the way to a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// What was evaluated: a rule, a path step or a path's fallback.
    pub kind: StepKind,
    /// The rule id, the step id within `path`, or `fallback`.
    pub id: Arc<str>,
    /// The escalation path the step or fallback belongs to; absent for rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Arc<str>>,
    /// Whether the condition held, did not hold, or failed.
    pub result: StepResult,
    /// The ticket fields the condition refers to (directly or through named
    /// conditions) and their values in this ticket; `null` where absent.
    pub reads: Reads,
    /// The paths among `reads` the ticket did not send, whose value is the
    /// schema's default; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaulted: Vec<Arc<str>>,
    /// The named conditions the condition uses by name, and whether each
    /// held; absent when it uses none.
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    pub conditions: Named,
    /// For a condition whose top level is `&&` or `||`: the operand, as
    /// written, that decided (the first false one of a `&&`, the first true
    /// one of a `||`); absent when every operand was needed or when the
    /// engine cannot say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Arc<str>>,
    /// For an `excluded` entry: the rules the bundle's index left out
    /// without trying them; absent for every other entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Excluded>,
}

/// Consecutive rules the rule index left out for a ticket: each starts with
/// a test on a field (`by`) that the ticket's value (in the entry's `reads`)
/// fails, so none could match. The entry's `id` is the first of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// How many rules were left out.
    pub rules: usize,
    /// The last of them (the first is the entry's `id`).
    pub last: Arc<str>,
    /// For each field, how many of them its test left out, sorted by path.
    pub by: Counts,
}

/// Field paths and rule counts, sorted by path; a JSON object on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub Vec<(Arc<str>, usize)>);

impl Counts {
    /// The fields and their counts, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, usize)> {
        self.0.iter().map(|(p, n)| (p, *n))
    }
}

/// Named conditions and whether each held, sorted by name; a JSON object on
/// the wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Named(pub Vec<(Arc<str>, bool)>);

impl Named {
    /// Whether the named condition `name` held, if the condition used it.
    pub fn get(&self, name: &str) -> Option<bool> {
        self.0.iter().find(|(n, _)| &**n == name).map(|(_, v)| *v)
    }

    /// The names and whether each held.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, bool)> {
        self.0.iter().map(|(n, v)| (n, *v))
    }

    /// Whether the condition used no named condition.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Field paths and values, sorted by path; a JSON object on the wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reads(pub Vec<(Arc<str>, Value)>);

impl Reads {
    /// The value read at the dotted `path`, if the condition read that field.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.0.iter().find(|(p, _)| &**p == path).map(|(_, v)| v)
    }

    /// The field paths and their values, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Value)> {
        self.0.iter().map(|(p, v)| (p, v))
    }

    /// Whether no field was read, as for a catch-all rule or a fallback.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A list of `(name, value)` pairs sorted by name, written as a JSON object
/// and read back from one.
macro_rules! pairs_as_object {
    ($pairs:ident, $value:ty) => {
        impl Serialize for $pairs {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }

        impl<'de> Deserialize<'de> for $pairs {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let map = BTreeMap::<Arc<str>, $value>::deserialize(deserializer)?;
                Ok($pairs(map.into_iter().collect()))
            }
        }
    };
}

pairs_as_object!(Reads, Value);
pairs_as_object!(Named, bool);
pairs_as_object!(Counts, usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
/// What a trace step evaluated: `rule`, `path_step`, `fallback` or
/// `excluded` in JSON.
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A boundary rule's condition.
    Rule,
    /// The condition of a step of the escalation path the deciding rule named.
    PathStep,
    /// The path's fallback, applied because no step was eligible; it has no
    /// condition, so it is always `matched` and reads nothing.
    Fallback,
    /// Rules the bundle's rule index left out without trying them, because
    /// the ticket fails the test each starts with (see [`Excluded`]); always
    /// `not_matched`.
    Excluded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
/// How a trace step came out: `matched`, `not_matched` or `error` in JSON.
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// The condition held: the rule decided, or the step chose the vehicle.
    Matched,
    /// The condition was false, so evaluation went on to the next rule or step.
    NotMatched,
    /// The condition failed to evaluate; only the last step of a rejection's trace has it.
    Error,
}

/// Why a ticket got no decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// The ticket's id, when it could be read.
    pub ticket_id: Option<Arc<str>>,
    /// What went wrong: an object whose `kind` is `invalid_ticket` or `evaluation`.
    pub error: RejectionKind,
    /// The bundle that rejected the ticket.
    pub policy: PolicyRef,
    /// The conditions evaluated before the failure (evaluation errors only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// Whose fault a rejection is. In JSON, `kind` names the variant and the
/// variant's fields sit beside it.
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RejectionKind {
    /// The ticket does not fit the bundle's ticket schema.
    InvalidTicket {
        /// Every problem found with the ticket, not only the first.
        problems: Vec<InputProblem>,
    },
    /// An expression failed at run time: the bundle has a bug for this ticket.
    Evaluation(Box<EvaluationError>),
}

/// What was being evaluated when evaluation failed; written in JSON as
/// `rule`, `path_step`, `path`, `condition` or `constraint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A ticket constraint's check.
    Constraint,
    /// A named condition a guard needed.
    Condition,
    /// A boundary rule's condition, or the choice of its action.
    Rule,
    /// A path step's condition.
    PathStep,
    /// A path none of whose steps matched, with no fallback.
    Path,
}

impl Stage {
    /// The stage as the JSON contract writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Constraint => "constraint",
            Stage::Condition => "condition",
            Stage::Rule => "rule",
            Stage::PathStep => "path_step",
            Stage::Path => "path",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where and why evaluation failed for a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationError {
    /// What was being evaluated.
    pub stage: Stage,
    /// The id of what failed at that stage: the rule, path step, path,
    /// condition name or constraint.
    pub id: Arc<str>,
    /// The boundary rule being evaluated when the failure happened, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    /// The expression that failed, as written; `(none)` when no rule or path
    /// step matched, and the field's path when no action is given for its value.
    pub expression: Arc<str>,
    /// Where the expression is written: `file:line:col`; empty when the
    /// failure is not an expression's.
    pub location: String,
    /// What went wrong, as rhai or the engine reports it.
    pub cause: String,
}

/// For people: one line a problem. What may come from the ticket (field
/// names, values, messages quoting them, a failure's cause) is written
/// [`printable`], so no control character in a ticket reaches a terminal as
/// itself; the policy's own text is written as it is.
impl Rejection {
    /// Why there is no decision, in one line: `invalid ticket: field:
    /// problem; …` or `evaluation error in stage `id`: cause`.
    pub fn reason(&self) -> String {
        match &self.error {
            RejectionKind::InvalidTicket { problems } => {
                let each: Vec<String> = problems
                    .iter()
                    .map(|p| match p.field.is_empty() {
                        true => p.message.clone(),
                        false => format!("{}: {}", p.field, p.message),
                    })
                    .collect();
                format!("invalid ticket: {}", each.join("; "))
            }
            RejectionKind::Evaluation(e) => {
                format!("evaluation error in {} `{}`: {}", e.stage, e.id, e.cause)
            }
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectionKind::InvalidTicket { problems } => {
                write!(f, "invalid ticket:")?;
                for p in problems {
                    let field = if p.field.is_empty() {
                        "(ticket)"
                    } else {
                        &p.field
                    };
                    write!(
                        f,
                        "\n  {}: {}; expected {}, found {}",
                        printable(field),
                        printable(&p.message),
                        printable(&p.expected),
                        printable(&p.found)
                    )?;
                }
                Ok(())
            }
            RejectionKind::Evaluation(e) => write!(
                f,
                "evaluation error in {} `{}` at {}: {}\n  expression: {}",
                e.stage,
                e.id,
                e.location,
                printable(&e.cause),
                e.expression
            ),
        }
    }
}

impl Rejection {
    /// The rejection of an input that is not a ticket at all (not JSON, say):
    /// one problem about the whole input.
    pub fn unreadable(
        policy: &PolicyRef,
        expected: impl Into<String>,
        found: impl Into<String>,
        message: impl Into<String>,
    ) -> Rejection {
        Rejection {
            ticket_id: None,
            error: RejectionKind::InvalidTicket {
                problems: vec![InputProblem {
                    field: String::new(),
                    expected: expected.into(),
                    found: found.into(),
                    message: message.into(),
                }],
            },
            policy: policy.clone(),
            trace: Vec::new(),
        }
    }

    /// Whether the ticket is at fault (`invalid_ticket`) rather than the bundle (`evaluation`).
    pub fn is_invalid_ticket(&self) -> bool {
        matches!(self.error, RejectionKind::InvalidTicket { .. })
    }
}
