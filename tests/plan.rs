//! `triage plan`: the exact change between two bundles, for real edits of the
//! reference pack. Each edit's text and markdown output is pinned; every
//! witness is decided as stated by both bundles; counted tickets add up to
//! exactly the tickets the two bundles decide differently.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use triage_engine::{Bundle, RejectionKind};

use crate::common::{Edit, arg, cli, generated, jsonl, pack_edited, with};

/// `azure_indirect_reseller` moved above `not_yet_diagnosed`.
const AZURE_RULE: &str = "  - id: azure_indirect_reseller
    when: technical && service == \"azure\" && partner.program == \"indirect_reseller\"
    outcome: route_to_provider
    action: contact_provider
    rationale: Only the indirect provider of an Azure subscription can open Azure support requests.

";

/// A new step choosing Premier Support for a regional outage, before `signature`.
const NEW_STEP: Edit = (
    "paths.yaml",
    "      - id: signature\n",
    "      - id: premier_for_outage
        vehicle: premier_support_for_partners
        when: has_premier && issue.type == \"regional_outage\"
        rationale: A regional outage goes to Premier Support for Partners when the partner holds it.
      - id: signature\n",
);

/// A new field with a default, and a rule that reads it.
const NEW_FIELD: [Edit; 2] = [
    (
        "ticket.yaml",
        "    partner.support_plans:",
        "    partner.tier:
      type: enum
      values: [standard, strategic]
      default: standard
      description: Strategic partners escalate critical technical issues at once.
    partner.support_plans:",
    ),
    (
        "boundaries.yaml",
        "  - id: technical_baseline\n",
        "  - id: strategic_critical
    when: technical && partner.tier == \"strategic\" && issue.severity == \"A\"
    outcome: escalate
    path: technical
    action: file_service_request
    rationale: A strategic partner escalates a critical technical issue at once.

  - id: technical_baseline\n",
    ),
];

/// Critical Dynamics 365 product bugs go to the indirect provider, before the escalation rules.
const DYNAMICS_EXCEPTION: Edit = (
    "boundaries.yaml",
    "  - id: commercial_escalation\n",
    "  - id: dynamics365_critical_bug
    when: service == \"dynamics365\" && issue.type == \"product_bug\" && issue.severity == \"A\"
    outcome: route_to_provider
    action: contact_provider
    rationale: A critical Dynamics 365 product bug goes through the indirect provider's Dynamics escalation contract.

  - id: commercial_escalation\n",
);

/// The reference pack as `base`, and as `head` with `edits`, in a temporary directory.
struct Pair {
    _dir: tempfile::TempDir,
    root: PathBuf,
    base: PathBuf,
    head: PathBuf,
}

fn pair(edits: &[Edit]) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (base, head) = (root.join("base"), root.join("head"));
    pack_edited(&base, &[]);
    pack_edited(&head, edits);
    Pair {
        _dir: dir,
        root,
        base,
        head,
    }
}

fn plan(pair: &Pair, extra: &[&str]) -> (u8, String, String) {
    let mut args = vec!["plan", arg(&pair.base), arg(&pair.head)];
    args.extend(extra);
    cli(&args)
}

/// Pins the text and markdown outputs, digests filtered.
fn snapshots(name: &str, pair: &Pair) {
    for (format, suffix) in [("text", "text"), ("markdown", "markdown")] {
        let (code, out, err) = plan(pair, &["--format", format]);
        assert_eq!(code, 0, "{err}");
        insta::with_settings!({
            snapshot_suffix => suffix,
            filters => vec![(r"sha256:[0-9a-f]{64}", "[digest]")],
        }, {
            insta::assert_snapshot!(name, out);
        });
    }
}

/// A result as the plan states it: the decision's parts, or `rejected`.
fn stated(result: Result<triage_engine::Decision, triage_engine::Rejection>) -> Value {
    match result {
        Ok(d) => json!({
            "outcome": d.outcome,
            "vehicle": d.vehicle,
            "rule": d.rule,
            "path_step": match (&d.path, &d.path_step) {
                (Some(_), None) => Some("fallback".into()),
                (_, step) => step.clone(),
            },
            "action": d.action,
            "allowed_roles": d.allowed_roles,
        }),
        Err(r) => match r.error {
            RejectionKind::InvalidTicket { .. } => json!("rejected"),
            RejectionKind::Evaluation(e) => json!({ "error": e.id }),
        },
    }
}

/// A side of a change as `stated` writes it.
fn side(plan_side: &Value) -> Value {
    if plan_side["rejected"].is_string() {
        return json!("rejected");
    }
    json!({
        "outcome": plan_side["outcome"],
        "vehicle": plan_side["vehicle"],
        "rule": plan_side["rule"],
        "path_step": plan_side["path_step"],
        "action": plan_side["action"],
        "allowed_roles": plan_side["allowed_roles"],
    })
}

/// The plan as JSON.
fn plan_json(pair: &Pair, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend(extra);
    let (code, out, err) = plan(pair, &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Every witness is decided as stated by both bundles; the counted tickets
/// add up to exactly those the bundles decide differently; a plan from
/// either bundle to itself is empty. `tickets` are extra tickets to count
/// besides the witnesses themselves.
fn verify(pair: &Pair, tickets: Vec<Value>) -> Value {
    let (base, head) = (
        Bundle::load(&pair.base).unwrap(),
        Bundle::load(&pair.head).unwrap(),
    );
    let plan = plan_json(pair, &[]);
    assert_eq!(plan["proven"], true, "{plan:#}");
    let changes = plan["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    let mut witnesses = Vec::new();
    for change in changes {
        let witness = &change["witness"];
        assert!(witness["id"].is_string(), "a complete ticket: {witness}");
        assert_eq!(
            stated(base.decide(witness)),
            side(&change["before"]),
            "{change:#}"
        );
        assert_eq!(
            stated(head.decide(witness)),
            side(&change["after"]),
            "{change:#}"
        );
        assert_ne!(side(&change["before"]), side(&change["after"]));
        assert_eq!(change["tickets"], Value::Null);
        witnesses.push(witness.clone());
    }

    // Counted tickets: the witnesses (each in its class) and the given ones.
    let mut all = witnesses;
    all.extend(tickets);
    let file = pair.root.join("tickets.jsonl");
    std::fs::write(&file, jsonl(&all)).unwrap();
    let counted = plan_json(pair, &["--tickets", arg(&file)]);
    let differ = all
        .iter()
        .filter(|t| stated(base.decide(t)) != stated(head.decide(t)))
        .count() as u64;
    let per_class: Vec<u64> = counted["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tickets"].as_u64().unwrap())
        .collect();
    assert!(per_class.iter().all(|&n| n >= 1), "{per_class:?}");
    assert_eq!(per_class.iter().sum::<u64>(), differ);
    assert_eq!(counted["tickets"]["given"], all.len() as u64);
    assert_eq!(counted["tickets"]["changed"], differ);
    assert_eq!(counted["tickets"]["unplaced"], 0);
    assert_eq!(counted["proven"], true);

    // A bundle against itself changes nothing, and warns about nothing.
    for dir in [&pair.base, &pair.head] {
        let (code, out, err) = cli(&["plan", arg(dir), arg(dir), "--deny-warnings"]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(": 0 changed classes\nno ticket's decision changes\n"),
            "{out}"
        );
    }
    plan
}

#[test]
fn a_rule_moved_up() {
    let moved = format!("{AZURE_RULE}  - id: not_yet_diagnosed\n");
    let pair = pair(&[
        ("boundaries.yaml", AZURE_RULE, ""),
        ("boundaries.yaml", "  - id: not_yet_diagnosed\n", &moved),
    ]);
    snapshots("rule_moved_up", &pair);
    let plan = verify(&pair, generated(3000, 7));
    let change = &plan["changes"][0];
    assert_eq!(plan["changes"].as_array().unwrap().len(), 1);
    assert_eq!(change["before"]["rule"], "not_yet_diagnosed");
    assert_eq!(change["after"]["rule"], "azure_indirect_reseller");
    assert!(
        change["class"]
            .as_str()
            .unwrap()
            .contains("partner.program = indirect_reseller and diagnosed = false"),
        "{change}"
    );
}

#[test]
fn a_new_vehicle_step() {
    let pair = pair(&[NEW_STEP]);
    snapshots("new_vehicle_step", &pair);
    let plan = verify(&pair, generated(3000, 11));
    for change in plan["changes"].as_array().unwrap() {
        assert_eq!(change["after"]["path_step"], "premier_for_outage");
        assert!(
            change["class"]
                .as_str()
                .unwrap()
                .contains("issue.type = regional_outage")
        );
    }
}

#[test]
fn a_new_field_with_a_default() {
    let pair = pair(&NEW_FIELD);
    snapshots("new_field_with_default", &pair);
    // Tickets that set the new field (the base rejects them) and tickets that do not.
    let tickets: Vec<Value> = generated(3000, 13)
        .into_iter()
        .enumerate()
        .map(|(i, t)| match i % 3 {
            0 => with(t, &[("partner.tier", json!("strategic"))]),
            1 => with(t, &[("partner.tier", json!("standard"))]),
            _ => t,
        })
        .collect();
    let plan = verify(&pair, tickets);
    let changes = plan["changes"].as_array().unwrap();
    // The base rejects any ticket that sets the field, with the reason.
    assert!(
        changes
            .iter()
            .all(|c| c["before"]["rejected"] == "invalid ticket: partner.tier: unknown field")
    );
    // Tickets without the field keep their decision: the default applies.
    assert!(
        changes
            .iter()
            .all(|c| c["witness"]["partner"]["tier"].is_string())
    );
    assert!(
        changes
            .iter()
            .any(|c| c["after"]["rule"] == "strategic_critical")
    );
}

#[test]
fn a_dynamics_365_exception() {
    let pair = pair(&[DYNAMICS_EXCEPTION]);
    snapshots("dynamics_365_exception", &pair);
    let plan = verify(&pair, generated(3000, 17));
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{plan:#}");
    for change in changes {
        assert!(change["class"].as_str().unwrap().starts_with(
            "service = dynamics365 and category = technical and issue.type = product_bug and issue.severity = A and "
        ));
        assert_eq!(change["after"]["outcome"], "route_to_provider");
        assert_eq!(change["after"]["action"], "contact_provider");
    }
    // The JSON carries both sides' name, version and digest.
    for side in ["base", "head"] {
        assert_eq!(plan[side]["name"], "csp-support-triage");
        assert_eq!(plan[side]["version"], "2026.11.0");
        assert!(
            plan[side]["digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
    assert_ne!(plan["base"]["digest"], plan["head"]["digest"]);
    assert_eq!(plan["version_unchanged"], true);
}

/// The declared change of the Dynamics 365 exception, as a reviewer writes it.
fn declared(plan: &Value) -> String {
    let mut yaml = "changes:\n".to_owned();
    for change in plan["changes"].as_array().unwrap() {
        yaml += &format!(
            "  - when: \"{}\"\n    after: {{ outcome: route_to_provider, rule: dynamics365_critical_bug, action: contact_provider }}\n",
            change["class"].as_str().unwrap()
        );
    }
    yaml
}

#[test]
fn expect_holds_the_change_to_the_declared_one() {
    let pair = pair(&[DYNAMICS_EXCEPTION]);
    let plan = plan_json(&pair, &[]);
    let file = pair.root.join("expected.yaml");

    // As declared: every class, with the keys the reviewer cares about.
    let mut yaml = declared(&plan);
    yaml = yaml.replacen(
        "rule: dynamics365_critical_bug,",
        "rule: dynamics365_critical_bug, vehicle: null,",
        1,
    );
    yaml += "    before: { path_step: fallback, outcome: no_eligible_vehicle }\n";
    std::fs::write(&file, &yaml).unwrap();
    let (code, _, err) = plan_with(&pair, &file);
    assert_eq!(code, 0, "{err}\n{yaml}");
    assert_eq!(err, "the change is as declared: 3 changed classes\n");

    // One class left out, one after-key wrong, one change that does not happen.
    let classes: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    let yaml = format!(
        "changes:
  - when: \"{}\"
    after: {{ outcome: route_to_provider }}
  - when: \"{}\"
    after: {{ outcome: escalate }}
  - when: \"service = dynamics365 and issue.type = product_bug and issue.severity = A\"
    after: {{ outcome: route_to_provider }}
",
        classes[0], classes[1]
    );
    std::fs::write(&file, &yaml).unwrap();
    let (code, out, err) = plan_with(&pair, &file);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains(": 3 changed classes"),
        "the plan is printed: {out}"
    );
    assert!(
        err.contains(&format!("undeclared change: `{}`: escalate via advanced_support_for_partners (rule `technical_escalation`, step `advanced_for_critical`", classes[1])),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "undeclared change: `{}`: no_eligible_vehicle",
            classes[2]
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "declared change does not happen: when `{}`, after outcome `escalate`\n",
            classes[1]
        )),
        "{err}"
    );
    assert!(
        err.contains("declared change does not happen: when `service = dynamics365 and issue.type = product_bug and issue.severity = A`, after outcome `route_to_provider`\n"),
        "{err}"
    );
    assert!(
        !err.contains(&format!("`{}`: escalate via premier", classes[0])),
        "{err}"
    );
    assert_eq!(err.lines().count(), 4, "{err}");

    // A key the plan does not have is a mistake in the declaration.
    std::fs::write(
        &file,
        "changes:\n  - when: x\n    after: { outcom: escalate }\n",
    )
    .unwrap();
    let (code, _, err) = plan_with(&pair, &file);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: unknown key `outcom` in declared change 1 of `"),
        "{err}"
    );
}

fn plan_with(pair: &Pair, expected: &Path) -> (u8, String, String) {
    plan(pair, &["--expect", arg(expected)])
}

#[test]
fn deny_warnings_fails_when_decisions_change_and_the_version_does_not() {
    let pair = pair(&[DYNAMICS_EXCEPTION]);
    let (code, out, err) = plan(&pair, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with("warning: decisions change but the version did not: both are `2026.11.0`\n"),
        "{out}"
    );
    let (code, _, err) = plan(&pair, &["--deny-warnings"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: decisions change but the version did not: both are `2026.11.0` (--deny-warnings)\n"
    );
    let (_, md, _) = plan(&pair, &["--format", "markdown"]);
    assert!(
        md.contains("> **Warning:** decisions change but the version did not"),
        "{md}"
    );

    let bumped = self::pair(&[
        DYNAMICS_EXCEPTION,
        ("bundle.yaml", "version: 2026.11.0", "version: 2026.12.0"),
    ]);
    let (code, out, err) = plan(&bumped, &["--deny-warnings"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("csp-support-triage 2026.11.0 (sha256:"),
        "{out}"
    );
    assert!(
        out.contains(") -> csp-support-triage 2026.12.0 (sha256:"),
        "{out}"
    );
    assert!(!out.contains("warning"), "{out}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn an_invalid_bundle_on_either_side_exits_3_and_unreadable_tickets_exit_1() {
    let broken = pair(&[(
        "boundaries.yaml",
        "outcome: contact_publisher",
        "outcome: contact_publishr",
    )]);
    let (code, out, err) = plan(&broken, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(err.contains("unknown outcome `contact_publishr`"), "{err}");
    let (code, _, err) = cli(&["plan", arg(&broken.head), arg(&broken.base)]);
    assert_eq!(code, 3);
    assert!(err.contains("unknown outcome `contact_publishr`"), "{err}");

    let pair = pair(&[DYNAMICS_EXCEPTION]);
    let file = pair.root.join("tickets.jsonl");
    std::fs::write(&file, jsonl(&generated(2, 1)) + "not json\n").unwrap();
    let (code, out, err) = plan(&pair, &["--tickets", arg(&file)]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.starts_with("error: line 3 of `"), "{err}");
    assert!(err.contains("` is not JSON: "), "{err}");
}

#[test]
fn tickets_that_leave_defaulted_fields_out_are_counted_in_their_class() {
    let pair = pair(&[NEW_STEP]);
    let defaulted = [
        "issue.severity",
        "partner.program",
        "partner.competency",
        "partner.support_plans",
        "diagnosed",
        "service_health.status",
    ];
    let tickets: Vec<Value> = generated(4000, 23)
        .into_iter()
        .enumerate()
        .map(|(i, t)| with(t, &[(defaulted[i % defaulted.len()], Value::Null)]))
        .collect();
    let (base, head) = (
        Bundle::load(&pair.base).unwrap(),
        Bundle::load(&pair.head).unwrap(),
    );
    let differ = tickets
        .iter()
        .filter(|t| stated(base.decide(t)) != stated(head.decide(t)))
        .count() as u64;
    assert!(differ > 0);
    let file = pair.root.join("tickets.jsonl");
    std::fs::write(&file, jsonl(&tickets)).unwrap();
    let counted = plan_json(&pair, &["--tickets", arg(&file)]);
    assert_eq!(counted["tickets"]["changed"], differ);
    assert_eq!(counted["tickets"]["unplaced"], 0, "{counted:#}");
    let sum: u64 = counted["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tickets"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, differ);
}
