//! The decision log written by the service: every answer recorded, the chain
//! intact, and replay reproducing every decision, also after the policies change.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{ONE_RULE_CHANGE, arg, binary, generated, pack_copy, reference};
use crate::serve_support::{Process, request};

#[test]
fn a_log_written_by_the_server_verifies_and_replays_after_the_policies_change() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    pack_copy(&policies, None);
    let log = dir.path().join("audit/decisions.jsonl");
    let mut server = Process::start(
        &policies,
        &[
            "--no-watch",
            "--decision-log",
            arg(&log),
            "--log-flush",
            "batch",
        ],
    );

    let tickets = generated(40, 5);
    let bundle = reference();
    let mut answered = Vec::new();
    for ticket in &tickets {
        let response = request(
            server.addr,
            "POST",
            "/v1/decisions",
            &[],
            ticket.to_string().as_bytes(),
        );
        assert!(
            response.status == 200 || response.status == 400,
            "{}",
            response.status
        );
        // Recorded or not, an answer is the library's bytes.
        let expected = match bundle.decide(ticket) {
            Ok(decision) => serde_json::to_vec(&decision).unwrap(),
            Err(rejection) => serde_json::to_vec(&rejection).unwrap(),
        };
        assert_eq!(
            String::from_utf8_lossy(&response.body),
            String::from_utf8_lossy(&expected)
        );
        answered.push(serde_json::from_slice::<Value>(&response.body).unwrap());
    }
    let batch = Value::Array(tickets[..10].to_vec());
    assert_eq!(
        request(
            server.addr,
            "POST",
            "/v1/decisions/batch",
            &[],
            batch.to_string().as_bytes()
        )
        .status,
        200
    );
    let invalid = json!({ "id": "T-bad" });
    assert_eq!(
        request(
            server.addr,
            "POST",
            "/v1/decisions",
            &[],
            invalid.to_string().as_bytes()
        )
        .status,
        400
    );
    assert_eq!(
        request(server.addr, "POST", "/v1/decisions", &[], b"{ not json").status,
        400
    );
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());

    let (code, out, _) = binary(&["audit", "verify", arg(&log)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("52 records"), "{out}");
    // Each single ticket's record holds what was answered, masked fields
    // aside (the reference pack's rules read none).
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (record, answer) in records.iter().zip(&answered) {
        let logged = record.get("decision").or_else(|| record.get("rejection"));
        assert_eq!(logged, Some(answer));
    }

    // The policies are edited after the fact: replay decides with the archived bundle.
    pack_copy(&policies, Some(ONE_RULE_CHANGE));
    let (code, out, _) = binary(&["audit", "replay", arg(&log)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 differ"), "{out}");
    assert!(out.contains("replayed 52 records"), "{out}");
}

#[test]
fn batch_mode_logs_every_line_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tickets.jsonl");
    let mut lines: Vec<String> = generated(30, 9).iter().map(Value::to_string).collect();
    lines.insert(7, "{ broken".to_owned());
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let log = dir.path().join("decisions.jsonl");
    let output = dir.path().join("out.jsonl");
    let policies = crate::common::policies_dir();
    let (code, out, _) = binary(&[
        "eval",
        "--policies",
        arg(&policies),
        "--input",
        arg(&input),
        "--output",
        arg(&output),
        "--decision-log",
        arg(&log),
    ]);
    assert_eq!(code, 2, "{out}");
    let records: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 31);
    assert!(records[7]["ticket"].is_null());
    let outputs: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(outputs.len(), records.len());
    for (record, output) in records.iter().zip(&outputs) {
        let id = record["decision"]["ticket_id"]
            .as_str()
            .or(record["rejection"]["ticket_id"].as_str());
        assert_eq!(id, output["ticket_id"].as_str());
    }
    // A decided line is the library's bytes, and its record holds it.
    let bundle = reference();
    let texts = std::fs::read_to_string(&output).unwrap();
    let decided =
        (lines.iter().zip(texts.lines()).zip(&records)).filter_map(|((line, text), record)| {
            let decision = bundle.decide(&serde_json::from_str(line).ok()?).ok()?;
            Some((serde_json::to_string(&decision).unwrap(), text, record))
        });
    let mut count = 0;
    for (expected, text, record) in decided {
        assert_eq!(text, expected);
        assert_eq!(
            record["decision"],
            serde_json::from_str::<Value>(text).unwrap()
        );
        count += 1;
    }
    assert!(count >= 10, "{count} lines decided");
    let (code, out, _) = binary(&["audit", "verify", arg(&log)]);
    assert_eq!(code, 0, "{out}");
}

/// One ticket sent in several written forms (compact, keys in another
/// order, pretty-printed, with escapes serde_json would not write) gets one
/// record: the service sorts the text it can and reads the rest into a
/// value, and both give the same ticket, masked field included, and the
/// same decision.
#[test]
fn written_forms_of_one_ticket_get_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let policies = dir.path().join("policies");
    pack_copy(&policies, None);
    let mut server = Process::start(&policies, &["--no-watch", "--decision-log", arg(&log)]);
    let tickets = generated(12, 9);
    let forms = |ticket: &Value| {
        let compact = ticket.to_string();
        let mut reversed = String::new();
        keys_reversed(ticket, &mut reversed);
        // A letter of a key (the masked field's among them), escaped as
        // serde_json would not write it.
        let escaped = [
            ("\"summary\"", "\"summ\\u0061ry\""),
            ("\"severity\"", "\"s\\u0065verity\""),
        ]
        .map(|(plain, escaped)| compact.replacen(plain, escaped, 1));
        assert!(escaped.iter().all(|form| *form != compact), "{compact}");
        let pretty = serde_json::to_string_pretty(ticket).unwrap();
        [vec![compact, reversed, pretty], escaped.to_vec()].concat()
    };
    let (mut sent, per_ticket) = (0, forms(&tickets[0]).len());
    for ticket in &tickets {
        let mut statuses = Vec::new();
        for form in forms(ticket) {
            let response = request(server.addr, "POST", "/v1/decisions", &[], form.as_bytes());
            statuses.push(response.status);
            sent += 1;
        }
        assert!(statuses.iter().all(|&s| s == statuses[0]), "{statuses:?}");
    }
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).success());
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), sent);
    let mut masked = 0;
    for (ticket, group) in tickets.iter().zip(records.chunks(per_ticket)) {
        let first = &group[0];
        for record in group {
            for key in ["ticket", "decision", "rejection", "masked"] {
                assert_eq!(record[key], first[key], "{key} of {ticket}");
            }
        }
        masked += usize::from(first["masked"].as_array().is_some_and(|m| !m.is_empty()));
    }
    assert!(masked > 6, "{masked} of 12 tickets had a masked field");
    let (code, out, _) = binary(&["audit", "verify", arg(&log)]);
    assert_eq!(code, 0, "{out}");
}

/// `value` as JSON text with every object's keys in reverse order.
fn keys_reversed(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().rev().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                keys_reversed(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}
