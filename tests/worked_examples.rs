//! The worked examples of the reference policy (section 5), row by row.

use serde_json::json;

use crate::common::{reference, ticket, with};

struct Row {
    ticket: serde_json::Value,
    outcome: &'static str,
    vehicle: Option<&'static str>,
    action: &'static str,
    allowed: bool,
}

fn rows() -> Vec<Row> {
    let sev_a = with(
        ticket(),
        &[
            ("issue.type", json!("product_bug")),
            ("issue.severity", json!("A")),
            ("customer.admin_relationship", json!("gdap")),
            ("partner.support_plans", json!(["premier", "advanced"])),
            ("partner.competency", json!("gold")),
            ("requester.role", json!("helpdesk_agent")),
        ],
    );
    vec![
        Row {
            ticket: sev_a.clone(),
            outcome: "escalate",
            vehicle: Some("premier_support_for_partners"),
            action: "file_service_request",
            allowed: true,
        },
        Row {
            ticket: with(sev_a, &[("issue.severity", json!("B"))]),
            outcome: "escalate",
            vehicle: Some("signature_cloud_support"),
            action: "file_service_request",
            allowed: true,
        },
        Row {
            ticket: with(
                ticket(),
                &[
                    ("service", json!("dynamics365")),
                    ("issue.severity", json!("B")),
                    ("customer.admin_relationship", json!("dap")),
                    ("partner.support_plans", json!([])),
                    ("partner.competency", json!("gold")),
                    ("requester.role", json!("admin_agent")),
                ],
            ),
            outcome: "no_eligible_vehicle",
            vehicle: None,
            action: "resolve_technical",
            allowed: true,
        },
        Row {
            ticket: with(
                ticket(),
                &[
                    ("service", json!("office365")),
                    ("issue.type", json!("password_reset")),
                    ("requester.role", json!("user_management_admin")),
                    ("diagnosed", json!(null)),
                ],
            ),
            outcome: "partner_resolves",
            vehicle: None,
            action: "resolve_technical",
            allowed: true,
        },
        Row {
            ticket: with(
                ticket(),
                &[
                    ("category", json!("commercial")),
                    ("issue.type", json!("invoice_dispute")),
                    ("requester.role", json!("admin_agent")),
                ],
            ),
            outcome: "escalate",
            vehicle: Some("commercial_support"),
            action: "file_service_request",
            allowed: true,
        },
        Row {
            ticket: with(
                ticket(),
                &[
                    ("service", json!("office365")),
                    ("category", json!("commercial")),
                    ("issue.type", json!("billing_question")),
                    ("requester.role", json!("admin_agent")),
                    ("diagnosed", json!(null)),
                ],
            ),
            outcome: "partner_resolves",
            vehicle: None,
            action: "resolve_commercial",
            allowed: false,
        },
        Row {
            ticket: with(
                ticket(),
                &[
                    ("issue.type", json!("service_unavailable")),
                    ("service_health.status", json!("incident")),
                    ("requester.role", json!("sales_agent")),
                ],
            ),
            outcome: "monitor_incident",
            vehicle: None,
            action: "view_service_incidents",
            allowed: false,
        },
        Row {
            ticket: with(
                ticket(),
                &[
                    ("service", json!("office365")),
                    ("customer.admin_relationship", json!("none")),
                    ("requester.role", json!("helpdesk_agent")),
                ],
            ),
            outcome: "relationship_required",
            vehicle: None,
            action: "request_admin_relationship",
            allowed: false,
        },
    ]
}

#[test]
fn every_worked_example_decides_as_the_reference_policy_says() {
    let bundle = reference();
    for (index, row) in rows().into_iter().enumerate() {
        let decision = bundle
            .decide(&row.ticket)
            .unwrap_or_else(|e| panic!("row {}: {e}", index + 1));
        let got = (
            &*decision.outcome,
            decision.vehicle.as_deref(),
            &*decision.action,
            decision.requester.allowed,
        );
        assert_eq!(
            got,
            (row.outcome, row.vehicle, row.action, row.allowed),
            "row {}",
            index + 1
        );
    }
}

#[test]
fn restored_service_health_is_decided_as_healthy() {
    let bundle = reference();
    let restored = bundle
        .decide(&with(
            ticket(),
            &[("service_health.status", json!("restored"))],
        ))
        .unwrap();
    let healthy = bundle.decide(&ticket()).unwrap();
    assert_eq!(restored.rule, healthy.rule);
    assert_eq!(restored.vehicle, healthy.vehicle);
}

#[test]
fn advisory_health_is_a_known_incident() {
    let decision = reference()
        .decide(&with(
            ticket(),
            &[("service_health.status", json!("advisory"))],
        ))
        .unwrap();
    assert_eq!(&*decision.outcome, "monitor_incident");
}

#[test]
fn undiagnosed_commercial_handoff_is_diagnosed_with_the_commercial_action() {
    let decision = reference()
        .decide(&with(
            ticket(),
            &[
                ("category", json!("commercial")),
                ("issue.type", json!("pricing")),
                ("diagnosed", json!(false)),
            ],
        ))
        .unwrap();
    assert_eq!(
        (&*decision.outcome, &*decision.action),
        ("diagnose_first", "resolve_commercial")
    );
}

#[test]
fn technical_paths_follow_severity_and_plans() {
    let bundle = reference();
    let cases = [
        // severity, plans, competency, service, expected vehicle
        (
            "A",
            json!(["advanced"]),
            "gold",
            "azure",
            Some("advanced_support_for_partners"),
        ),
        (
            "A",
            json!([]),
            "silver",
            "azure",
            Some("signature_cloud_support"),
        ),
        ("A", json!([]), "gold", "dynamics365", None),
        (
            "B",
            json!(["premier", "advanced"]),
            "none",
            "azure",
            Some("advanced_support_for_partners"),
        ),
        (
            "C",
            json!(["premier"]),
            "none",
            "office365",
            Some("premier_support_for_partners"),
        ),
        (
            "C",
            json!(["premier"]),
            "gold",
            "dynamics365",
            Some("premier_support_for_partners"),
        ),
        ("B", json!([]), "none", "azure", None),
    ];
    for (severity, plans, competency, service, vehicle) in cases {
        let t = with(
            ticket(),
            &[
                ("issue.severity", json!(severity)),
                ("partner.support_plans", plans.clone()),
                ("partner.competency", json!(competency)),
                ("service", json!(service)),
            ],
        );
        let decision = bundle.decide(&t).unwrap();
        assert_eq!(
            decision.vehicle.as_deref(),
            vehicle,
            "{severity} {plans} {competency} {service}"
        );
        if vehicle.is_none() {
            assert_eq!(&*decision.outcome, "no_eligible_vehicle");
        }
    }
}

#[test]
fn an_issue_type_of_the_other_category_is_invalid_input_naming_both_fields() {
    let rejection = reference()
        .decide(&with(ticket(), &[("issue.type", json!("pricing"))]))
        .unwrap_err();
    let text = rejection.to_string();
    assert!(rejection.is_invalid_ticket(), "{text}");
    assert!(
        text.contains("issue.type") && text.contains("`technical`"),
        "{text}"
    );
}
