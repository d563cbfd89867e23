//! What a decision comes to, for comparing two of them: the outcome and
//! vehicle (a transition table's rows), the rule, the path step and the
//! action. Two results "differ" when any of these do.

use serde::Serialize;

use triage_engine::{Decision, Rejection, RejectionKind};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Verdict {
    /// `outcome` or `outcome via vehicle`; `invalid ticket`; `evaluation error`.
    pub label: String,
    /// The deciding rule, or the failing expression's id for an evaluation error.
    pub rule: String,
    pub step: String,
    pub action: String,
}

impl Verdict {
    pub fn of(result: Result<&Decision, &Rejection>) -> Verdict {
        match result {
            Ok(d) => Verdict {
                label: match &d.vehicle {
                    Some(vehicle) => format!("{} via {vehicle}", d.outcome),
                    None => d.outcome.to_string(),
                },
                rule: d.rule.to_string(),
                step: d.path_step.as_deref().unwrap_or_default().to_owned(),
                action: d.action.to_string(),
            },
            Err(r) => match &r.error {
                RejectionKind::InvalidTicket { .. } => Verdict {
                    label: "invalid ticket".to_owned(),
                    rule: "-".to_owned(),
                    step: String::new(),
                    action: String::new(),
                },
                RejectionKind::Evaluation(e) => Verdict {
                    label: "evaluation error".to_owned(),
                    rule: e.rule.as_deref().unwrap_or(&e.id).to_owned(),
                    step: String::new(),
                    action: String::new(),
                },
            },
        }
    }
}
