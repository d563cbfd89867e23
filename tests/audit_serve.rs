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
