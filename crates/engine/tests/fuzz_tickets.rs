//! A fuzz harness for what tickets arrive as: random bytes and structured
//! garbage (JSON with duplicate keys, deep nesting, huge numbers, bytes that
//! are not UTF-8, byte-order marks) thrown at the ticket reader, and what it
//! reads thrown at `Bundle::decide` on the reference pack. Nothing may
//! panic or hang, and every refusal must say what is wrong.
//!
//! Each property runs on a thread of its own under a generous deadline, 256
//! cases by default; `PROPTEST_CASES=10000` runs more. Every hostile input
//! this harness is about is also a named regression test below.

use std::fmt::Debug;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use triage_engine::{
    Bundle, RejectionKind, TicketSyntaxError, parse_ticket, read_tickets, strip_bom,
};

use crate::common::{reference, ticket};

/// Runs `test` on the values of the strategy `make` builds, on a thread of
/// its own, failing if the run takes longer than the deadline (a hang).
fn within_deadline<S>(make: fn() -> S, test: fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy + 'static,
    S::Value: Debug,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The case count comes from `PROPTEST_CASES`, 256 when it is unset.
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&make(), test);
        let _ = tx.send(result.map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => panic!("{failure}"),
        Err(_) => panic!("the property did not finish within 120 s: something hangs"),
    }
}

/// What the reader must do with `bytes`: give the value serde_json gives
/// (after one byte-order mark), or the same error, or refuse a duplicate
/// key with its name.
fn check_reader(bytes: &[u8]) -> Result<Option<Value>, TestCaseError> {
    let theirs: Result<Value, _> = serde_json::from_slice(strip_bom(bytes));
    let read = parse_ticket(bytes);
    check_stream(bytes, read.as_ref().ok())?;
    match read {
        Ok(value) => {
            prop_assert_eq!(theirs.ok(), Some(value.clone()));
            Ok(Some(value))
        }
        Err(TicketSyntaxError::Json(error)) => {
            let theirs = theirs.err().map(|e| e.to_string());
            prop_assert_eq!(theirs, Some(error.to_string()));
            Ok(None)
        }
        Err(error @ TicketSyntaxError::TooLarge { .. }) => {
            prop_assert!(false, "a slice has no cap: {}", error);
            Ok(None)
        }
        Err(error @ TicketSyntaxError::DuplicateKey { .. }) => {
            let message = error.to_string();
            prop_assert!(message.starts_with("duplicate key `"), "{}", message);
            prop_assert!(error.field().is_some());
            Ok(None)
        }
    }
}

/// What reading `bytes` as a stream must do: hand on the tickets the slice
/// reader gave (each of an array, or the one value), and fail where it failed.
fn check_stream(bytes: &[u8], read: Option<&Value>) -> Result<(), TestCaseError> {
    let mut tickets = Vec::new();
    let mut input = bytes;
    let ended = read_tickets(&mut input, u64::MAX, &mut |t| {
        tickets.push(t);
        true
    });
    match read {
        Some(Value::Array(items)) => prop_assert_eq!(&tickets, items),
        Some(value) => prop_assert_eq!(&tickets, &vec![value.clone()]),
        None => prop_assert!(ended.is_err()),
    }
    if read.is_some() {
        prop_assert!(ended.is_ok(), "{:?}", ended);
    }
    Ok(())
}

/// What deciding must do with any value: a decision, or a rejection that
/// says why, whose text for people holds no control character but its own
/// line breaks.
fn check_decide(bundle: &Bundle, value: &Value) -> Result<(), TestCaseError> {
    if let Err(rejection) = bundle.decide(value) {
        if let RejectionKind::InvalidTicket { problems } = &rejection.error {
            prop_assert!(!problems.is_empty());
            prop_assert!(problems.iter().all(|p| !p.message.is_empty()));
        }
        let text = rejection.to_string();
        let unprintable = text
            .chars()
            .find(|&c| c != '\n' && triage_engine::is_unprintable(c));
        prop_assert_eq!(unprintable, None, "{}", text);
    }
    Ok(())
}

// --- Structured garbage -------------------------------------------------------

/// A JSON document as a tree, so that its text can hold what a `Value`
/// cannot: the same key twice.
#[derive(Clone, Debug)]
enum Node {
    Leaf(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn text(&self) -> String {
        match self {
            Node::Leaf(text) => text.clone(),
            Node::Array(items) => {
                let items: Vec<String> = items.iter().map(Node::text).collect();
                format!("[{}]", items.join(","))
            }
            Node::Object(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json!(k), v.text()))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }
        }
    }

    fn has_duplicate(&self) -> bool {
        match self {
            Node::Leaf(_) => false,
            Node::Array(items) => items.iter().any(Node::has_duplicate),
            Node::Object(entries) => {
                let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                keys.sort_unstable();
                keys.windows(2).any(|w| w[0] == w[1])
                    || entries.iter().any(|(_, v)| v.has_duplicate())
            }
        }
    }
}

/// Leaves that try the parser's edges: huge and tiny numbers, integers past
/// 64 bits, escapes, a lone surrogate, control characters.
fn leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("1e400".to_owned()),
        Just("-1e-400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("123456789012345678901234567890.5".to_owned()),
        Just("\"\\ud800\"".to_owned()),
        Just("\"\\u001b[31m\\u202e\"".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| json!(n).to_string()),
        ".{0,12}".prop_map(|s| json!(s).to_string()),
    ]
    .prop_map(Node::Leaf)
}

/// Keys drawn from a few, so that objects often name one twice, and from the
/// schema's own fields, so that the tickets are sometimes nearly right.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "service",
            "category",
            "issue",
            "type",
            "severity",
            "requester",
            "role",
            "diagnosed",
            "a",
            "",
        ])
        .prop_map(str::to_owned),
        ".{0,6}",
    ]
}

fn node() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Node::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(Node::Object),
        ]
    })
}

/// Ways to spoil a document's bytes.
#[derive(Clone, Debug)]
enum Spoil {
    None,
    Bom(usize),
    Truncate(usize),
    Insert(usize, u8),
    Nest(usize),
}

fn spoil() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        3 => Just(Spoil::None),
        1 => (1..3usize).prop_map(Spoil::Bom),
        1 => any::<usize>().prop_map(Spoil::Truncate),
        1 => (any::<usize>(), 0x80..=0xffu8).prop_map(|(at, b)| Spoil::Insert(at, b)),
        1 => (100..300usize).prop_map(Spoil::Nest),
    ]
}

fn spoiled(node: &Node, spoil: &Spoil) -> Vec<u8> {
    let mut bytes = node.text().into_bytes();
    match *spoil {
        Spoil::None => {}
        Spoil::Bom(n) => bytes = [triage_engine::BOM.repeat(n), bytes].concat(),
        Spoil::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
        Spoil::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
        Spoil::Nest(depth) => {
            bytes = [b"{\"a\":".repeat(depth), bytes, b"}".repeat(depth)].concat();
        }
    }
    bytes
}

#[test]
fn random_bytes_are_read_or_refused_never_a_panic() {
    within_deadline(
        || prop::collection::vec(any::<u8>(), 0..512),
        |bytes| {
            if let Some(value) = check_reader(&bytes)? {
                check_decide(&reference(), &value)?;
            }
            Ok(())
        },
    );
}

#[test]
fn structured_garbage_is_read_as_serde_json_reads_it_or_refused_with_a_reason() {
    within_deadline(
        || (node(), spoil()),
        |(node, spoil)| {
            let bytes = spoiled(&node, &spoil);
            let read = check_reader(&bytes)?;
            if matches!(spoil, Spoil::None | Spoil::Bom(1)) {
                // Untouched: refused exactly when a key is named twice (or
                // serde_json itself refuses it, a number out of range, say).
                let theirs = serde_json::from_slice::<Value>(strip_bom(&bytes)).is_ok();
                prop_assert_eq!(read.is_some(), theirs && !node.has_duplicate());
            }
            if let Some(value) = read {
                check_decide(&reference(), &value)?;
            }
            Ok(())
        },
    );
}

/// Fields of the ticket a hostile value goes into.
const FIELDS: [&str; 6] = [
    "id",
    "service",
    "issue",
    "requester",
    "diagnosed",
    "partner",
];

#[test]
fn a_ticket_with_a_hostile_value_in_any_field_is_decided_or_rejected() {
    within_deadline(
        || (prop::sample::select(FIELDS.to_vec()), node()),
        |(field, node)| {
            let Ok(value) = parse_ticket(node.text().as_bytes()) else {
                return Ok(());
            };
            let mut hostile = ticket();
            hostile[field] = value;
            check_decide(&reference(), &hostile)
        },
    );
}

// --- Every hostile input, by name ----------------------------------------------

fn refused(bytes: &[u8]) -> String {
    parse_ticket(bytes).unwrap_err().to_string()
}

#[test]
fn regression_a_duplicate_key_at_the_top_level() {
    assert_eq!(
        refused(br#"{"id": "T-1", "service": "azure", "id": "T-2"}"#),
        "duplicate key `id` at line 1 column 38"
    );
}

#[test]
fn regression_a_duplicate_key_in_a_nested_object_and_in_an_array() {
    let error =
        parse_ticket(br#"{"issue": {"type": "how_to", "type": "product_bug"}}"#).unwrap_err();
    assert_eq!(error.field().as_deref(), Some("issue.type"));
    let error = parse_ticket(br#"[{"id": 1}, {"id": 2, "x": [{"k": 1, "k": 2}]}]"#).unwrap_err();
    assert_eq!(error.field().as_deref(), Some("[1].x[0].k"));
}

#[test]
fn regression_a_key_that_differs_only_by_an_escape_is_the_same_key() {
    assert!(refused(br#"{"id": 1, "\u0069d": 2}"#).starts_with("duplicate key `id`"));
}

#[test]
fn regression_nesting_past_128_is_refused_not_a_stack_overflow() {
    for open in ["[", "{\"a\":"] {
        let close = if open == "[" { "]" } else { "}" };
        let deep = format!("{}{}", open.repeat(100_000), close.repeat(100_000));
        assert!(refused(deep.as_bytes()).starts_with("recursion limit exceeded"));
    }
}

#[test]
fn regression_huge_numbers() {
    assert!(refused(b"{\"n\": 1e400}").starts_with("number out of range"));
    let big = parse_ticket(b"{\"n\": 18446744073709551616}").unwrap();
    assert!(big["n"].is_f64());
    let mut ticket = ticket();
    ticket["diagnosed"] = big["n"].clone();
    let rejection = reference().decide(&ticket).unwrap_err();
    assert!(rejection.is_invalid_ticket());
}

#[test]
fn regression_bytes_that_are_not_utf8() {
    assert!(refused(b"{\"id\": \"caf\xe9\"}").starts_with("invalid unicode code point"));
    assert!(refused(b"\xff\xfe{}").starts_with("expected value"));
    let surrogate = refused(b"{\"id\": \"\\ud800\"}");
    assert!(
        surrogate.starts_with("unexpected end of hex escape"),
        "{surrogate}"
    );
}

#[test]
fn regression_byte_order_marks() {
    assert_eq!(parse_ticket(b"\xEF\xBB\xBF{}").unwrap(), json!({}));
    assert!(refused(b"\xEF\xBB\xBF\xEF\xBB\xBF{}").starts_with("expected value"));
    assert!(refused(b"\xEF\xBB\xBF").starts_with("EOF while parsing"));
    // UTF-16 marks are not UTF-8 text.
    assert!(refused(b"\xFF\xFE{\x00}\x00").starts_with("expected value"));
}

#[test]
fn regression_empty_and_trailing_input() {
    assert!(refused(b"").starts_with("EOF while parsing a value at line 1 column 0"));
    assert!(refused(b"{} {}").starts_with("trailing characters"));
    assert!(refused(b"{}\x00").starts_with("trailing characters"));
}

#[test]
fn regression_control_characters_in_values_never_reach_a_rejections_text() {
    let mut hostile = ticket();
    hostile["service"] = json!("azure\u{1b}[2J\u{202e}\u{85}");
    hostile["\u{7}bell"] = json!(true);
    let text = reference().decide(&hostile).unwrap_err().to_string();
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && triage_engine::is_unprintable(c))
    );
    // The value is quoted as JSON, which writes ESC as `\u001b` itself.
    assert!(text.contains("azure\\u001b[2J\\u{202e}\\u{85}"), "{text}");
    assert!(text.contains("\\u{7}bell"), "{text}");
}
