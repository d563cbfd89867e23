//! The rule index: an indexed bundle decides as a walk of every rule does,
//! on generated bundles and tickets, and writes each run of rules it left
//! out as one `excluded` trace entry (snapshot of the JSON form).

use proptest::prelude::*;
use serde_json::{Value, json};
use triage_engine::{Bundle, Decision, StepKind, StepResult, TraceStep};

use crate::common::{generated, pack_files, ticket, with};

/// The reference pack with `rules` (each `(when, outcome and action)`)
/// inserted before the escalation rules.
fn with_rules(rules: &[(String, &str)]) -> Bundle {
    let mut written = String::new();
    for (i, (when, then)) in rules.iter().enumerate() {
        written += &format!(
            "  - id: extra_{i:03}\n    when: '{}'\n    {then}\n    rationale: A generated rule.\n\n",
            when.replace('\'', "''")
        );
    }
    let mut files = pack_files();
    let boundaries = files
        .iter_mut()
        .find(|f| f.name == "boundaries.yaml")
        .unwrap();
    boundaries.text = boundaries.text.replacen(
        "  - id: commercial_escalation",
        &format!("{written}  - id: commercial_escalation"),
        1,
    );
    Bundle::from_files(&files).unwrap()
}

const RESOLVES: &str = "outcome: partner_resolves\n    action: resolve_technical";
const ESCALATES: &str = "outcome: escalate\n    path: technical\n    action: file_service_request";

/// `n` per-customer overrides: `customer.id == "C-00i" && issue.type in technical_handoff`.
fn overrides(n: usize) -> Bundle {
    let rules: Vec<(String, &str)> = (0..n)
        .map(|i| {
            let when = format!("customer.id == \"C-{i:03}\" && issue.type in technical_handoff");
            (when, ESCALATES)
        })
        .collect();
    with_rules(&rules)
}

/// The rule entries of the trace, as the JSON contract writes them.
fn rules_tried(decision: &Decision) -> String {
    let rules: Vec<&TraceStep> = (decision.trace.iter())
        .filter(|t| matches!(t.kind, StepKind::Rule | StepKind::Excluded))
        .collect();
    serde_json::to_string_pretty(&rules).unwrap()
}

#[test]
fn rules_left_out_are_one_trace_entry_each_run() {
    let bundle = overrides(40);
    assert!(bundle.is_indexed());
    assert!(
        !triage_engine::Bundle::load(crate::common::policies_dir())
            .unwrap()
            .is_indexed()
    );
    let walks_them_all = bundle.decide(&ticket()).unwrap();
    insta::assert_snapshot!("no_override_applies", rules_tried(&walks_them_all));
    let one_applies = with(ticket(), &[("customer.id", json!("C-020"))]);
    let decision = bundle.decide(&one_applies).unwrap();
    assert_eq!(&*decision.rule, "extra_020");
    insta::assert_snapshot!("one_override_applies", rules_tried(&decision));
}

/// A rule's first test, as a choice: keyed on an enum, a string, a list or
/// through a named condition, or not keyed at all.
fn atom(kind: u8, a: u8) -> String {
    let customer = |k: u8| format!("\"customer.id {}\"", k % 12);
    match kind % 10 {
        0 => format!("customer.id == {}", customer(a)),
        1 => format!("customer.id in [{}, {}]", customer(a), customer(a / 3)),
        2 => format!(
            "partner.program == \"{}\"",
            ["direct_bill", "indirect_provider", "indirect_reseller"][a as usize % 3]
        ),
        3 => format!(
            "\"{}\" in partner.support_plans",
            ["premier", "advanced"][a as usize % 2]
        ),
        4 => ["technical", "commercial"][a as usize % 2].to_owned(),
        5 => "issue.type in technical_handoff".to_owned(),
        6 => "!diagnosed".to_owned(),
        7 => "service != \"azure\"".to_owned(),
        8 => format!("partner.id == \"partner.id {}\"", a % 12),
        _ => format!("{} == customer.id", customer(a)),
    }
}

fn rule_choices() -> impl Strategy<Value = Vec<(u8, u8, u8, u8)>> {
    prop::collection::vec(any::<(u8, u8, u8, u8)>(), 56..80)
}

/// The generated bundle: each rule one test, or two joined by `&&` or `||`.
fn generated_bundle(choices: &[(u8, u8, u8, u8)]) -> Bundle {
    let rules: Vec<(String, &str)> = choices
        .iter()
        .map(|&(k1, a, k2, shape)| {
            let when = match shape % 4 {
                0 => atom(k1, a),
                1 | 2 => format!("{} && {}", atom(k1, a), atom(k2, a / 5)),
                _ => format!("{} || {}", atom(k1, a), atom(k2, a / 5)),
            };
            (when, if shape % 3 == 0 { RESOLVES } else { ESCALATES })
        })
        .collect();
    with_rules(&rules)
}

/// Tickets whose customer and partner ids the generated rules name, now
/// and then without a partner id.
fn tickets(seed: u64) -> Vec<Value> {
    let small = |v: &Value, field: &str| {
        let n = v["id"].as_str().unwrap().len() + v.to_string().len();
        json!(format!("{field} {}", n % 14))
    };
    (generated(48, seed).into_iter().enumerate())
        .map(|(i, t)| {
            let customer = small(&t, "customer.id");
            let partner = if i % 5 == 0 {
                Value::Null
            } else {
                small(&t, "partner.id")
            };
            with(t, &[("customer.id", customer), ("partner.id", partner)])
        })
        .collect()
}

/// The indexed trace, each `excluded` entry put back as the rules it stands
/// for, is the trace of a walk of every rule.
fn same_walk(indexed: &[TraceStep], linear: &[TraceStep]) {
    let mut walk = linear.iter();
    for step in indexed {
        let Some(excluded) = &step.excluded else {
            assert_eq!(Some(step), walk.next());
            continue;
        };
        assert_eq!(step.kind, StepKind::Excluded);
        let run: Vec<&TraceStep> = walk.by_ref().take(excluded.rules).collect();
        assert_eq!(run.len(), excluded.rules);
        assert_eq!(run[0].id, step.id);
        assert_eq!(run[run.len() - 1].id, excluded.last);
        for rule in run {
            assert_eq!(
                (rule.kind, rule.result),
                (StepKind::Rule, StepResult::NotMatched)
            );
        }
        assert_eq!(
            excluded.by.iter().map(|(_, n)| n).sum::<usize>(),
            excluded.rules
        );
    }
    assert_eq!(walk.next(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn an_indexed_bundle_decides_as_a_walk_of_every_rule(
        choices in rule_choices(),
        seed in any::<u64>(),
    ) {
        let bundle = generated_bundle(&choices);
        prop_assume!(bundle.is_indexed());
        let linear = bundle.linear();
        for t in tickets(seed) {
            match (bundle.decide(&t), linear.decide(&t)) {
                (Ok(indexed), Ok(walked)) => {
                    same_walk(&indexed.trace, &walked.trace);
                    let strip = |d: Decision| Decision { trace: Vec::new(), ..d };
                    prop_assert_eq!(strip(indexed), strip(walked));
                }
                (Err(indexed), Err(walked)) => prop_assert_eq!(indexed, walked),
                (indexed, walked) => prop_assert!(false, "{indexed:?} but {walked:?}"),
            }
        }
    }
}
