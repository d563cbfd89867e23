//! Everything a bundle declares, in one serialisable view: for `/v1/policy`,
//! for generators of test tickets, for JSON Schema, and for people.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::model::{ActionSel, Compiled, Described};
use crate::model::decision::PolicyRef;

#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub policy: PolicyRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub ticket: TicketInfo,
    pub sets: Vec<SetInfo>,
    pub conditions: Vec<ConditionInfo>,
    pub roles: Vec<Described>,
    pub actions: Vec<ActionInfo>,
    pub outcomes: Vec<OutcomeInfo>,
    pub vehicles: Vec<Described>,
    pub rules: Vec<RuleInfo>,
    pub paths: Vec<PathInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketInfo {
    pub id_field: Arc<str>,
    pub role_field: Arc<str>,
    pub fields: Vec<FieldInfo>,
    pub constraints: Vec<ConstraintInfo>,
}

/// A cross-field check every ticket must pass.
#[derive(Debug, Clone, Serialize)]
pub struct ConstraintInfo {
    pub id: Arc<str>,
    pub check: Arc<str>,
}

/// A ticket field: its dotted path, type and, for enums and lists, the values.
#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    pub path: Arc<str>,
    /// `string`, `bool`, `integer`, `timestamp`, `enum` or `list`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Arc<str>>>,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaced by a salted hash in decision logs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mask: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetInfo {
    pub id: Arc<str>,
    pub members: Vec<Arc<str>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConditionInfo {
    pub id: Arc<str>,
    pub when: Arc<str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionInfo {
    #[serde(flatten)]
    pub info: Described,
    pub roles: Vec<Arc<str>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeInfo {
    #[serde(flatten)]
    pub info: Described,
    pub escalates: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: Arc<str>,
    pub when: Arc<str>,
    /// Where the rule's condition (or, for a catch-all, its id) is written.
    pub location: String,
    pub outcome: Arc<str>,
    /// The action id, or `by <field>` when the action depends on a field.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Arc<str>>,
    pub rationale: Arc<str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathInfo {
    #[serde(flatten)]
    pub info: Described,
    pub steps: Vec<StepInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    pub id: Arc<str>,
    pub vehicle: Arc<str>,
    pub when: Arc<str>,
    pub location: String,
    pub rationale: Arc<str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FallbackInfo {
    pub outcome: Arc<str>,
    pub action: String,
    pub rationale: Arc<str>,
}

impl Catalog {
    pub(crate) fn of(b: &Compiled) -> Catalog {
        let action = |sel: &ActionSel| match sel {
            ActionSel::Fixed(i) => b.actions[*i].id.to_string(),
            ActionSel::ByField { field, .. } => format!("by {}", b.schema.fields[*field].path),
        };
        Catalog {
            policy: b.policy.clone(),
            description: b.description.clone(),
            ticket: TicketInfo {
                id_field: b.schema.fields[b.schema.id_field].path.clone(),
                role_field: b.schema.fields[b.schema.role_field].path.clone(),
                fields: b
                    .schema
                    .fields
                    .iter()
                    .map(|f| FieldInfo {
                        path: f.path.clone(),
                        kind: f.kind.name(),
                        values: f.kind.values().map(<[_]>::to_vec),
                        required: f.required,
                        default: f.default.clone(),
                        description: f.description.clone(),
                        mask: f.mask,
                    })
                    .collect(),
                constraints: b
                    .constraints
                    .iter()
                    .map(|c| ConstraintInfo {
                        id: c.id.clone(),
                        check: c.guard.expr.source.clone(),
                    })
                    .collect(),
            },
            sets: b
                .sets
                .iter()
                .map(|(id, members)| SetInfo {
                    id: id.clone(),
                    members: members.clone(),
                })
                .collect(),
            conditions: b
                .conditions
                .iter()
                .map(|c| ConditionInfo {
                    id: c.name.clone(),
                    when: c.expr.source.clone(),
                })
                .collect(),
            roles: b.roles.clone(),
            actions: b
                .actions
                .iter()
                .map(|a| ActionInfo {
                    info: a.info.clone(),
                    roles: a.roles.clone(),
                })
                .collect(),
            outcomes: b
                .outcomes
                .iter()
                .map(|o| OutcomeInfo {
                    info: o.info.clone(),
                    escalates: o.escalates,
                })
                .collect(),
            vehicles: b.vehicles.clone(),
            rules: b
                .rules
                .iter()
                .map(|r| RuleInfo {
                    id: r.id.clone(),
                    when: r.guard.expr.source.clone(),
                    location: r.guard.expr.loc.to_string(),
                    outcome: b.outcomes[r.outcome].id.clone(),
                    action: action(&r.action),
                    path: r.path.map(|p| b.paths[p].id.clone()),
                    rationale: r.rationale.clone(),
                })
                .collect(),
            paths: b
                .paths
                .iter()
                .map(|p| PathInfo {
                    info: p.info.clone(),
                    steps: p
                        .steps
                        .iter()
                        .map(|s| StepInfo {
                            id: s.id.clone(),
                            vehicle: b.vehicles[s.vehicle].id.clone(),
                            when: s.guard.expr.source.clone(),
                            location: s.guard.expr.loc.to_string(),
                            rationale: s.rationale.clone(),
                        })
                        .collect(),
                    fallback: p.fallback.as_ref().map(|f| FallbackInfo {
                        outcome: b.outcomes[f.outcome].id.clone(),
                        action: action(&f.action),
                        rationale: f.rationale.clone(),
                    }),
                })
                .collect(),
        }
    }
}
