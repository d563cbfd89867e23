//! The analysis against enumeration: on random small bundles, every ticket
//! over every value the conditions can tell apart is decided by the engine,
//! and what the analysis claims (which rules decide, where evaluation fails,
//! which tickets a change moves) must be exactly what the tickets show.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use triage_engine::analysis::FindingKind;
use triage_engine::{Bundle, FieldPath, PolicyFile};

/// A tiny random generator, so one seed gives one bundle.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.next(100) < percent
    }
}

/// The fields every random bundle has, with the values enumeration tries
/// (`None` is absent).
fn fields() -> Vec<(&'static str, &'static str, Vec<Option<Value>>)> {
    vec![
        (
            "e",
            "{ type: enum, values: [a, b, c] }",
            vec![Some(json!("a")), Some(json!("b")), Some(json!("c")), None],
        ),
        (
            "f",
            "{ type: enum, values: [x, y], default: x }",
            vec![Some(json!("x")), Some(json!("y"))],
        ),
        (
            "g.flag",
            "{ type: bool }",
            vec![Some(json!(true)), Some(json!(false)), None],
        ),
        (
            "l",
            "{ type: list, values: [p, q] }",
            vec![
                Some(json!([])),
                Some(json!(["p"])),
                Some(json!(["q"])),
                Some(json!(["p", "q"])),
                None,
            ],
        ),
        (
            "s",
            "{ type: string }",
            vec![Some(json!("lit")), Some(json!("zzz")), None],
        ),
        (
            "n",
            "{ type: integer }",
            vec![
                Some(json!(2)),
                Some(json!(3)),
                Some(json!(4)),
                Some(json!(-7)),
                None,
            ],
        ),
    ]
}

/// A random condition over the fields.
fn atom(rng: &mut Rng) -> String {
    match rng.next(14) {
        0 => "e == \"a\"".into(),
        1 => "e != \"b\"".into(),
        2 => "e in [\"a\", \"c\"]".into(),
        3 => "f == \"y\"".into(),
        4 => "g.flag".into(),
        5 => "!g.flag".into(),
        6 => "g.flag == true".into(),
        7 => "\"p\" in l".into(),
        8 => "\"q\" in l".into(),
        9 => "s == \"lit\"".into(),
        10 => "s != \"lit\"".into(),
        11 => "n < 3".into(),
        12 => "n >= 4".into(),
        _ => "e == \"c\" || f == \"x\"".into(),
    }
}

fn condition(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.chance(40) {
        return atom(rng);
    }
    let (a, b) = (condition(rng, depth - 1), condition(rng, depth - 1));
    match rng.next(3) {
        0 => format!("({a}) && ({b})"),
        1 => format!("({a}) || ({b})"),
        _ => format!("!({a})"),
    }
}

/// A random bundle: a few rules (the last a catch-all), one path with steps.
fn bundle_files(seed: u64) -> Vec<PolicyFile> {
    let mut rng = Rng(seed);
    let mut policy = String::from(
        "ticket:\n  id_field: id\n  role_field: role\n  fields:\n    id: { type: string, required: true }\n    role: { type: role, required: true }\n",
    );
    for (path, decl, _) in fields() {
        policy += &format!("    {path}: {decl}\n");
    }
    policy += "conditions:\n  named: ";
    policy += &format!("'{}'\n", condition(&mut rng, 1).replace('\'', "''"));
    policy += "roles:\n  agent: { title: Agent }\nactions:\n  act: { title: Act, roles: [agent] }\n  other: { title: Other, roles: [agent] }\n";
    policy += "outcomes:\n  o1: { title: One, description: d }\n  o2: { title: Two, description: d }\n  up: { title: Up, description: d, escalates: true }\n";
    policy +=
        "vehicles:\n  v1: { title: V1, description: d }\n  v2: { title: V2, description: d }\n";
    policy += "rules:\n";
    for i in 0..1 + rng.next(3) {
        let when = if rng.chance(25) {
            "named".to_owned()
        } else {
            condition(&mut rng, 2)
        };
        let outcome = ["o1", "o2"][rng.next(2)];
        let action = ["act", "other"][rng.next(2)];
        policy += &format!(
            "  - id: r{i}\n    when: '{}'\n    outcome: {outcome}\n    action: {action}\n    rationale: r\n",
            when.replace('\'', "''")
        );
    }
    if rng.chance(50) {
        policy += &format!(
            "  - id: up\n    when: '{}'\n    outcome: up\n    path: p\n    action: act\n    rationale: r\n",
            condition(&mut rng, 1).replace('\'', "''")
        );
    }
    policy += "  - id: rest\n    outcome: up\n    path: p\n    action: act\n    rationale: r\n";
    policy += "paths:\n  p:\n    title: P\n    steps:\n";
    for i in 0..1 + rng.next(2) {
        let vehicle = ["v1", "v2"][rng.next(2)];
        policy += &format!(
            "      - id: s{i}\n        vehicle: {vehicle}\n        when: '{}'\n        rationale: r\n",
            condition(&mut rng, 1).replace('\'', "''")
        );
    }
    policy += "    fallback: { outcome: o2, action: act, rationale: r }\n";
    vec![
        PolicyFile {
            name: "bundle.yaml".into(),
            text: format!("name: random\nversion: '{seed}'\nfiles: [policy.yaml]\n"),
        },
        PolicyFile {
            name: "policy.yaml".into(),
            text: policy,
        },
    ]
}

/// Every ticket over the tried values of every field.
fn every_ticket() -> Vec<Value> {
    let mut tickets = vec![Map::new()];
    for (path, _, values) in fields() {
        let mut next = Vec::new();
        for ticket in &tickets {
            for value in &values {
                let mut t = ticket.clone();
                if let Some(v) = value {
                    FieldPath::new(path).set(&mut t, v.clone());
                }
                next.push(t);
            }
        }
        tickets = next;
    }
    tickets
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t.insert("id".into(), json!(format!("T-{i}")));
            t.insert("role".into(), json!("agent"));
            Value::Object(t)
        })
        .collect()
}

fn load(seed: u64) -> Option<Bundle> {
    Bundle::from_files(&bundle_files(seed)).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_analysis_says_exactly_what_every_ticket_shows(seed in any::<u64>()) {
        let Some(bundle) = load(seed) else { return Ok(()) };
        let analysis = bundle.analyse();
        prop_assert!(analysis.proven, "{:?}", analysis);
        let mut deciding = BTreeSet::new();
        let mut failing = BTreeSet::new();
        for ticket in every_ticket() {
            match bundle.decide(&ticket) {
                Ok(d) => { deciding.insert(d.rule.to_string()); }
                Err(r) => if let triage_engine::RejectionKind::Evaluation(e) = &r.error {
                    failing.insert(e.id.to_string());
                },
            }
        }
        let claimed_failing: BTreeSet<String> = analysis.findings.iter()
            .filter(|f| f.kind == FindingKind::EvaluationError)
            .map(|f| f.id.clone()).collect();
        prop_assert_eq!(&claimed_failing, &failing, "{}", bundle_files(seed)[1].text);
        let unreachable: BTreeSet<String> = analysis.findings.iter()
            .filter(|f| f.kind == FindingKind::UnreachableRule)
            .map(|f| f.id.clone()).collect();
        let never: BTreeSet<String> = bundle.rule_ids().iter().map(|r| r.to_string())
            .filter(|r| !deciding.contains(r)).collect();
        prop_assert_eq!(unreachable, never, "{}", bundle_files(seed)[1].text);
        prop_assert!(!analysis.findings.iter().any(|f| f.kind == FindingKind::Disagreement));
    }

    #[test]
    fn a_plan_places_every_changed_ticket_in_exactly_its_class(seed in any::<u64>()) {
        let (Some(base), Some(head)) = (load(seed), load(seed.rotate_left(17) ^ 0x5eed)) else { return Ok(()) };
        let tickets = every_ticket();
        let plan = base.plan(&head, Some(&tickets));
        prop_assert!(plan.proven, "{:?}", plan.not_proven);
        let count = plan.tickets.clone().unwrap();
        let changed = tickets.iter().filter(|t| {
            let key = |r: Result<triage_engine::Decision, triage_engine::Rejection>| match r {
                Ok(d) => format!("{}|{:?}|{}|{:?}|{:?}|{}|{:?}", d.outcome, d.vehicle, d.rule, d.path, d.path_step, d.action, d.allowed_roles),
                Err(r) => match r.error {
                    triage_engine::RejectionKind::InvalidTicket { .. } => "rejected".to_owned(),
                    triage_engine::RejectionKind::Evaluation(e) => format!("error {} {}", e.stage, e.id),
                },
            };
            key(base.decide(t)) != key(head.decide(t))
        }).count() as u64;
        prop_assert_eq!(count.changed, changed);
        prop_assert_eq!(count.unplaced, 0);
        let placed: u64 = plan.changes.iter().map(|c| c.tickets.unwrap_or(0)).sum();
        prop_assert_eq!(placed, changed);
        prop_assert_eq!(plan.changes.is_empty(), changed == 0);
    }
}

/// The runs above can fail: a bundle whose rule fails on absent values is
/// caught, on exactly the rule enumeration shows.
#[test]
fn a_rule_that_fails_on_an_absent_flag_is_found_with_a_witness() {
    let mut files = bundle_files(1);
    files[1].text = files[1].text.replacen("rules:\n", "rules:\n  - id: flagged\n    when: 'g.flag && e == \"a\"'\n    outcome: o1\n    action: act\n    rationale: r\n", 1);
    let bundle = Bundle::from_files(&files).unwrap();
    let analysis = bundle.analyse();
    let failure = analysis
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::EvaluationError)
        .unwrap();
    assert_eq!(failure.id, "flagged");
    let witness = &failure.class.as_ref().unwrap().witness;
    assert!(FieldPath::new("g.flag").get(witness).is_none(), "{witness}");
    assert!(bundle.decide(witness).is_err());
}
