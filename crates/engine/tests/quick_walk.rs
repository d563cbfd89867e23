//! The quick walk (the native tree alone, giving up where it cannot answer)
//! and the full one it falls back to decide alike, trace included, where
//! the quick one keeps its state its own way: conditions past the 64 its
//! bit masks hold, a guard only rhai answers after others were recorded,
//! and a trace longer than the room kept inline.

use serde_json::{Value, json};
use triage_engine::{Bundle, Decision};

use crate::common::{one_file_bundle, rules_for, ticket_head};

/// A one-file bundle: the named conditions `conditions` (YAML lines), one
/// rule for each of `whens`, in order, then a catch-all.
fn bundle(conditions: &str, whens: &[String]) -> Bundle {
    let rules = rules_for(whens);
    let fields = "    e: { type: enum, values: [a, b, c], default: a }
    n: { type: integer, default: 0 }
    s: { type: string }
";
    let head = format!("{}conditions:\n{conditions}", ticket_head(fields));
    one_file_bundle("\n  max_operations: 100000", &head, &rules).unwrap()
}

/// The decision of `ticket`, checked to be the same from a `Value`, run by
/// rhai alone, and read straight then written straight.
fn decided(bundle: &Bundle, ticket: &Value) -> Decision {
    let decision = bundle.decide(ticket).unwrap();
    let interpreted = bundle.interpreted().decide(ticket).unwrap();
    assert_eq!(interpreted, decision, "{ticket}");
    let bytes = serde_json::to_vec(ticket).unwrap();
    let read = bundle.read_ticket(&bytes).unwrap();
    let verdict = bundle.decide_ticket(&read).unwrap();
    assert_eq!(verdict.decision(), decision, "{ticket}");
    let mut written = Vec::new();
    verdict.write_json(&mut written).unwrap();
    assert_eq!(written, serde_json::to_vec(&decision).unwrap(), "{ticket}");
    decision
}

fn ticket(e: &str, n: i64) -> Value {
    json!({ "id": "Q-1", "role": "agent", "e": e, "n": n })
}

#[test]
fn a_bundle_of_more_than_64_conditions_decides_the_same() {
    let conditions: String = (0..70).map(|i| format!("  c{i}: n > {i}\n")).collect();
    let whens = ["c66 && c2".to_owned(), "c69 || c1".to_owned()];
    let bundle = bundle(&conditions, &whens);
    let mut seen = Vec::new();
    for n in [0, 1, 2, 3, 67, 71] {
        let decision = decided(&bundle, &ticket("a", n));
        seen.push((decision.rule.to_string(), decision.trace.len()));
        // The conditions past the 64th show their values in the trace.
        let named = &decision.trace[0].conditions.0;
        let c66 = named.iter().find(|(name, _)| &**name == "c66").unwrap();
        assert_eq!(c66.1, n > 66);
    }
    let expected = [
        ("rest", 3),
        ("rest", 3),
        ("r1", 2),
        ("r1", 2),
        ("r0", 1),
        ("r0", 1),
    ];
    let expected: Vec<_> = expected.iter().map(|(r, l)| (r.to_string(), *l)).collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_guard_only_rhai_answers_after_others_were_tried_decides_the_same() {
    // `s` is optional without a default: absent, the native tree cannot
    // compare it and gives up on the second rule, after the first was
    // recorded; the full walk starts again, and its trace has each rule once.
    let whens = [r#"e == "b""#, r#"s == "x""#, r#"e == "a""#].map(str::to_owned);
    let bundle = bundle("  never: n < 0\n", &whens);
    let decision = decided(&bundle, &ticket("a", 0));
    let ids: Vec<&str> = decision.trace.iter().map(|step| &*step.id).collect();
    assert_eq!((&*decision.rule, ids), ("r2", vec!["r0", "r1", "r2"]));
    // With `s` sent, the quick walk answers alone, and alike.
    let mut sent = ticket("a", 0);
    sent["s"] = json!("x");
    assert_eq!(&*decided(&bundle, &sent).rule, "r1");
}

#[test]
fn a_trace_longer_than_the_room_kept_inline_decides_the_same() {
    let whens: Vec<String> = (0..20).map(|i| format!("e == \"c\" && n == {i}")).collect();
    let bundle = bundle("  never: n < 0\n", &whens);
    let decision = decided(&bundle, &ticket("a", 3));
    assert_eq!((&*decision.rule, decision.trace.len()), ("rest", 21));
    let decision = decided(&bundle, &ticket("c", 19));
    assert_eq!((&*decision.rule, decision.trace.len()), ("r19", 20));
}
