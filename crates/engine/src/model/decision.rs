//! Record: the decision for a ticket, or the reason there is none. These
//! structs are the JSON contract other services depend on; their field names
//! and shapes change only with a new contract version.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::schema::InputProblem;

/// What must happen with a ticket, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub ticket_id: Arc<str>,
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
    pub requester: Requester,
    /// The roles that may take `action`, sorted.
    pub allowed_roles: Vec<Arc<str>>,
    /// The deciding rule's rationale, then the path step's or fallback's.
    pub rationale: Vec<Arc<str>>,
    pub policy: PolicyRef,
    pub trace: Vec<TraceStep>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub role: Arc<str>,
    /// Whether `role` may take the decision's action.
    pub allowed: bool,
}

/// Which bundle decided: its name, human version and content digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyRef {
    pub name: Arc<str>,
    pub version: Arc<str>,
    /// `sha256:` and the hex digest of the bundle's files, in manifest order.
    pub digest: Arc<str>,
}

/// One condition evaluated on the way to a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub kind: StepKind,
    /// The rule id, or the step id within `path`.
    pub id: Arc<str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Arc<str>>,
    pub result: StepResult,
    /// The ticket fields the condition refers to (directly or through named
    /// conditions) and their values in this ticket; `null` where absent.
    pub reads: Reads,
}

/// Field paths and values, sorted by path; a JSON object on the wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reads(pub Vec<(Arc<str>, Value)>);

impl Reads {
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.0.iter().find(|(p, _)| &**p == path).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Value)> {
        self.0.iter().map(|(p, v)| (p, v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Reads {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(p, v)| (p, v)))
    }
}

impl<'de> Deserialize<'de> for Reads {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<Arc<str>, Value>::deserialize(deserializer)?;
        Ok(Reads(map.into_iter().collect()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Rule,
    PathStep,
    Fallback,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Matched,
    NotMatched,
    Error,
}

/// Why a ticket got no decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// The ticket's id, when it could be read.
    pub ticket_id: Option<Arc<str>>,
    pub error: RejectionKind,
    pub policy: PolicyRef,
    /// The conditions evaluated before the failure (evaluation errors only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RejectionKind {
    /// The ticket does not fit the bundle's ticket schema.
    InvalidTicket { problems: Vec<InputProblem> },
    /// An expression failed at run time: the bundle has a bug for this ticket.
    Evaluation(Box<EvaluationError>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationError {
    /// `rule`, `path_step`, `path` (no step matched and there is no
    /// fallback), `condition` or `constraint`.
    pub stage: Arc<str>,
    pub id: Arc<str>,
    /// The boundary rule being evaluated when the failure happened, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    pub expression: Arc<str>,
    /// Where the expression is written: `file:line:col`.
    pub location: String,
    pub cause: String,
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
                        "\n  {field}: {}; expected {}, found {}",
                        p.message, p.expected, p.found
                    )?;
                }
                Ok(())
            }
            RejectionKind::Evaluation(e) => write!(
                f,
                "evaluation error in {} `{}` at {}: {}\n  expression: {}",
                e.stage, e.id, e.location, e.cause, e.expression
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

    pub fn is_invalid_ticket(&self) -> bool {
        matches!(self.error, RejectionKind::InvalidTicket { .. })
    }
}
