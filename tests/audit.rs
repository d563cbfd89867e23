//! The decision log: its records, hash chain, masking, lock, rotation, and
//! `audit verify` catching every kind of tampering at the right line.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use triage_audit::verify::{Damage, verify};
use triage_audit::{AuditError, Decided, DecisionLog, Flush, GENESIS, LogOptions, Record, Ticket};
use triage_engine::RejectionKind;

use crate::common::{bin, generated, reference, ticket, with};

/// A log of `n` decisions of the reference pack, in a fresh directory.
pub fn write_log(dir: &Path, n: usize, options: LogOptions) -> PathBuf {
    let path = dir.join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, options).unwrap();
    for t in generated(n, 7) {
        let result = bundle.decide(&t);
        log.append(&bundle, &t, &result).unwrap();
    }
    path
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// Verifies and returns the damage and line of the first break.
fn first_break(path: &Path) -> (Damage, usize, String) {
    let checked = verify(&[path.to_path_buf()]).unwrap();
    let b = checked.broken.expect("the tampering is caught");
    (b.damage, b.line, b.detail)
}

#[test]
fn records_carry_the_decision_and_chain_from_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 12, LogOptions::default());
    let bundle = reference();
    let tickets = generated(12, 7);
    let mut prev = GENESIS.to_owned();
    let mut ids = std::collections::HashSet::new();
    for (i, line) in lines(&path).iter().enumerate() {
        let record: Record = serde_json::from_str(line).unwrap();
        assert_eq!(record.schema, "triage.decision/v1");
        assert_eq!(record.seq, i as u64 + 1);
        assert_eq!(record.prev, prev);
        assert_eq!(&record.policy, bundle.policy());
        assert!(ids.insert(record.id.clone()), "decision ids are unique");
        // The hash covers the canonical record without `hash`.
        let mut value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(triage_audit::record::hash_of(&mut value), record.hash);
        let expected = bundle.decide(&tickets[i]);
        match (record.result().unwrap(), &expected) {
            (Ok(logged), Ok(decided)) => assert_eq!(logged.rule, decided.rule),
            (Err(logged), Err(decided)) => assert_eq!(logged.error, decided.error),
            _ => panic!("record {i} holds another kind of result"),
        }
        prev = record.hash;
    }
    let checked = verify(&[path]).unwrap();
    assert!(checked.broken.is_none());
    assert_eq!(checked.records, 12);
    assert_eq!(checked.head, prev);
}

/// The record a fresh log in `dir` writes for `ticket`, decided by the reference pack.
fn record_of(dir: &Path, ticket: &Value) -> Record {
    let path = dir.join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    log.append(&bundle, ticket, &bundle.decide(ticket)).unwrap();
    drop(log);
    serde_json::from_str(&lines(&path)[0]).unwrap()
}

#[test]
fn rejections_are_logged_too() {
    let dir = tempfile::tempdir().unwrap();
    let bad = with(ticket(), &[("service", json!("nonsense"))]);
    let record = record_of(dir.path(), &bad);
    assert!(record.decision.is_none());
    assert!(record.rejection.unwrap().is_invalid_ticket());
    assert_eq!(record.ticket["service"], "nonsense");
}

#[test]
fn masked_fields_are_hashed_with_the_log_salt_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = reference();
    let secret = "customer says their CEO's mailbox is gone";
    let t1 = with(ticket(), &[("issue.summary", json!(secret))]);
    let t2 = with(
        ticket(),
        &[("id", json!("T-2")), ("issue.summary", json!(secret))],
    );
    let t3 = with(
        ticket(),
        &[("id", json!("T-3")), ("issue.summary", json!("other"))],
    );
    let mut tokens = Vec::new();
    for name in ["a.jsonl", "b.jsonl"] {
        let path = dir.path().join(name);
        let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        for t in [&t1, &t2, &t3] {
            log.append(&bundle, t, &bundle.decide(t)).unwrap();
        }
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(secret),
            "the masked value never reaches the log"
        );
        let records: Vec<Record> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let summary = |r: &Record| r.ticket["issue"]["summary"].as_str().unwrap().to_owned();
        assert_eq!(records[0].masked, ["issue.summary"]);
        assert!(summary(&records[0]).starts_with("masked:sha256:"));
        assert_eq!(
            summary(&records[0]),
            summary(&records[1]),
            "same value, same token"
        );
        assert_ne!(summary(&records[0]), summary(&records[2]));
        // Unmasked fields are kept as they were.
        assert_eq!(records[0].ticket["service"], "azure");
        tokens.push(summary(&records[0]));
        let salt = std::fs::read_to_string(dir.path().join(format!("{name}.salt"))).unwrap();
        assert_eq!(salt.trim().len(), 64);
    }
    assert_ne!(tokens[0], tokens[1], "each log has its own salt");
}

#[test]
fn a_problem_with_a_masked_field_does_not_quote_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let bad = with(ticket(), &[("issue.summary", json!(987_654_321))]);
    let record = record_of(dir.path(), &bad);
    let rejection = record.rejection.unwrap();
    let RejectionKind::InvalidTicket { problems } = &rejection.error else {
        panic!("{:?}", rejection.error);
    };
    let problem = problems
        .iter()
        .find(|p| p.field == "issue.summary")
        .unwrap();
    assert_eq!(
        (&*problem.found, &*problem.message),
        ("(masked)", "(masked)")
    );
    assert_eq!(record.masked, ["issue.summary"]);
    let text = serde_json::to_string(&record.ticket).unwrap();
    assert!(!text.contains("987654321"), "{text}");
}

#[test]
fn a_ticket_without_the_masked_field_lists_no_masked_field() {
    let dir = tempfile::tempdir().unwrap();
    let record = record_of(dir.path(), &ticket());
    assert!(record.masked.is_empty());
    assert_eq!(record.ticket, ticket());
}

#[test]
fn only_string_fields_can_be_masked() {
    let error = crate::common::edited(
        "ticket.yaml",
        "category: { type: enum, values: [technical, commercial], required: true }",
        "category: { type: enum, values: [technical, commercial], required: true, mask: true }",
    )
    .unwrap_err();
    let problem = &error.problems[0];
    assert_eq!(error.problems.len(), 1);
    assert_eq!(problem.code.as_str(), "bad-mask");
    assert!(
        problem.message.contains("field `category` of type")
            && problem.message.contains("cannot be masked"),
        "{}",
        problem.message
    );
    assert!(
        problem
            .location
            .as_ref()
            .unwrap()
            .to_string()
            .starts_with("ticket.yaml:")
    );
    let catalog = reference().catalog();
    let masked: Vec<&str> = catalog
        .ticket
        .fields
        .iter()
        .filter(|f| f.mask)
        .map(|f| &*f.path)
        .collect();
    assert_eq!(masked, ["issue.summary"]);
}

/// Writes a log of ten records, applies `edit` to its lines, and verifies it:
/// the damage and line of the first break.
fn tampered(edit: impl FnOnce(&mut Vec<String>)) -> (Damage, usize, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 10, LogOptions::default());
    let mut all = lines(&path);
    edit(&mut all);
    write_lines(&path, &all);
    first_break(&path)
}

/// Changes the ticket id in the fourth record, and rehashes it if `rehash`.
fn forge_fourth(all: &mut [String], rehash: bool) {
    let mut record: Value = serde_json::from_str(&all[3]).unwrap();
    record["ticket"]["id"] = json!("SOMEONE-ELSE");
    if rehash {
        let hash = triage_audit::record::hash_of(&mut record);
        record["hash"] = json!(hash);
    }
    all[3] = record.to_string();
}

#[test]
fn verify_catches_an_edited_record_at_its_line() {
    let (damage, line, detail) = tampered(|all| forge_fourth(all, false));
    assert_eq!((damage, line), (Damage::Edited, 4), "{detail}");
}

#[test]
fn verify_catches_an_edit_whose_hash_was_recomputed_at_the_next_record() {
    let (damage, line, detail) = tampered(|all| forge_fourth(all, true));
    assert_eq!((damage, line), (Damage::Inserted, 5), "{detail}");
    assert!(detail.contains("does not chain"), "{detail}");
}

#[test]
fn verify_catches_a_deleted_record() {
    let (damage, line, detail) = tampered(|all| {
        all.remove(3);
    });
    assert_eq!((damage, line), (Damage::Deleted, 4), "{detail}");
    assert!(detail.contains("record 4 is missing"), "{detail}");
}

#[test]
fn a_report_marks_a_broken_log_broken_whatever_the_log_is_called() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 10, LogOptions::default());
    let mut all = lines(&path);
    all.swap(5, 6);
    write_lines(&path, &all);
    let mut report = triage_audit::report::report(&path).unwrap();
    assert!(!report.intact);
    // As it reads for a log called `intact.jsonl` in the working directory.
    report.integrity = "intact.jsonl:6: reordered: record 6 is out of order".to_owned();
    let html = triage_audit::html::html(&report);
    assert!(html.contains("class=\"broken\""), "{html}");
    assert!(!html.contains("class=\"intact\""), "{html}");
}

#[test]
fn verify_catches_swapped_records() {
    let (damage, line, detail) = tampered(|all| all.swap(5, 6));
    assert_eq!((damage, line), (Damage::Reordered, 6), "{detail}");
}

#[test]
fn verify_catches_an_inserted_copy_and_an_inserted_line() {
    let (damage, line, detail) = tampered(|all| all.insert(6, all[2].clone()));
    assert_eq!((damage, line), (Damage::Inserted, 7), "{detail}");
    assert!(detail.contains("copy of record 3"), "{detail}");

    let record = r#"{"schema":"triage.decision/v1","seq":3}"#;
    let (damage, line, _) = tampered(|all| all.insert(2, record.to_owned()));
    assert_eq!((damage, line), (Damage::Edited, 3));
    let (damage, _, _) = tampered(|all| {
        all.insert(2, record.to_owned());
        all[2] = "not json".to_owned();
    });
    assert_eq!(damage, Damage::Malformed);
}

#[test]
fn verify_catches_a_truncated_log_as_torn_at_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 10, LogOptions::default());
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 40]).unwrap();
    let (damage, line, _) = first_break(&path);
    assert_eq!((damage, line), (Damage::Torn, 10));
}

#[test]
fn whole_records_cut_from_the_end_show_in_the_count_and_head() {
    // The chain alone cannot tell a log from its own prefix: auditors compare
    // the count and head that verify prints with those noted earlier.
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 10, LogOptions::default());
    let before = verify(std::slice::from_ref(&path)).unwrap();
    let mut all = lines(&path);
    all.pop();
    write_lines(&path, &all);
    let after = verify(&[path]).unwrap();
    assert!(after.broken.is_none());
    assert_eq!((before.records, after.records), (10, 9));
    assert_ne!(before.head, after.head);
}

#[test]
fn verify_cli_exits_1_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6, LogOptions::default());
    let ok = Command::new(bin())
        .args(["audit", "verify"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("intact: 6 records"));
    let mut all = lines(&path);
    all.swap(1, 2);
    write_lines(&path, &all);
    let bad = Command::new(bin())
        .args(["audit", "verify"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(stdout.contains("decisions.jsonl:2: reordered"), "{stdout}");
}

#[test]
fn rotation_keeps_the_chain_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions {
        flush: Flush::Batch(8),
        max_bytes: Some(20_000),
    };
    let path = write_log(dir.path(), 40, options);
    // Reopening goes on from the last record of the newest segment.
    let bundle = reference();
    let mut log = DecisionLog::open(&path, options).unwrap();
    assert_eq!(log.records(), 40);
    log.append(&bundle, &ticket(), &bundle.decide(&ticket()))
        .unwrap();
    drop(log);
    let segments = triage_audit::read::rotated(&path).unwrap();
    assert!(segments.len() >= 3, "{segments:?}");
    assert_eq!(segments[0].1, dir.path().join("decisions.1.jsonl"));
    let checked = verify(std::slice::from_ref(&path)).unwrap();
    assert!(checked.broken.is_none(), "{:?}", checked.broken);
    assert_eq!(checked.records, 41);
    assert_eq!(checked.files.len(), segments.len() + 1);
    // A segment taken away breaks the chain at the start of the next one.
    std::fs::remove_file(&segments[1].1).unwrap();
    let b = verify(&[path]).unwrap().broken.unwrap();
    assert_eq!((b.damage, b.line), (Damage::Deleted, 1));
    assert_eq!(b.file, segments[2].1);
}

#[test]
fn a_second_writer_is_refused_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    log.append(&bundle, &ticket(), &bundle.decide(&ticket()))
        .unwrap();
    assert!(matches!(
        DecisionLog::open(&path, LogOptions::default()),
        Err(AuditError::Locked { .. })
    ));
    // Another process is refused too, with a clear message, and decides nothing.
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tickets/premier-critical.json");
    let run = || {
        Command::new(bin())
            .args(["eval", "--policies"])
            .arg(crate::common::policies_dir())
            .arg(&example)
            .arg("--decision-log")
            .arg(&path)
            .output()
            .unwrap()
    };
    let refused = run();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is in use by another process"), "{stderr}");
    assert!(refused.stdout.is_empty(), "no decision without its record");
    log.append(&bundle, &ticket(), &bundle.decide(&ticket()))
        .unwrap();
    drop(log);
    let accepted = run();
    assert_eq!(accepted.status.code(), Some(0));
    let checked = verify(&[path]).unwrap();
    assert!(checked.broken.is_none());
    assert_eq!(checked.records, 3);
}

#[test]
fn a_masked_field_read_by_a_rule_is_masked_in_the_trace_and_still_replays() {
    let bundle = crate::common::edited(
        "boundaries.yaml",
        r#"when: technical && service == "marketplace""#,
        r#"when: technical && service == "marketplace" && issue.summary != "never""#,
    )
    .unwrap();
    let secret = "the publisher's app leaks tokens";
    let t = with(
        ticket(),
        &[
            ("service", json!("marketplace")),
            ("issue.summary", json!(secret)),
        ],
    );
    let decision = bundle.decide(&t).unwrap();
    assert_eq!(
        decision.trace[0].reads.get("issue.summary"),
        Some(&json!(secret)),
        "the rule reads the masked field"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    log.append(&bundle, &t, &Ok(decision)).unwrap();
    // The same decision as the short way writes its JSON, recorded from it.
    let mut json = Vec::new();
    let bytes = serde_json::to_vec(&t).unwrap();
    bundle.write_decision(&bytes, &mut json).unwrap();
    // And from its JSON, or its sorted JSON, and the ticket's sorted text.
    let sorted = triage_audit::canonical::sorted_strict(&bytes).unwrap();
    let (mut again, mut sorted_json) = (Vec::new(), Vec::new());
    bundle
        .write_decision_sorted(&bytes, &mut again, &mut sorted_json)
        .unwrap();
    log.append_all(&[
        (&bundle, Ticket::Value(&t), Decided::Json(&json)),
        (&bundle, Ticket::Canonical(&sorted), Decided::Json(&json)),
        (
            &bundle,
            Ticket::Canonical(&sorted),
            Decided::Sorted(&sorted_json),
        ),
    ])
    .unwrap();
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(secret),
        "neither in the ticket nor in the trace"
    );
    let records: Vec<Record> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let token = records[0].ticket["issue"]["summary"].clone();
    let logged = records[0].decision.as_ref().unwrap();
    assert_eq!(logged.trace[0].reads.get("issue.summary"), Some(&token));
    assert_eq!(records[1].decision.as_ref(), Some(logged));
    assert_eq!(records[1].ticket, records[0].ticket);
    assert_eq!(records[2].decision.as_ref(), Some(logged));
    assert_eq!(records[2].ticket, records[0].ticket);
    assert_eq!(records[3].decision.as_ref(), Some(logged));
    assert_eq!(records[3].ticket, records[0].ticket);
    // The archived bundle, deciding the masked ticket, gives the logged decisions.
    let replay = triage_audit::replay::replay(&path, None).unwrap();
    assert_eq!((replay.identical, replay.different.len()), (4, 0));
}

/// A record written from a walk of every rule (as a triage before the rule
/// index wrote them) replays as identical with an indexed bundle, whose own
/// trace would have `excluded` entries instead.
#[test]
fn a_record_without_the_index_replays_as_identical_with_it() {
    let rules: String = (0..40)
        .map(|i| {
            format!(
                "  - id: extra_{i:03}\n    when: 'customer.id == \"C-{i:03}\" && issue.type in technical_handoff'\n    outcome: escalate\n    path: technical\n    action: file_service_request\n    rationale: A generated rule.\n\n"
            )
        })
        .collect();
    let bundle = crate::common::edited(
        "boundaries.yaml",
        "  - id: commercial_escalation",
        &format!("{rules}  - id: commercial_escalation"),
    )
    .unwrap();
    assert!(bundle.is_indexed());
    let (indexed, walked) = (bundle.decide(&ticket()), bundle.linear().decide(&ticket()));
    assert_ne!(indexed, walked, "the traces differ");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    log.append(&bundle, &ticket(), &walked).unwrap();
    log.append(&bundle, &ticket(), &indexed).unwrap();
    drop(log);
    let replay = triage_audit::replay::replay(&path, None).unwrap();
    assert_eq!((replay.identical, replay.different.len()), (2, 0));
}
