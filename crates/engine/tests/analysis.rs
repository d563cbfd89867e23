//! The exact analysis: proofs on the reference pack, agreement with
//! enumeration, and witnesses the engine decides as stated.

use crate::common::{ONE_RULE_CHANGE, edited, reference};

#[test]
fn the_reference_pack_is_proven_total_reachable_and_free_of_errors() {
    let analysis = reference().analyse();
    println!("{}", serde_json::to_string_pretty(&analysis).unwrap());
    assert!(analysis.proven, "{:?}", analysis.opaque);
    assert!(analysis.findings.is_empty(), "{:#?}", analysis.findings);
}

#[test]
fn a_plan_between_a_bundle_and_itself_is_empty() {
    let plan = reference().plan(&reference(), None);
    assert!(plan.proven, "{:?}", plan.not_proven);
    assert!(plan.changes.is_empty());
}

#[test]
fn a_plan_names_exactly_the_tickets_a_one_rule_change_moves() {
    let (file, from, to) = ONE_RULE_CHANGE;
    let head = edited(file, from, to).unwrap();
    let plan = reference().plan(&head, None);
    assert!(plan.proven, "{:?}", plan.not_proven);
    assert_eq!(plan.changes.len(), 1, "{plan:#?}");
    let change = &plan.changes[0];
    assert_eq!(
        change.class,
        "service = marketplace and category = technical"
    );
    assert_eq!(change.before.outcome.as_deref(), Some("contact_publisher"));
    assert_eq!(change.after.outcome.as_deref(), Some("diagnose_first"));
    assert_eq!(change.before.rule.as_deref(), Some("marketplace_publisher"));
    // The witness is decided as stated by both sides.
    assert_eq!(
        &*reference().decide(&change.witness).unwrap().outcome,
        "contact_publisher"
    );
    assert_eq!(
        &*head.decide(&change.witness).unwrap().outcome,
        "diagnose_first"
    );
    // The same version, yet decisions change.
    assert!(plan.version_unchanged);
}

#[test]
fn the_table_covers_every_rule_step_and_fallback_and_every_passing_ticket_once() {
    let bundle = reference();
    let table = bundle.table();
    assert!(table.proven);
    let catalog = bundle.catalog();
    for rule in &catalog.rules {
        assert!(
            table.rows.iter().any(|r| r.rule == rule.id),
            "no row for `{}`",
            rule.id
        );
    }
    for path in &catalog.paths {
        for step in &path.steps {
            assert!(
                table
                    .rows
                    .iter()
                    .any(|r| r.path_step.as_deref() == Some(&*step.id)),
                "no row for step `{}`",
                step.id
            );
        }
    }
    for row in &table.rows {
        assert_eq!(row.more, 0);
        for class in &row.classes {
            let decision = bundle.decide(&class.witness).unwrap();
            assert_eq!(decision.rule, row.rule, "{}", class.class);
            assert_eq!(decision.action, row.action, "{}", class.class);
        }
    }
    // Rows are disjoint and, with the tickets constraints refuse, cover all.
    let shares: f64 = table.rows.iter().map(|r| r.share).sum();
    let refused = refused_share(&bundle);
    assert!(
        (shares + refused - 1.0).abs() < 1e-9,
        "{shares} + {refused}"
    );
}

/// The share of schema-valid tickets the constraints refuse, by enumeration.
fn refused_share(bundle: &triage_engine::Bundle) -> f64 {
    let e = bundle.explore(triage_engine::ExploreOptions::default());
    assert_eq!(e.mode, triage_engine::Mode::Exhaustive);
    e.invalid as f64 / e.tickets as f64
}
