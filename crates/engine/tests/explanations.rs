//! What a trace step says beyond the values read: which of them the schema
//! defaulted, the named conditions' own values, and the operand of a
//! top-level `&&` or `||` that decided; the same whether the native tree or
//! rhai ran the condition.

use serde_json::json;

use crate::common::{edited, reference, ticket, with};
use triage_engine::{Decision, TraceStep};

fn step<'d>(decision: &'d Decision, id: &str) -> &'d TraceStep {
    decision.trace.iter().find(|t| &*t.id == id).unwrap()
}

#[test]
fn a_value_the_ticket_left_out_is_marked_defaulted_and_a_sent_one_is_not() {
    let bundle = reference();
    // `ticket()` sends no `service_health`: its status is the schema's default.
    let decision = bundle.decide(&ticket()).unwrap();
    let incident = step(&decision, "known_service_incident");
    assert_eq!(
        incident.reads.get("service_health.status"),
        Some(&json!("healthy"))
    );
    assert_eq!(&*incident.defaulted, &["service_health.status".into()]);
    let json = serde_json::to_value(incident).unwrap();
    assert_eq!(json["defaulted"], json!(["service_health.status"]));

    // The same value, sent, is the ticket's own.
    let sent = with(ticket(), &[("service_health.status", json!("healthy"))]);
    let decision = bundle.decide(&sent).unwrap();
    let incident = step(&decision, "known_service_incident");
    assert!(incident.defaulted.is_empty());
    let json = serde_json::to_value(incident).unwrap();
    assert!(json.get("defaulted").is_none(), "{json}");
}

#[test]
fn a_false_conjunct_and_the_named_conditions_values_are_recorded() {
    let ticket = with(ticket(), &[("issue.severity", json!("B"))]);
    let decision = reference().decide(&ticket).unwrap();
    let premier = step(&decision, "premier_for_critical");
    assert_eq!(premier.decided_by.as_deref(), Some("critical"));
    assert_eq!(premier.conditions.get("critical"), Some(false));
    assert_eq!(premier.conditions.get("has_premier"), Some(true));
    let json = serde_json::to_value(premier).unwrap();
    assert_eq!(
        json["conditions"],
        json!({"critical": false, "has_premier": true})
    );
    assert_eq!(json["decided_by"], "critical");
    // The rule before it was false on its second conjunct.
    let rule = step(&decision, "marketplace_publisher");
    assert_eq!(
        rule.decided_by.as_deref(),
        Some("service == \"marketplace\"")
    );
    // The JSON reads back to the same step.
    let back: TraceStep = serde_json::from_value(json).unwrap();
    assert_eq!(&back, premier);
}

#[test]
fn the_true_disjunct_decides_and_rhai_records_the_same_as_the_native_tree() {
    let bundle = edited(
        "boundaries.yaml",
        "when: technical && service == \"marketplace\"",
        "when: service == \"marketplace\" || (technical && service == \"azure\") // either",
    )
    .unwrap();
    let decision = bundle.decide(&ticket()).unwrap();
    let rule = step(&decision, "marketplace_publisher");
    assert_eq!(
        rule.decided_by.as_deref(),
        Some("(technical && service == \"azure\") // either")
    );
    assert_eq!(bundle.interpreted().decide(&ticket()).unwrap(), decision);

    // Nothing decided alone when every disjunct was false.
    let other = with(ticket(), &[("service", json!("office365"))]);
    let decision = bundle.decide(&other).unwrap();
    assert_eq!(step(&decision, "marketplace_publisher").decided_by, None);
    assert_eq!(bundle.interpreted().decide(&other).unwrap(), decision);
}
