//! `--explain`: a decision told as an answer to an auditor: which rule
//! decided and why, what it read, and why each rule before it did not match.

use serde_json::Value;

use triage_engine::{Catalog, Decision, StepKind, StepResult, TraceStep, printable};

/// The explanation, in three parts: the deciding rule, the escalation path
/// (when the rule sent the ticket down one), and the rules tried before it.
pub fn explain(decision: &Decision, catalog: &Catalog) -> String {
    let mut s = deciding_rule(decision, catalog);
    if let Some(path) = &decision.path {
        s += &path_steps(decision, catalog, path);
    }
    s += &rules_before(decision, catalog);
    s
}

/// Which rule decided, where it is written, its rationale, and what made its
/// condition hold.
fn deciding_rule(decision: &Decision, catalog: &Catalog) -> String {
    let rule = catalog.rules.iter().find(|r| r.id == decision.rule);
    let deciding = decision
        .trace
        .iter()
        .find(|t| t.kind == StepKind::Rule && t.result == StepResult::Matched);
    let mut s = format!("\nWhy: rule `{}` decided", decision.rule);
    if let Some(rule) = rule {
        s += &format!(" ({})", rule.location);
    }
    s += &format!(
        ".\n  \"{}\"\n",
        decision.rationale.first().map_or("", |r| r)
    );
    match (rule, deciding) {
        (Some(rule), Some(step)) if &*rule.when != "true" => {
            s += &format!(
                "  Its condition `{}` holds{}.\n",
                rule.when.trim(),
                with(step)
            );
        }
        _ => {
            s += "  It has no condition: it is the catch-all for every ticket the rules above leave.\n"
        }
    }
    s
}

/// Each step of escalation path `path` in the order tried: the one that
/// chose the vehicle, those not eligible and why, or the fallback.
fn path_steps(decision: &Decision, catalog: &Catalog, path: &str) -> String {
    let step_of = |id: &str| {
        catalog
            .paths
            .iter()
            .find(|p| &*p.info.id == path)
            .and_then(|p| p.steps.iter().find(|st| &*st.id == id))
    };
    let steps = decision
        .trace
        .iter()
        .filter(|t| t.kind == StepKind::PathStep);
    let mut s = format!("\nEscalation path `{path}`:\n");
    for step in steps {
        let when = step_of(&step.id).map_or("", |st| st.when.trim());
        match step.result {
            StepResult::Matched => {
                s += &format!(
                    "  step `{}` chose {}: `{when}` holds{}.\n    \"{}\"\n",
                    step.id,
                    decision.vehicle.as_deref().unwrap_or("no vehicle"),
                    with(step),
                    decision.rationale.get(1).map_or("", |r| r)
                );
            }
            StepResult::NotMatched => {
                s += &format!(
                    "  step `{}` not eligible: `{when}` is false{}.\n",
                    step.id,
                    with(step)
                );
            }
            StepResult::Error => s += &format!("  step `{}` failed.\n", step.id),
        }
    }
    if decision.path_step.is_none() {
        s += &format!(
            "  No step was eligible, so the fallback applies: {}.\n    \"{}\"\n",
            decision.outcome,
            decision.rationale.get(1).map_or("", |r| r)
        );
    }
    s
}

/// The rules tried before the deciding one, and why each did not match.
fn rules_before(decision: &Decision, catalog: &Catalog) -> String {
    let before: Vec<&TraceStep> = decision
        .trace
        .iter()
        .filter(|t| t.kind == StepKind::Rule && t.result == StepResult::NotMatched)
        .collect();
    if before.is_empty() {
        return "\nNo rule was tried before it: it is the first.\n".to_owned();
    }
    let mut s = String::from("\nRules tried before it, and why each did not match:\n");
    for (i, step) in before.iter().enumerate() {
        let when = catalog
            .rules
            .iter()
            .find(|r| r.id == step.id)
            .map_or("", |r| r.when.trim());
        s += &format!(
            "  {}. `{}`: `{when}` is false{}.\n",
            i + 1,
            step.id,
            with(step)
        );
    }
    s
}

/// ", with a = x, b = y" for the fields a condition read, the values
/// written printable (they are the ticket's).
fn with(step: &TraceStep) -> String {
    if step.reads.is_empty() {
        return String::new();
    }
    let reads: Vec<String> = step
        .reads
        .iter()
        .map(|(k, v)| match v {
            Value::Null => format!("{} absent", printable(k)),
            other => format!("{} = {}", printable(k), super::shared::show(other)),
        })
        .collect();
    format!(", with {}", reads.join(", "))
}
