//! Everything a bundle declares, in one serialisable view: for `/v1/policy`,
//! for generators of test tickets, for JSON Schema, and for people.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::model::decision::PolicyRef;
use crate::model::{ActionSel, Compiled, Described, PathDef, Rule, StepDef};
use crate::schema::FieldType;

/// Everything a bundle declares, as `Bundle::catalog` returns it: ids,
/// titles, and each expression as written and where.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// Which bundle this is: its name, version and digest.
    pub policy: PolicyRef,
    /// The manifest's description; absent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The ticket schema every ticket is checked against.
    pub ticket: TicketInfo,
    /// The named sets of strings, in declaration order.
    pub sets: Vec<SetInfo>,
    /// The named conditions, in declaration order.
    pub conditions: Vec<ConditionInfo>,
    /// The declared requester roles, in declaration order.
    pub roles: Vec<Described>,
    /// The declared actions and the roles that may take each.
    pub actions: Vec<ActionInfo>,
    /// The declared outcomes.
    pub outcomes: Vec<OutcomeInfo>,
    /// The declared support vehicles, with their fee and coverage.
    pub vehicles: Vec<Described>,
    /// The boundary rules, in evaluation order: the first that matches decides.
    pub rules: Vec<RuleInfo>,
    /// The escalation paths, with their steps and fallbacks.
    pub paths: Vec<PathInfo>,
}

/// The ticket schema: every field, the two that identify the ticket and its
/// requester, and the cross-field constraints.
#[derive(Debug, Clone, Serialize)]
pub struct TicketInfo {
    /// The dotted path of the field that holds the ticket id (a required string).
    pub id_field: Arc<str>,
    /// The dotted path of the field that holds the requester's role (a required `role` field).
    pub role_field: Arc<str>,
    /// Every declared field, in declaration order.
    pub fields: Vec<FieldInfo>,
    /// The cross-field constraints, in the order they are checked.
    pub constraints: Vec<ConstraintInfo>,
}

/// A cross-field check every ticket must pass.
#[derive(Debug, Clone, Serialize)]
pub struct ConstraintInfo {
    /// The constraint's id (what an evaluation error at stage `constraint` names).
    pub id: Arc<str>,
    /// The expression a ticket must make true, as written.
    pub check: Arc<str>,
}

/// A ticket field: its dotted path, type and, for enums and lists, the values.
#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    /// The field's dotted path in the ticket, such as `customer.id`.
    pub path: Arc<str>,
    /// `string`, `bool`, `integer`, `timestamp`, `enum` or `list`.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The values an `enum` field may take (the role ids, for a `role` field) or a
    /// `list` field's items may be; absent for other types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Arc<str>>>,
    /// Whether every ticket must carry the field (a required field has no default).
    pub required: bool,
    /// The value used when an optional field is absent or `null`; absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What the field means, as the bundle describes it; absent when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaced by a salted hash in decision logs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mask: bool,
}

/// A named set of strings, for `in` tests in expressions and for the values
/// of enum and list fields (`values_from`).
#[derive(Debug, Clone, Serialize)]
pub struct SetInfo {
    /// The set's name, as expressions and `values_from` use it.
    pub id: Arc<str>,
    /// The members, in the order written.
    pub members: Vec<Arc<str>>,
}

/// A named condition: an expression that rules, steps, constraints and other
/// conditions refer to by name.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionInfo {
    /// The condition's name.
    pub id: Arc<str>,
    /// Its expression, as written.
    pub when: Arc<str>,
    /// The ticket fields its expression reads by name (not through other
    /// named conditions), sorted.
    pub reads: Vec<Arc<str>>,
}

/// An action a decision can name, and the roles that may take it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionInfo {
    /// Its id, title and description (inlined into this object in JSON).
    #[serde(flatten)]
    pub info: Described,
    /// The roles that may take the action, sorted.
    pub roles: Vec<Arc<str>>,
}

/// An outcome a decision can name.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeInfo {
    /// Its id, title and description (inlined into this object in JSON).
    #[serde(flatten)]
    pub info: Described,
    /// Whether it is an escalation: a rule with this outcome must name an
    /// escalation path, and a rule with any other outcome must not.
    pub escalates: bool,
}

/// A boundary rule, as written.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    /// The rule's id, as a decision's `rule` and the trace name it.
    pub id: Arc<str>,
    /// Its condition, as written; `true` for a catch-all.
    pub when: Arc<str>,
    /// Where the rule's condition (or, for a catch-all, its id) is written.
    pub location: String,
    /// The outcome id it gives (its path's fallback may replace it).
    pub outcome: Arc<str>,
    /// The action id, or `by <field>` when the action depends on a field.
    pub action: String,
    /// The escalation path it runs; absent when it names none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Arc<str>>,
    /// The sentence a decision's `rationale` starts with when this rule decides.
    pub rationale: Arc<str>,
}

/// An escalation path: steps tried in order, the first eligible one choosing
/// the vehicle, and the fallback for when none is.
#[derive(Debug, Clone, Serialize)]
pub struct PathInfo {
    /// Its id, title and description (inlined into this object in JSON).
    #[serde(flatten)]
    pub info: Described,
    /// The steps, in the order they are tried.
    pub steps: Vec<StepInfo>,
    /// What applies when no step is eligible; absent when the path has none
    /// (it then has a step without a condition, which is always eligible).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackInfo>,
}

/// A step of an escalation path.
#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    /// The step's id within its path, as a decision's `path_step` names it.
    pub id: Arc<str>,
    /// The id of the vehicle the step chooses when it is eligible.
    pub vehicle: Arc<str>,
    /// Its condition, as written; `true` for a step without one.
    pub when: Arc<str>,
    /// Where the step's condition (or, for a step without one, its id) is written.
    pub location: String,
    /// The sentence added to a decision's `rationale` when this step chooses the vehicle.
    pub rationale: Arc<str>,
}

/// What an escalation path decides when none of its steps is eligible.
#[derive(Debug, Clone, Serialize)]
pub struct FallbackInfo {
    /// The outcome id that replaces the rule's.
    pub outcome: Arc<str>,
    /// The action id, or `by <field>` when the action depends on a field.
    pub action: String,
    /// The sentence added to a decision's `rationale` when the fallback applies.
    pub rationale: Arc<str>,
}

impl Catalog {
    pub(crate) fn of(b: &Compiled) -> Catalog {
        Catalog {
            policy: b.policy.clone(),
            description: b.description.clone(),
            ticket: ticket_info(b),
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
                    reads: {
                        let fields = &b.schema.fields;
                        let mut reads: Vec<Arc<str>> = c
                            .expr
                            .reads
                            .iter()
                            .map(|&i| fields[i].path.clone())
                            .collect();
                        reads.sort_unstable();
                        reads
                    },
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
            rules: b.rules.iter().map(|r| rule_info(b, r)).collect(),
            paths: b.paths.iter().map(|p| path_info(b, p)).collect(),
        }
    }
}

fn ticket_info(b: &Compiled) -> TicketInfo {
    TicketInfo {
        id_field: b.schema.fields[b.schema.id_field].path.clone(),
        role_field: b.schema.fields[b.schema.role_field].path.clone(),
        fields: b
            .schema
            .fields
            .iter()
            .map(|f| FieldInfo {
                path: f.path.clone(),
                kind: f.kind.field_type(),
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
    }
}

/// How an action is named: its id, or `by <field>` when a field's value picks it.
fn action_name(b: &Compiled, sel: &ActionSel) -> String {
    match sel {
        ActionSel::Fixed(i) => b.actions[*i].id.to_string(),
        ActionSel::ByField { field, .. } => format!("by {}", b.schema.fields[*field].path),
    }
}

fn rule_info(b: &Compiled, r: &Rule) -> RuleInfo {
    RuleInfo {
        id: r.id.clone(),
        when: r.guard.expr.source.clone(),
        location: r.guard.expr.loc.to_string(),
        outcome: b.outcomes[r.outcome].id.clone(),
        action: action_name(b, &r.action),
        path: r.path.map(|p| b.paths[p].id.clone()),
        rationale: r.rationale.clone(),
    }
}

fn path_info(b: &Compiled, p: &PathDef) -> PathInfo {
    let step = |s: &StepDef| StepInfo {
        id: s.id.clone(),
        vehicle: b.vehicles[s.vehicle].id.clone(),
        when: s.guard.expr.source.clone(),
        location: s.guard.expr.loc.to_string(),
        rationale: s.rationale.clone(),
    };
    PathInfo {
        info: p.info.clone(),
        steps: p.steps.iter().map(step).collect(),
        fallback: p.fallback.as_ref().map(|f| FallbackInfo {
            outcome: b.outcomes[f.outcome].id.clone(),
            action: action_name(b, &f.action),
            rationale: f.rationale.clone(),
        }),
    }
}
