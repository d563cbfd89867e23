//! Batch mode: JSON Lines in, one line out per line in, in order, with error
//! records for bad lines; and the seeded ticket generator it is measured with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;

use serde_json::{Value, json};
use triage::cli::exit;

use crate::common::cli as triage;

use crate::serve_support::{EXAMPLE, POLICIES, example};

fn write_lines(dir: &tempfile::TempDir, name: &str, lines: &[String]) -> String {
    let path = dir.path().join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    path.display().to_string()
}

#[test]
fn every_line_yields_one_line_in_order_with_error_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut second = example();
    second["id"] = json!("T-2");
    let lines = vec![
        example().to_string(),
        "{\"id\": \"T-broken\", ".to_owned(),
        String::new(),
        json!({"id": "T-invalid", "service": "nope"}).to_string(),
        second.to_string(),
    ];
    let input = write_lines(&dir, "tickets.jsonl", &lines);
    let output = dir.path().join("decisions.jsonl");
    let (code, _, err) = triage(&[
        "eval",
        "--policies",
        POLICIES,
        "--input",
        &input,
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(code, exit::INVALID_TICKET, "{err}");
    let text = std::fs::read_to_string(&output).unwrap();
    let out: Vec<&str> = text.lines().collect();
    assert_eq!(out.len(), lines.len());

    // Decisions for good lines are byte-identical to `eval --format json`.
    let (code, single, _) = triage(&["eval", "--policies", POLICIES, "--format", "json", EXAMPLE]);
    assert_eq!(code, exit::DECIDED);
    assert_eq!(out[0], single.trim_end());

    let records: Vec<Value> = out
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[0]["ticket_id"], "T-1001");
    assert!(records[0].get("line").is_none());
    assert_eq!(records[1]["line"], 2);
    assert_eq!(records[1]["ticket_id"], Value::Null);
    assert_eq!(records[1]["error"]["kind"], "invalid_ticket");
    assert!(
        records[1]["error"]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON")
    );
    assert_eq!(records[2]["line"], 3);
    assert_eq!(
        records[2]["error"]["problems"][0]["message"],
        "the line is empty"
    );
    assert_eq!(records[3]["line"], 4);
    assert_eq!(records[3]["ticket_id"], "T-invalid");
    let fields: Vec<&str> = records[3]["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"service") && fields.contains(&"category"),
        "{fields:?}"
    );
    assert_eq!(records[4]["ticket_id"], "T-2");
    assert!(
        records[4]["policy"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    assert!(
        err.contains("5 lines: 2 decided, 3 invalid (2 malformed), 0 evaluation errors"),
        "{err}"
    );
    assert!(
        err.contains("by outcome:") && err.contains("escalate"),
        "{err}"
    );
}

#[test]
fn generated_tickets_are_valid_deterministic_and_decided_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "gen",
        "tickets",
        "--count",
        "1500",
        "--seed",
        "42",
        "--policies",
        POLICIES,
    ];
    let (code, first, err) = triage(&args);
    assert_eq!(code, exit::DECIDED, "{err}");
    let (_, again, _) = triage(&args);
    assert_eq!(first, again);
    let (_, other, _) = triage(&[
        "gen",
        "tickets",
        "--count",
        "1500",
        "--seed",
        "43",
        "--policies",
        POLICIES,
    ]);
    assert_ne!(first, other);

    let lines: Vec<String> = first.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1500);
    let input = write_lines(&dir, "generated.jsonl", &lines);
    // More lines than one chunk and several workers: order must survive.
    let (code, out, err) = triage(&[
        "eval",
        "--policies",
        POLICIES,
        "--input",
        &input,
        "--workers",
        "3",
    ]);
    assert_eq!(code, exit::DECIDED, "{err}");
    let decided: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decided.len(), 1500);
    // Read and written the short way, each line is the long way's bytes.
    let bundle = triage_engine::Bundle::load(POLICIES).unwrap();
    for (written, line) in out.lines().zip(&lines) {
        let ticket: Value = serde_json::from_str(line).unwrap();
        let long_way = serde_json::to_string(&bundle.decide(&ticket).unwrap()).unwrap();
        assert_eq!(written, long_way);
    }
    for (i, (decision, line)) in decided.iter().zip(&lines).enumerate() {
        let ticket: Value = serde_json::from_str(line).unwrap();
        assert_eq!(decision["ticket_id"], ticket["id"], "line {}", i + 1);
        assert!(
            decision["outcome"].is_string(),
            "line {}: {decision}",
            i + 1
        );
    }
    // Drawn from the whole schema: more than one outcome shows up.
    let outcomes: std::collections::BTreeSet<&str> = decided
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert!(outcomes.len() >= 3, "{outcomes:?}");
}

#[test]
fn an_unreadable_input_is_exit_1() {
    let (code, _, err) = triage(&[
        "eval",
        "--policies",
        POLICIES,
        "--input",
        "/nonexistent/tickets.jsonl",
    ]);
    assert_eq!(code, exit::OTHER);
    assert!(
        err.contains("cannot read `/nonexistent/tickets.jsonl`"),
        "{err}"
    );
}

/// Fails every write after the first `left` bytes, like a closed pipe.
struct ClosesEarly {
    left: usize,
}

impl Write for ClosesEarly {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_output_that_closes_stops_the_run_with_its_error() {
    let bundle = crate::common::reference();
    let ticket = example().to_string();
    let input: String = (0..5000).map(|_| format!("{ticket}\n")).collect();
    let mut reader = std::io::Cursor::new(input.into_bytes());
    let mut output = ClosesEarly { left: 10_000 };
    let options = triage_service::batch::Options {
        workers: 2,
        ..Default::default()
    };
    let result = triage_service::batch::run(
        &bundle,
        &mut reader,
        &mut output,
        &options,
        &mut |_, _| {},
        None,
    );
    let error = result.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
}
