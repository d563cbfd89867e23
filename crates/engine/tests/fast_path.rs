//! The schema-compiled path: JSON bytes read straight into a ticket
//! (`Bundle::read_ticket`), decided into a `Verdict`, written straight to
//! JSON (`Verdict::write_json`). It must take every valid ticket the long
//! way takes (parse into a `Value`, check, decide), refuse every one it
//! refuses, and write the bytes serde_json writes for the long way's
//! decision.

use proptest::prelude::*;
use serde_json::{Value, json};
use triage_engine::{Bundle, parse_ticket};

use crate::common::{generated, pack_files, reference, ticket, with};

/// The long way's answer for `bytes`: `None` when they are not a ticket
/// that passes the schema check; else the decision's JSON, or the
/// rejection's when evaluation (constraints included) refuses it.
fn long_way(bundle: &Bundle, bytes: &[u8]) -> Option<String> {
    let value = parse_ticket(bytes).ok()?;
    let ticket = bundle.ticket(&value).ok()?;
    Some(match bundle.decide(&value) {
        Ok(decision) => serde_json::to_string(&decision).unwrap(),
        Err(rejection) => {
            // The checked ticket decides as the value does.
            assert_eq!(bundle.decide_ticket(&ticket).unwrap_err(), rejection);
            serde_json::to_string(&rejection).unwrap()
        }
    })
}

/// The fast way's answer, in the same terms: `None` when the reader gives up.
fn fast_way(bundle: &Bundle, bytes: &[u8]) -> Option<String> {
    let ticket = bundle.read_ticket(bytes)?;
    Some(match bundle.decide_ticket(&ticket) {
        Ok(verdict) => {
            let mut out = Vec::new();
            verdict.write_json(&mut out).unwrap();
            let rendered = serde_json::to_vec(&verdict.decision()).unwrap();
            assert_eq!(
                rendered, out,
                "the rendered decision and the written one differ"
            );
            // The short way whole writes the same after what `out` held.
            let mut whole = b"before".to_vec();
            let written = bundle.write_decision(bytes, &mut whole).unwrap();
            assert_eq!((&whole[..6], &whole[6..]), (&b"before"[..], &out[..]));
            assert_eq!(written.outcome, verdict.outcome());
            same_sorted(bundle, bytes, &verdict, &out);
            String::from_utf8(out).unwrap()
        }
        Err(rejection) => serde_json::to_string(&rejection).unwrap(),
    })
}

/// The decision written with its keys sorted is the decision serialised
/// through a `Value` whose objects are sorted, and the short way whole
/// writes it beside `out`.
fn same_sorted(bundle: &Bundle, bytes: &[u8], verdict: &triage_engine::Verdict<'_>, out: &[u8]) {
    let mut sorted = Vec::new();
    verdict.write_sorted_json(&mut sorted).unwrap();
    let mut value = serde_json::to_value(verdict.decision()).unwrap();
    value.sort_all_objects();
    assert_eq!(
        String::from_utf8(sorted.clone()).unwrap(),
        serde_json::to_string(&value).unwrap(),
        "the sorted writing"
    );
    let (mut both, mut both_sorted) = (Vec::new(), b"before".to_vec());
    bundle
        .write_decision_sorted(bytes, &mut both, &mut both_sorted)
        .unwrap();
    assert_eq!((&both[..], &both_sorted[6..]), (out, &sorted[..]));
}

fn same_answer(bundle: &Bundle, bytes: &[u8]) {
    let (long, fast) = (long_way(bundle, bytes), fast_way(bundle, bytes));
    assert_eq!(long, fast, "{}", String::from_utf8_lossy(bytes));
}

#[test]
fn generated_tickets_get_the_same_bytes_both_ways() {
    let bundle = reference();
    let tickets = generated(2000, 11);
    let mut decided = 0;
    for ticket in &tickets {
        let bytes = serde_json::to_vec(ticket).unwrap();
        same_answer(&bundle, &bytes);
        let decision = fast_way(&bundle, &bytes).filter(|d| d.contains("\"outcome\""));
        decided += usize::from(decision.is_some());
    }
    // About half are decided (the generator also draws tickets the pack
    // refuses), so the comparison is not only of two refusals.
    assert!(decided > 800, "{decided}");
}

/// Escapes in values (kept as the ticket sent them), defaults, absent
/// optional fields and `null` for them, a byte-order mark, white space.
#[test]
fn written_forms_of_one_ticket_get_the_same_bytes() {
    let bundle = reference();
    let base = with(
        ticket(),
        &[
            ("id", json!("T-\"1\"\\\n\t\u{1}é😀")),
            ("issue.summary", json!("a \u{7f} line\r\n")),
        ],
    );
    let texts = [
        serde_json::to_string(&base).unwrap(),
        serde_json::to_string_pretty(&base).unwrap(),
        format!("\u{feff}{}", serde_json::to_string(&base).unwrap()),
        serde_json::to_string(&with(base.clone(), &[("diagnosed", Value::Null)])).unwrap(),
        r#"{"id":"T\u0031","service":"azure","category":"technical","issue":{"type":"product_bug","severity":"A","summary":null},"customer":{"id":"c","admin_relationship":"gdap"},"partner":{"competency":"gold","support_plans":["premier","premier"]},"requester":{"role":"helpdesk_agent"},"diagnosed":true}"#.to_owned(),
    ];
    for text in texts {
        assert!(fast_way(&bundle, text.as_bytes()).is_some(), "{text}");
        same_answer(&bundle, text.as_bytes());
    }
}

/// With a rule index, `excluded` entries are written as the decision's.
#[test]
fn an_indexed_bundle_writes_the_same_bytes() {
    let mut files = pack_files();
    let boundaries = files
        .iter_mut()
        .find(|f| f.name == "boundaries.yaml")
        .unwrap();
    let rules: String = (0..40)
        .map(|i| {
            format!(
                "  - id: extra_{i:03}\n    when: 'customer.id == \"C-{i:03}\" && issue.type in technical_handoff'\n    outcome: escalate\n    path: technical\n    action: file_service_request\n    rationale: A generated rule.\n\n"
            )
        })
        .collect();
    boundaries.text = boundaries.text.replacen(
        "  - id: commercial_escalation",
        &format!("{rules}  - id: commercial_escalation"),
        1,
    );
    let bundle = Bundle::from_files(&files).unwrap();
    assert!(bundle.is_indexed());
    for customer in ["contoso", "C-007", "C-039"] {
        let ticket = with(ticket(), &[("customer.id", json!(customer))]);
        let bytes = serde_json::to_vec(&ticket).unwrap();
        let fast = fast_way(&bundle, &bytes).unwrap();
        assert!(fast.contains("\"kind\":\"excluded\""), "{fast}");
        same_answer(&bundle, &bytes);
    }
}

/// A ticket read by one bundle is refused by a bundle of another digest.
#[test]
fn a_ticket_is_decided_by_the_bundle_that_read_it() {
    let (one, other) = (
        reference(),
        crate::common::edited("bundle.yaml", "version:", "# x\nversion:").unwrap(),
    );
    let bytes = serde_json::to_vec(&ticket()).unwrap();
    let read = one.read_ticket(&bytes).unwrap();
    assert!(reference().decide_ticket(&read).is_ok());
    let refused = other.decide_ticket(&read).unwrap_err();
    assert!(
        refused
            .reason()
            .contains("decided by the bundle that read it"),
        "{}",
        refused.reason()
    );
}

/// `ticket` with the dotted path `at` set to `value` (removed for `null`),
/// where its parent is an object.
fn changed(mut ticket: Value, at: &str, value: &Value) -> Value {
    let (parents, last) = match at.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, at),
    };
    let parent = match parents {
        Some(parent) => ticket.get_mut(parent),
        None => Some(&mut ticket),
    };
    if let Some(Value::Object(object)) = parent {
        match value {
            Value::Null => object.remove(last),
            _ => object.insert(last.to_owned(), value.clone()),
        };
    }
    ticket
}

/// What a field of a valid ticket may be replaced by.
fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(1)),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(json!(18446744073709551615u64)),
        Just(json!(true)),
        Just(json!("azure")),
        Just(json!("A")),
        Just(json!("not a value")),
        Just(json!("2026-11-20T09:14:00Z")),
        Just(json!([])),
        Just(json!(["premier"])),
        Just(json!(["premier", 1])),
        Just(json!({})),
        Just(json!({"x": 1})),
    ]
}

/// Where: a field of the ticket, or a name it does not declare.
fn place() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "id",
        "opened_at",
        "service",
        "issue",
        "issue.severity",
        "issue.summary",
        "customer.id",
        "partner.support_plans",
        "partner.competency",
        "requester",
        "requester.role",
        "diagnosed",
        "service_health.status",
        "unknown",
        "issue.unknown",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// One or two fields of a valid ticket replaced, removed or added: the
    /// fast way decides exactly the tickets the long way decides, with the
    /// same bytes.
    #[test]
    fn changed_tickets_get_the_same_answer_both_ways(
        changes in prop::collection::vec((place(), replacement()), 1..3),
        seed in 0u64..50,
    ) {
        let bundle = reference();
        let base = generated(1, seed).remove(0);
        let ticket = changes.iter().fold(base, |t, (at, v)| changed(t, at, v));
        let bytes = serde_json::to_vec(&ticket).unwrap();
        prop_assert_eq!(long_way(&bundle, &bytes), fast_way(&bundle, &bytes));
    }

    /// Bytes that are not a ticket (cut short, a key twice) are refused by
    /// the fast way wherever the long way refuses them.
    #[test]
    fn cut_or_doubled_bytes_get_the_same_answer_both_ways(cut in 0usize..400, doubled in any::<bool>()) {
        let bundle = reference();
        let mut text = serde_json::to_string(&ticket()).unwrap();
        if doubled {
            text = text.replacen("{\"", "{\"diagnosed\":false,\"", 1);
        }
        let bytes = &text.as_bytes()[..cut.min(text.len())];
        prop_assert_eq!(long_way(&bundle, bytes), fast_way(&bundle, bytes));
    }
}
