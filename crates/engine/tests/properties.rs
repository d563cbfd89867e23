//! Property tests: random valid tickets drawn from the bundle's own value sets
//! always get one decision; random invalid ones always get an input error; any
//! JSON at all gets an answer without a panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use triage_engine::{Bundle, Catalog, FieldType, StepResult};

use crate::common::{reference, with};

thread_local! {
    static BUNDLE: (Bundle, Catalog) = {
        let bundle = reference();
        let catalog = bundle.catalog();
        (bundle, catalog)
    };
}

/// A valid ticket built from `choices`: every field of the schema gets a value
/// from its declared set (or is left out when optional), and the issue type is
/// drawn from the sets of the chosen category.
fn valid_ticket(catalog: &Catalog, choices: &[u32]) -> Value {
    let mut ticket = json!({});
    let mut next = choices.iter().cycle().copied();
    let mut pick = |n: usize| next.next().unwrap_or(0) as usize % n.max(1);
    let mut category = String::new();
    for field in &catalog.ticket.fields {
        let optional = !field.required;
        if optional && pick(4) == 0 {
            continue;
        }
        let value = match (field.kind, &field.values) {
            (FieldType::Enum, Some(values)) if &*field.path == "issue.type" => {
                let members: Vec<&str> = catalog
                    .sets
                    .iter()
                    .filter(|s| s.id.starts_with(&category))
                    .flat_map(|s| s.members.iter().map(|m| &**m))
                    .collect();
                assert!(!members.is_empty() && !values.is_empty());
                json!(members[pick(members.len())])
            }
            (FieldType::Enum, Some(values)) => {
                let v = &values[pick(values.len())];
                if &*field.path == "category" {
                    category = v.to_string();
                }
                json!(v)
            }
            (FieldType::List, Some(values)) => Value::Array(
                values
                    .iter()
                    .filter(|_| pick(2) == 0)
                    .map(|v| json!(v))
                    .collect(),
            ),
            (FieldType::Bool, _) => json!(pick(2) == 0),
            (FieldType::Integer, _) => json!(pick(1000)),
            (FieldType::Timestamp, _) => json!(format!(
                "2026-{:02}-{:02}T{:02}:00:00Z",
                pick(12) + 1,
                pick(28) + 1,
                pick(24)
            )),
            _ => json!(format!("value-{}", pick(100_000))),
        };
        ticket = with(ticket, &[(&field.path, value)]);
    }
    ticket
}

fn ticket_choices() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 24..48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_valid_ticket_gets_exactly_one_decision(choices in ticket_choices()) {
        BUNDLE.with(|(bundle, catalog)| {
            let ticket = valid_ticket(catalog, &choices);
            let decision = bundle.decide(&ticket).map_err(|e| TestCaseError::fail(format!("{e}\n{ticket}")))?;
            let rules: Vec<_> = decision.trace.iter().filter(|s| s.kind == triage_engine::StepKind::Rule).collect();
            let matched: Vec<_> = rules.iter().filter(|s| s.result == StepResult::Matched).collect();
            prop_assert_eq!(matched.len(), 1);
            prop_assert_eq!(&matched[0].id, &decision.rule);
            prop_assert_eq!(&rules.last().unwrap().id, &decision.rule);
            prop_assert!(decision.trace.iter().all(|s| s.result != StepResult::Error));
            Ok(())
        })?;
    }

    #[test]
    fn an_invalid_ticket_gets_an_input_error(choices in ticket_choices(), kind in 0..6usize, junk in "[a-z_]{1,12}") {
        BUNDLE.with(|(bundle, catalog)| {
            let ticket = valid_ticket(catalog, &choices);
            let fields = &catalog.ticket.fields;
            let field = &fields[choices[0] as usize % fields.len()];
            let required: Vec<_> = fields.iter().filter(|f| f.required).collect();
            let broken = match kind {
                // A value outside the declared set.
                0 => {
                    let enums: Vec<_> = fields.iter().filter(|f| f.kind == FieldType::Enum).collect();
                    let f = enums[choices[1] as usize % enums.len()];
                    with(ticket, &[(&f.path, json!(format!("not-{junk}")))])
                }
                // A required field left out.
                1 => with(ticket, &[(&required[choices[1] as usize % required.len()].path, Value::Null)]),
                // A field nobody declared.
                2 => with(ticket, &[(&format!("{}_{junk}", field.path), json!(1))]),
                // The wrong type.
                3 => with(ticket, &[(&field.path, if field.kind == FieldType::String { json!(7) } else { json!({ "x": junk }) })]),
                // An issue type of the other category.
                4 => {
                    let category = ticket["category"].as_str().unwrap().to_owned();
                    let other = catalog.sets.iter().find(|s| !s.id.starts_with(&category)).unwrap();
                    with(ticket, &[("issue.type", json!(other.members[0]))])
                }
                // Not an object at all.
                _ => json!([junk]),
            };
            let rejection = bundle.decide(&broken).err();
            prop_assert!(rejection.as_ref().is_some_and(|r| r.is_invalid_ticket()), "{} gave {:?}", broken, rejection);
            Ok(())
        })?;
    }

    #[test]
    fn any_json_gets_an_answer(value in arbitrary_json()) {
        BUNDLE.with(|(bundle, _)| {
            // A decision, or a rejection of the input: never a panic, and
            // never an evaluation error, which would be a bug in the pack.
            let result = bundle.decide(&value);
            prop_assert!(result.as_ref().map_or_else(|e| e.is_invalid_ticket(), |_| true), "{:?}", result);
            Ok(())
        })?;
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z_.]{0,16}".prop_map(Value::from),
        prop::sample::select(vec![
            "azure",
            "technical",
            "product_bug",
            "A",
            "gdap",
            "helpdesk_agent",
            "premier"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "service",
                    "category",
                    "issue",
                    "type",
                    "customer",
                    "partner",
                    "requester",
                    "role",
                    "diagnosed",
                    "x"
                ]),
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}
