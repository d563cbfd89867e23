//! Same ticket and bundle, same bytes: no clock, no randomness, no directory order.

use serde_json::json;
use triage_engine::Bundle;

use crate::common::{generated, pack_copy, policies_dir, reference, ticket, with};

#[test]
fn the_same_ticket_gives_byte_identical_json() {
    let bundle = reference();
    let first = serde_json::to_string(&bundle.decide(&ticket()).unwrap()).unwrap();
    let second = serde_json::to_string(&bundle.decide(&ticket()).unwrap()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn a_copy_in_another_directory_has_the_same_digest_and_decisions() {
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    let copy = Bundle::load(dir.path()).unwrap();
    let original = reference();
    assert_eq!(copy.policy(), original.policy());
    assert!(copy.policy().digest.starts_with("sha256:"));
    assert_eq!(copy.policy().digest.len(), "sha256:".len() + 64);
    let a = serde_json::to_string(&original.decide(&ticket()).unwrap()).unwrap();
    let b = serde_json::to_string(&copy.decide(&ticket()).unwrap()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn any_changed_byte_changes_the_digest_and_unlisted_files_do_not() {
    let dir = tempfile::tempdir().unwrap();
    pack_copy(dir.path(), None);
    let before = Bundle::load(dir.path()).unwrap().policy().digest.clone();

    std::fs::write(dir.path().join("notes.yaml"), "not: listed\n").unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(dir.path().join("tests/suite.yaml"), "cases: []\n").unwrap();
    assert_eq!(Bundle::load(dir.path()).unwrap().policy().digest, before);

    let vehicles = dir.path().join("vehicles.yaml");
    let mut text = std::fs::read_to_string(&vehicles).unwrap();
    text.push(' ');
    std::fs::write(&vehicles, text).unwrap();
    assert_ne!(Bundle::load(dir.path()).unwrap().policy().digest, before);
}

#[test]
fn the_order_of_keys_in_a_ticket_does_not_matter() {
    let bundle = reference();
    let forward = r#"{"id":"T-7","service":"azure","category":"technical","issue":{"type":"how_to"},
        "customer":{"id":"c","admin_relationship":"gdap"},"requester":{"role":"admin_agent"}}"#;
    let backward = r#"{"requester":{"role":"admin_agent"},"customer":{"admin_relationship":"gdap","id":"c"},
        "issue":{"type":"how_to"},"category":"technical","service":"azure","id":"T-7"}"#;
    let a = bundle
        .decide(&serde_json::from_str(forward).unwrap())
        .unwrap();
    let b = bundle
        .decide(&serde_json::from_str(backward).unwrap())
        .unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn decisions_are_the_same_on_every_thread() {
    let bundle = reference();
    let expected = serde_json::to_string(&bundle.decide(&ticket()).unwrap()).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let bundle = bundle.clone();
            std::thread::spawn(move || {
                // Interleaved with another ticket's decision; no rule reads
                // the summary, so both decisions are the same.
                let t = with(ticket(), &[("issue.summary", json!(format!("thread {i}")))]);
                let other = serde_json::to_string(&bundle.decide(&t).unwrap()).unwrap();
                let same = serde_json::to_string(&bundle.decide(&ticket()).unwrap()).unwrap();
                (other, same)
            })
        })
        .collect();
    for handle in handles {
        let (other, same) = handle.join().unwrap();
        assert_eq!(same, expected);
        assert_eq!(other, expected);
    }
}

#[test]
fn a_bundle_rebuilt_from_its_own_files_is_the_same_bundle() {
    let original = reference();
    let rebuilt = Bundle::from_files(original.files()).unwrap();
    assert_eq!(rebuilt.policy(), original.policy());
    assert_eq!(original.files()[0].name, "bundle.yaml");
}

#[test]
fn a_typed_ticket_is_decided_like_its_json() {
    #[derive(serde::Serialize)]
    struct Issue<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Ticket<'a> {
        id: &'a str,
        service: &'a str,
        category: &'a str,
        issue: Issue<'a>,
        customer: serde_json::Value,
        requester: serde_json::Value,
    }
    let typed = Ticket {
        id: "T-typed",
        service: "office365",
        category: "technical",
        issue: Issue { kind: "how_to" },
        customer: json!({ "id": "c", "admin_relationship": "gdap" }),
        requester: json!({ "role": "helpdesk_agent" }),
    };
    let bundle = reference();
    let from_typed = bundle.decide_typed(&typed).unwrap();
    let from_json = bundle
        .decide(&serde_json::to_value(&typed).unwrap())
        .unwrap();
    assert_eq!(from_typed, from_json);
    assert_eq!(&*from_typed.outcome, "partner_resolves");
}

#[test]
fn many_tickets_decided_at_once_on_one_shared_bundle_give_the_single_thread_bytes() {
    let bundle = Bundle::load(policies_dir()).unwrap();
    let tickets = generated(300, 2027);
    let bytes = |ticket: &serde_json::Value| serde_json::to_string(&bundle.decide(ticket)).unwrap();
    let expected: Vec<String> = tickets.iter().map(bytes).collect();
    let decided = expected
        .iter()
        .filter(|json| json.starts_with("{\"Ok\""))
        .count();
    assert!(decided > 100, "only {decided} of {} decided", tickets.len());

    const THREADS: usize = 4;
    let start = std::sync::Barrier::new(THREADS);
    let results: Vec<Vec<(usize, String)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (start, tickets, bytes) = (&start, &tickets, &bytes);
                scope.spawn(move || {
                    // Each thread its own order: rotated, odd threads backwards.
                    let mut order: Vec<usize> = (0..tickets.len()).collect();
                    order.rotate_left(t * tickets.len() / THREADS);
                    if t % 2 == 1 {
                        order.reverse();
                    }
                    start.wait();
                    order.into_iter().map(|i| (i, bytes(&tickets[i]))).collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (t, result) in results.iter().enumerate() {
        assert_eq!(result.len(), tickets.len());
        for (i, json) in result {
            assert_eq!(json, &expected[*i], "thread {t}, ticket {i}");
        }
    }
}
