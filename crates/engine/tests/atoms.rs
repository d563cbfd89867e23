//! Atom mode (the decision compiled ahead at load, its trace found again
//! when rendered) decides as the walk does, byte for byte, rejections
//! included: on generated tickets of the reference pack and of a copy whose
//! conditions nest `||`, `!` and other conditions; where atom mode gives
//! up on a ticket; and bundles it does not take still decide as before.

use serde_json::{Value, json};
use triage_engine::Bundle;

use crate::common::{edited, generated, one_file_bundle, reference, rules_for, ticket_head};

/// `ticket` decided by `bundle` (in atom mode where it takes it) and by the
/// walk alone: the same decision or rejection, the same bytes written.
fn same(bundle: &Bundle, ticket: &Value) {
    let walking = bundle.walking();
    assert_eq!(bundle.decide(ticket), walking.decide(ticket), "{ticket}");
    let bytes = serde_json::to_vec(ticket).unwrap();
    let (Some(read), Some(walked)) = (bundle.read_ticket(&bytes), walking.read_ticket(&bytes))
    else {
        return;
    };
    match (bundle.decide_ticket(&read), walking.decide_ticket(&walked)) {
        (Ok(atoms), Ok(walk)) => {
            assert_eq!(atoms.decision(), walk.decision(), "{ticket}");
            let (mut a, mut w) = (Vec::new(), Vec::new());
            atoms.write_json(&mut a).unwrap();
            walk.write_json(&mut w).unwrap();
            assert_eq!(String::from_utf8(a), String::from_utf8(w), "{ticket}");
        }
        (atoms, walk) => assert_eq!(atoms.err(), walk.err(), "{ticket}"),
    }
    let (mut a, mut w) = (Vec::new(), Vec::new());
    let written = bundle
        .write_decision(&bytes, &mut a)
        .map(|w| w.outcome.clone());
    let walked = walking
        .write_decision(&bytes, &mut w)
        .map(|w| w.outcome.clone());
    assert_eq!((written, a), (walked, w), "{ticket}");
}

/// Generated tickets, and each with some of its fields left out (each then
/// takes its default, or is absent), so that defaulted and missing slots
/// show up too.
fn tickets(seed: u64) -> Vec<Value> {
    let left_out = [
        "issue.severity",
        "partner.support_plans",
        "diagnosed",
        "partner.program",
    ];
    let mut all = Vec::new();
    for (i, ticket) in generated(300, seed).into_iter().enumerate() {
        let mut thinner = ticket.clone();
        let path = left_out[i % left_out.len()];
        let (group, name) = path.split_once('.').unwrap_or(("", path));
        match group {
            "" => thinner.as_object_mut().unwrap().remove(name),
            _ => thinner[group].as_object_mut().unwrap().remove(name),
        };
        all.extend([ticket, thinner]);
    }
    all
}

#[test]
fn the_reference_pack_decides_in_atom_mode_as_the_walk_does() {
    let bundle = reference();
    assert!(bundle.has_atoms());
    for ticket in tickets(11) {
        same(&bundle, &ticket);
    }
}

#[test]
fn nested_conditions_with_or_and_not_decide_as_the_walk_does() {
    let nested = r#"signature_eligible: (partner.competency in ["gold", "silver"] || !diagnosed) && !(service == "dynamics365" && (critical || !has_advanced))"#;
    let from = r#"signature_eligible: partner.competency in ["gold", "silver"] && service != "dynamics365""#;
    let bundle = edited("paths.yaml", from, nested).unwrap();
    assert!(bundle.has_atoms());
    for ticket in tickets(12) {
        same(&bundle, &ticket);
    }
}

/// A one-file bundle over `e` (an enum with a default), `f` (an optional
/// enum without one), `b` (a boolean) and `n` (an integer), one rule for
/// each of `whens`.
fn small(whens: &[String]) -> Bundle {
    let rules = rules_for(whens);
    let fields = "    e: { type: enum, values: [a, b, c, d, e, f, g, h], default: a }
    f: { type: enum, values: [x, y] }
    b: { type: bool, default: false }
    n: { type: integer, default: 0 }
";
    let head = ticket_head(fields) + "conditions:\n  either: e == \"b\" || f == \"x\"\n";
    one_file_bundle("\n  max_operations: 100000", &head, &rules).unwrap()
}

fn small_tickets() -> Vec<Value> {
    let mut all = Vec::new();
    for e in ["a", "b", "c", "h"] {
        for f in [json!("x"), json!("y"), Value::Null] {
            for b in [json!(true), json!(false), Value::Null] {
                let mut ticket = json!({ "id": "S-1", "role": "agent", "e": e, "n": 4 });
                for (name, value) in [("f", &f), ("b", &b)] {
                    if !value.is_null() {
                        ticket[name] = value.clone();
                    }
                }
                all.push(ticket);
            }
        }
    }
    all
}

#[test]
fn a_ticket_atom_mode_gives_up_on_is_decided_by_the_walk() {
    // `f` is optional without a default: absent, its slot is no enum value,
    // so atom mode gives up on the ticket; the walk answers `e == "b"`
    // without reading `f`, and gives up on `f` to rhai where it must read it.
    let whens = [r#"either && !b"#, r#"f == "y" || b"#].map(str::to_owned);
    let bundle = small(&whens);
    assert!(bundle.has_atoms());
    for ticket in small_tickets() {
        same(&bundle, &ticket);
    }
    let absent = json!({ "id": "S-1", "role": "agent", "e": "b" });
    assert_eq!(&*bundle.decide(&absent).unwrap().rule, "r0");
}

#[test]
fn bundles_atom_mode_does_not_take_decide_as_before() {
    // More than 64 distinct tests: each rule's own pair or triple of values.
    let values = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let pairs = (0..8).flat_map(|i| (i + 1..8).map(move |j| (i, j)));
    let triples =
        (0..8).flat_map(|i| (i + 1..8).flat_map(move |j| (j + 1..8).map(move |k| (i, j, k))));
    let mut whens: Vec<String> = pairs
        .map(|(i, j)| format!(r#"e in ["{}", "{}"] && b"#, values[i], values[j]))
        .collect();
    whens.extend(triples.map(|(i, j, k)| {
        format!(
            r#"e in ["{}", "{}", "{}"] && !b"#,
            values[i], values[j], values[k]
        )
    }));
    whens.extend((0..8).map(|i| format!(r#"e == "{}" && f == "x""#, values[i])));
    let wide = small(&whens);
    // An integer comparison is no atom.
    let compared = small(&[r#"b && n > 3"#.to_owned(), r#"either"#.to_owned()]);
    for bundle in [wide, compared] {
        assert!(!bundle.has_atoms());
        for ticket in small_tickets() {
            same(&bundle, &ticket);
            let decided = bundle.decide(&ticket);
            assert_eq!(decided, bundle.interpreted().decide(&ticket), "{ticket}");
        }
    }
}
