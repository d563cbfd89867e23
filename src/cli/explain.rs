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
                "  Its condition `{}` holds{}{}.\n",
                rule.when.trim(),
                because(step),
                with(step)
            );
            s += &named(step, catalog, "    ");
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
                    "  step `{}` chose {}: `{when}` holds{}{}.\n",
                    step.id,
                    decision.vehicle.as_deref().unwrap_or("no vehicle"),
                    because(step),
                    with(step),
                );
                s += &named(step, catalog, "    ");
                s += &format!("    \"{}\"\n", decision.rationale.get(1).map_or("", |r| r));
            }
            StepResult::NotMatched => {
                s += &format!(
                    "  step `{}` not eligible: `{when}` is false{}{}.\n",
                    step.id,
                    because(step),
                    with(step)
                );
                s += &named(step, catalog, "    ");
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
            "  {}. `{}`: `{when}` is false{}{}.\n",
            i + 1,
            step.id,
            because(step),
            with(step)
        );
        s += &named(step, catalog, "     ");
    }
    s
}

/// " because `part` is false" for a condition whose top-level `&&` or `||`
/// was decided by one operand: the first false one of a `&&`, the first true
/// one of a `||`.
fn because(step: &TraceStep) -> String {
    match &step.decided_by {
        Some(part) => {
            let held = step.result == StepResult::Matched;
            format!(" because `{}` is {held}", part.trim())
        }
        None => String::new(),
    }
}

/// ", with a = x, b = y (default)" for the fields a condition read, the
/// values written printable (they are the ticket's), those the ticket did not
/// send marked as the schema's default.
fn with(step: &TraceStep) -> String {
    if step.reads.is_empty() {
        return String::new();
    }
    let reads: Vec<String> = step.reads.iter().map(|(k, v)| read(step, k, v)).collect();
    format!(", with {}", reads.join(", "))
}

/// One field read: `a = x`, `a = x (default)` or `a absent`.
fn read(step: &TraceStep, path: &str, value: &Value) -> String {
    let defaulted = match step.defaulted.iter().any(|d| &**d == path) {
        true => " (default)",
        false => "",
    };
    match value {
        Value::Null => format!("{} absent", printable(path)),
        other => format!(
            "{} = {}{defaulted}",
            printable(path),
            super::shared::show(other)
        ),
    }
}

/// The named conditions a condition uses, one level down: a line each with
/// its value, its own expression and the fields that expression reads.
fn named(step: &TraceStep, catalog: &Catalog, indent: &str) -> String {
    let mut s = String::new();
    for (name, held) in step.conditions.iter() {
        let Some(condition) = catalog.conditions.iter().find(|c| c.id == *name) else {
            continue;
        };
        let reads: Vec<String> = condition
            .reads
            .iter()
            .filter_map(|path| step.reads.get(path).map(|v| read(step, path, v)))
            .collect();
        let with = match reads.is_empty() {
            true => String::new(),
            false => format!(", with {}", reads.join(", ")),
        };
        s += &format!(
            "{indent}where `{name}` is {held}: `{}`{with}\n",
            condition.when.trim()
        );
    }
    s
}
