//! Native evaluation answers exactly as rhai does: the same decision or the
//! same rejection, byte for byte, on the reference pack and on random
//! expressions over every kind of field.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};
use triage_engine::Bundle;

use crate::common::{generated, probe_bundle, reference, ticket, with};

fn same(bundle: &Bundle, ticket: &Value) {
    let native = bundle.decide(ticket);
    let interpreted = bundle.interpreted().decide(ticket);
    assert_eq!(native, interpreted, "{ticket}");
    assert_eq!(
        serde_json::to_string(&native).unwrap(),
        serde_json::to_string(&interpreted).unwrap()
    );
}

#[test]
fn the_reference_pack_decides_the_same_natively() {
    let bundle = reference();
    for ticket in generated(5_000, 41) {
        same(&bundle, &ticket);
    }
}

#[test]
fn rejections_and_absent_fields_are_the_same_natively() {
    let bundle = reference();
    let base = ticket();
    let cases = [
        // Optional fields left out: defaults, and `()` where there is none.
        with(json!({}), &[("id", json!("N-1"))]),
        // A constraint that fails, and types the schema refuses.
        with(base.clone(), &[("category", json!("commercial"))]),
        with(base.clone(), &[("diagnosed", json!("yes"))]),
        with(base.clone(), &[("partner.support_plans", json!("premier"))]),
    ];
    for ticket in cases {
        same(&bundle, &ticket);
    }
    let mut bare = base;
    for field in ["partner", "service_health", "diagnosed", "opened_at"] {
        bare.as_object_mut().unwrap().remove(field);
        same(&bundle, &bare);
    }
}

/// A bundle with a field of every kind, two named conditions, a set and
/// tight limits, whose first rule's condition is `when`.
fn probe(when: &str, max_operations: u32) -> Result<Bundle, triage_engine::BundleError> {
    let limits = format!(
        "
  max_operations: {max_operations}
  max_string_size: 16
  max_array_size: 3
"
    );
    let head = "sets:
  ab: [a, b]
ticket:
  id_field: id
  role_field: role
  fields:
    id: { type: string, required: true }
    role: { type: role, required: true }
    s: { type: string }
    e: { type: enum, values: [a, b, c], default: a }
    n: { type: integer }
    f: { type: bool, default: false }
    l: { type: list, values: [a, b, c], default: [] }
    m.x: { type: enum, values: [a, b, c] }
    m.y: { type: integer, default: 0 }
conditions:
  ea: e == \"a\"
  big: ea || n > 3
";
    probe_bundle(&limits, head, when)
}

fn comparison() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("=="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">=")
    ]
}

/// Two operands the loader lets be compared: free text with free text, or
/// an enum with an enum (string literals go with either).
fn texts() -> impl Strategy<Value = (&'static str, &'static str)> {
    let free = || prop_oneof![Just("s"), Just("\"a\""), Just("\"b\"")];
    let enums = || prop_oneof![Just("e"), Just("m.x"), Just("\"a\""), Just("\"c\"")];
    prop_oneof![(free(), free()), (enums(), enums())]
}

fn text() -> impl Strategy<Value = &'static str> {
    texts().prop_map(|(a, _)| a)
}

fn number() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("n"), Just("m.y"), Just("0"), Just("4")]
}

fn list() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("l"), Just("ab"), Just("[\"a\", \"c\"]")]
}

fn condition() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => prop_oneof![Just("f"), Just("ea"), Just("big"), Just("true"), Just("false")]
            .prop_map(str::to_owned),
        4 => (texts(), comparison()).prop_map(|((a, b), op)| format!("{a} {op} {b}")),
        4 => (number(), comparison(), number()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        3 => (text(), list()).prop_map(|(a, l)| format!("{a} in {l}")),
        // Operands of different types, which rhai answers in its own way.
        1 => (text(), comparison(), number()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        1 => (number(), list()).prop_map(|(a, l)| format!("{a} in {l}")),
        1 => (number(), Just("&&"), text()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("!({e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) || ({b})")),
        ]
    })
}

fn probe_ticket() -> impl Strategy<Value = Value> {
    let maybe = |v: Value| prop_oneof![Just(None), Just(Some(v))];
    (
        prop_oneof![
            Just(None),
            Just(Some(json!("a"))),
            Just(Some(json!("c"))),
            // Past `max_string_size`.
            Just(Some(json!("a string longer than sixteen bytes"))),
        ],
        maybe(json!("b")),
        prop_oneof![Just(None), Just(Some(json!(2))), Just(Some(json!(7)))],
        any::<bool>(),
        prop_oneof![
            Just(json!([])),
            Just(json!(["a"])),
            // Past `max_array_size`.
            Just(json!(["a", "b", "c", "a"]))
        ],
        maybe(json!("c")),
        0i64..6,
    )
        .prop_map(|(s, e, n, f, l, x, y)| {
            let mut ticket = json!({ "id": "P-1", "role": "agent", "f": f, "l": l,
                "m": { "y": y } });
            let fields = [("s", s), ("e", e), ("n", n)];
            for (name, value) in fields {
                if let Some(value) = value {
                    ticket[name] = value;
                }
            }
            if let Some(x) = x {
                ticket["m"]["x"] = x;
            }
            ticket
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_conditions_decide_the_same_natively(
        when in condition(),
        tickets in prop::collection::vec(probe_ticket(), 8),
        // Around the operations a condition takes, so that rhai's limit fires
        // on some: where it does, the condition must have stayed with rhai.
        max_operations in 1u32..80,
    ) {
        // Conditions the loader refuses (a literal of the wrong type, say)
        // are not this test's business.
        let Ok(bundle) = probe(&when, max_operations) else { return Ok(()) };
        for ticket in &tickets {
            let native = bundle.decide(ticket);
            let interpreted = bundle.interpreted().decide(ticket);
            prop_assert_eq!(native, interpreted, "{} on {}", when, ticket);
        }
    }
}

#[test]
fn the_probe_loads_most_random_conditions() {
    // The property above skips conditions the loader refuses; make sure it
    // is not skipping nearly all of them.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = condition();
    let (mut loaded, total) = (0, 200);
    for _ in 0..total {
        let when = strategy.new_tree(&mut runner).unwrap().current();
        loaded += usize::from(probe(&when, 1_000).is_ok());
    }
    assert!(loaded * 2 > total, "only {loaded} of {total} loaded");
}
