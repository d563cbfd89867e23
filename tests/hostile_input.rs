//! Hostile tickets, each a named case: terminal escapes and forged Markdown
//! rows in what people read, a key named twice, bytes that are not UTF-8, a
//! byte-order mark, and tickets too large to hold, through every entry
//! point (`eval` files and standard input, batch lines, HTTP bodies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use triage::cli::exit;

use crate::common::{arg, bin, cli};
use crate::serve_support::{POLICIES, Server, example};

/// A ticket id that would recolour a terminal and start a Markdown row.
const FORGED: &str = "T-1\u{1b}[31mRED\n| forged | row |";

/// The id as people must see it: every control character visible.
const SHOWN: &str = "T-1\\u{1b}[31mRED\\n| forged | row |";

/// No raw control character, and no line that starts a forged row.
fn assert_unforged(output: &str) {
    assert!(!output.contains('\u{1b}'), "a raw ESC in:\n{output}");
    assert!(!output.contains('\u{202e}'), "a raw U+202E in:\n{output}");
    assert!(
        !output.lines().any(|l| l.starts_with("| forged")),
        "a forged row in:\n{output}"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// The example ticket with `id`, asked for by `role`.
fn ticket_as(id: &str, role: &str) -> Value {
    let mut ticket = example();
    ticket["id"] = json!(id);
    ticket["requester"]["role"] = json!(role);
    ticket
}

/// Runs the built binary with `stdin` as its standard input.
fn with_stdin(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The CLI may stop reading early (past the cap): a closed pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The first problem's message of a rejection record.
fn message(record: &Value) -> &str {
    record["error"]["problems"][0]["message"].as_str().unwrap()
}

// --- Output that cannot be forged -----------------------------------------

#[test]
fn terminal_escapes_in_a_ticket_reach_no_text_output() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let decided = write(
        dir.path(),
        "decided.json",
        ticket_as(FORGED, "billing_admin").to_string().as_bytes(),
    );
    // Rejected: a key and a value that would clear the screen and reverse
    // the text.
    let mut invalid = ticket_as(FORGED, "helpdesk_agent");
    invalid["\u{1b}[2J"] = json!(1);
    invalid["service"] = json!("azure\u{202e}");
    let rejected = write(dir.path(), "rejected.json", invalid.to_string().as_bytes());
    for extra in [&[][..], &["--explain"][..]] {
        let mut args = vec!["eval", "--policies", POLICIES, &decided, &rejected];
        args.extend(extra);
        let (code, out, err) = cli(&args);
        assert_eq!(code, exit::INVALID_TICKET, "{err}");
        assert_unforged(&out);
        assert!(out.contains(&format!("{SHOWN}: ")), "{out}");
        assert!(out.contains("\\u{1b}[2J: unknown field"), "{out}");
        assert!(out.contains("azure\\u{202e}"), "{out}");
    }

    let (code, _, err) = cli(&[
        "eval",
        "--policies",
        POLICIES,
        "--format",
        "json",
        "--decision-log",
        arg(&log),
        &decided,
        &rejected,
    ]);
    assert_eq!(code, exit::INVALID_TICKET, "{err}");
    let (code, shown, err) = cli(&["audit", "show", arg(&log), "--ticket", FORGED]);
    assert_eq!(code, exit::DECIDED, "{err}");
    assert_unforged(&shown);
    assert_eq!(shown.matches("(record ").count(), 2, "{shown}");
    assert!(shown.contains(SHOWN), "{shown}");

    let (code, md, _) = cli(&["audit", "report", arg(&log), "--format", "md"]);
    assert_eq!(code, exit::DECIDED);
    assert_unforged(&md);
    // In both tables a ticket is named in: acting outside its role, rejected.
    let escaped = "T-1\\u{1b}\\[31mRED\\n\\| forged \\| row \\|";
    assert_eq!(md.matches(escaped).count(), 2, "{md}");
    for line in md.lines().filter(|l| l.contains("T-1")) {
        assert_eq!(line.matches(" | ").count(), 4, "a cell too many: {line}");
    }

    let (code, html, _) = cli(&["audit", "report", arg(&log), "--format", "html"]);
    assert_eq!(code, exit::DECIDED);
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
    assert!(
        html.contains("T-1\\u{1b}[31mRED\n| forged | row |"),
        "{html}"
    );
    assert!(html.contains("\\u{1b}[2J"), "{html}");
}

#[test]
fn a_control_character_in_an_error_message_is_escaped_too() {
    let (code, _, err) = cli(&["audit", "show", "/nonexistent\u{1b}[2J", "--ticket", "x"]);
    assert_eq!(code, exit::OTHER);
    assert!(!err.contains('\u{1b}'), "{err}");
    let (_, _, err) = cli(&["eval", "--policies", POLICIES, "no/such\u{1b}[2J.json"]);
    assert!(
        !err.contains('\u{1b}') && err.contains("no/such\\u{1b}[2J.json"),
        "{err}"
    );
}

// --- Duplicate keys ---------------------------------------------------------

/// The example ticket with `"id"` written twice.
fn duplicated() -> String {
    let text = example().to_string();
    text.replacen('{', "{\"id\":\"T-shadow\",", 1)
}

#[test]
fn a_duplicate_key_is_refused_by_eval_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "dup.json", duplicated().as_bytes());
    let (code, out, _) = cli(&["eval", "--policies", POLICIES, "--format", "json", &file]);
    assert_eq!(code, exit::INVALID_TICKET);
    let record = &json_lines(&out)[0];
    assert_eq!(record["ticket_id"], Value::Null);
    let problem = &record["error"]["problems"][0];
    assert_eq!(problem["field"], "id");
    assert_eq!(problem["found"], "`id` twice");
    assert!(
        message(record).starts_with("duplicate key `id` at line 1 column "),
        "{record}"
    );
    // Nested, and on standard input.
    let nested = r#"{"id": "T-1", "issue": {"type": "product_bug", "type": "how_to"}}"#;
    let (code, out, _) = with_stdin(
        &["eval", "--policies", POLICIES, "--format", "json"],
        nested.as_bytes(),
    );
    assert_eq!(code, i32::from(exit::INVALID_TICKET));
    let record = &json_lines(&out)[0];
    assert_eq!(record["error"]["problems"][0]["field"], "issue.type");
    assert!(message(record).starts_with("duplicate key `type` in `issue` at line 1"));
}

#[test]
fn a_duplicate_key_is_refused_on_a_batch_line_and_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let lines = format!("{}\n{}\n{}\n", example(), duplicated(), example());
    let input = write(dir.path(), "in.jsonl", lines.as_bytes());
    let (code, out, _) = cli(&["eval", "--policies", POLICIES, "--input", &input]);
    assert_eq!(code, exit::INVALID_TICKET);
    let records = json_lines(&out);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["ticket_id"], "T-1001");
    assert_eq!(records[1]["line"], 2);
    assert!(message(&records[1]).starts_with("duplicate key `id`"));
    assert_eq!(records[2]["ticket_id"], "T-1001");

    let server = Server::with_policies(POLICIES);
    let response = server.post("/v1/decisions", duplicated().as_bytes());
    assert_eq!(response.status, 400, "{}", response.text());
    let body = response.json();
    assert_eq!(body["error"]["problems"][0]["field"], "id");
    let batch = format!("[{}, {}]", example(), duplicated());
    let response = server.post("/v1/decisions/batch", batch.as_bytes());
    assert_eq!(response.status, 400, "{}", response.text());
    let body = response.json();
    assert_eq!(body["error"]["problems"][0]["field"], "[1].id");
}

// --- Every input of eval gets one answer, in order ---------------------------

#[test]
fn a_file_that_is_not_utf8_among_three_gets_its_answer_in_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let good = example().to_string();
    let first = write(dir.path(), "first.json", good.as_bytes());
    let latin1 = write(dir.path(), "latin1.yaml", b"id: caf\xe9\nservice: azure\n");
    let binary = write(dir.path(), "binary.json", b"{\"id\": \"caf\xe9\"}");
    let empty = write(dir.path(), "empty.json", b"");
    let last = write(dir.path(), "last.json", good.as_bytes());
    let (code, out, err) = cli(&[
        "eval",
        "--policies",
        POLICIES,
        "--format",
        "json",
        &first,
        &latin1,
        &binary,
        &empty,
        &last,
    ]);
    assert_eq!(code, exit::INVALID_TICKET, "{err}");
    let records = json_lines(&out);
    assert_eq!(records.len(), 5, "{out}");
    assert_eq!(records[0]["ticket_id"], "T-1001");
    assert!(
        message(&records[1]).starts_with("not UTF-8 text: "),
        "{}",
        records[1]
    );
    assert!(
        records[1]["error"]["problems"][0]["found"]
            .as_str()
            .unwrap()
            .contains("latin1.yaml")
    );
    assert!(
        message(&records[2]).starts_with("not valid JSON: "),
        "{}",
        records[2]
    );
    assert!(
        message(&records[3]).starts_with("not valid JSON: EOF"),
        "{}",
        records[3]
    );
    assert_eq!(records[4]["ticket_id"], "T-1001");
}

// --- One byte-order mark policy ---------------------------------------------

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn with_bom(text: &str) -> Vec<u8> {
    [BOM, text.as_bytes()].concat()
}

#[test]
fn a_leading_bom_is_skipped_by_every_entry_point() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = example().to_string();
    let json_file = write(dir.path(), "bom.json", &with_bom(&ticket));
    let yaml_file = write(dir.path(), "bom.yaml", &with_bom(&ticket));
    let bare_file = write(dir.path(), "bom", &with_bom(&ticket));
    let (code, out, err) = cli(&[
        "eval",
        "--policies",
        POLICIES,
        "--format",
        "json",
        &json_file,
        &yaml_file,
        &bare_file,
    ]);
    assert_eq!(code, exit::DECIDED, "{out}{err}");
    let (_, expected, _) = cli(&[
        "eval",
        "--policies",
        POLICIES,
        "--format",
        "json",
        &json_file,
    ]);
    let first = expected.lines().next().unwrap();
    assert!(out.lines().all(|l| l == first), "{out}");

    let (code, out, _) = with_stdin(
        &["eval", "--policies", POLICIES, "--format", "json"],
        &with_bom(&ticket),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim_end(), first);

    let lines = [
        with_bom(&ticket),
        b"\n".to_vec(),
        with_bom(&ticket),
        b"\n".to_vec(),
    ]
    .concat();
    let input = write(dir.path(), "bom.jsonl", &lines);
    let (code, out, err) = cli(&["eval", "--policies", POLICIES, "--input", &input]);
    assert_eq!(code, exit::DECIDED, "{out}{err}");
    assert!(out.lines().all(|l| l == first), "{out}");
    let (code, out, _) = with_stdin(&["eval", "--policies", POLICIES, "--input", "-"], &lines);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 2);

    let server = Server::with_policies(POLICIES);
    let response = server.post("/v1/decisions", &with_bom(&ticket));
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), first);
    let response = server.post("/v1/decisions/batch", &with_bom(&format!("[{ticket}]")));
    assert_eq!(response.status, 200, "{}", response.text());

    // Only one, and only first.
    let twice = write(
        dir.path(),
        "twice.json",
        &[BOM, &with_bom(&ticket)].concat(),
    );
    let (code, out, _) = cli(&["eval", "--policies", POLICIES, "--format", "json", &twice]);
    assert_eq!(code, exit::INVALID_TICKET, "{out}");
}

// --- Tickets too large to hold ------------------------------------------------

#[test]
fn a_five_megabyte_line_between_two_good_ones_gets_an_error_record() {
    let dir = tempfile::tempdir().unwrap();
    let good = example().to_string();
    let mut huge = example();
    huge["issue"]["summary"] = json!("x".repeat(5_000_000));
    let huge = huge.to_string();
    let lines = format!("{good}\n{huge}\n{good}\n");
    let input = write(dir.path(), "huge.jsonl", lines.as_bytes());
    for source in [&input[..], "-"] {
        let (code, out, err) = with_stdin(
            &[
                "eval",
                "--policies",
                POLICIES,
                "--input",
                source,
                "--workers",
                "2",
            ],
            lines.as_bytes(),
        );
        assert_eq!(code, i32::from(exit::INVALID_TICKET), "{err}");
        let records = json_lines(&out);
        assert_eq!(records.len(), 3, "{err}");
        assert_eq!(records[0]["ticket_id"], "T-1001");
        assert_eq!(records[1]["line"], 2);
        assert_eq!(records[1]["ticket_id"], Value::Null);
        assert_eq!(
            records[1]["error"]["problems"][0]["found"],
            format!("a line of {} bytes", huge.len())
        );
        assert!(
            message(&records[1]).starts_with(
                "the line is longer than the 1048576 bytes a ticket may take, so it was skipped, not kept"
            ),
            "{}",
            records[1]
        );
        assert_eq!(records[2]["ticket_id"], "T-1001");
        assert!(
            err.contains("3 lines: 2 decided, 1 invalid (1 malformed)"),
            "{err}"
        );
    }
}

#[test]
fn the_ticket_size_limit_holds_to_the_byte_and_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let good = example().to_string();
    let size = good.len().to_string();
    let smaller = (good.len() - 1).to_string();
    // A last line without its line feed, and one with `\r\n`.
    let lines = format!("{good}\r\n{good}");
    let input = write(dir.path(), "exact.jsonl", lines.as_bytes());
    let file = write(dir.path(), "exact.json", good.as_bytes());
    let batch = |max: &str| {
        cli(&[
            "eval",
            "--policies",
            POLICIES,
            "--input",
            &input,
            "--max-ticket-bytes",
            max,
        ])
    };
    let (code, out, _) = batch(&size);
    assert_eq!(code, exit::DECIDED, "{out}");
    let (code, out, _) = batch(&smaller);
    assert_eq!(code, exit::INVALID_TICKET);
    let records = json_lines(&out);
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r["error"]["kind"] == "invalid_ticket")
    );

    let eval = |max: &str| {
        cli(&[
            "eval",
            "--policies",
            POLICIES,
            "--format",
            "json",
            &file,
            "--max-ticket-bytes",
            max,
        ])
    };
    let (code, _, _) = eval(&size);
    assert_eq!(code, exit::DECIDED);
    let (code, out, _) = eval(&smaller);
    assert_eq!(code, exit::INVALID_TICKET);
    assert!(message(&json_lines(&out)[0]).starts_with(&format!(
        "larger than the {smaller} bytes a ticket may take, so the input was not read past it; \
         raise `--max-ticket-bytes`"
    )));
}

#[test]
fn an_array_larger_than_the_limit_is_read_one_ticket_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let tickets: Vec<Value> = (0..10)
        .map(|i| ticket_as(&format!("T-{i}"), "helpdesk_agent"))
        .collect();
    let file = write(
        dir.path(),
        "many.json",
        Value::Array(tickets.clone()).to_string().as_bytes(),
    );
    let each = example().to_string().len() + 20;
    let (code, out, err) = cli(&[
        "eval",
        "--policies",
        POLICIES,
        "--format",
        "json",
        &file,
        "--max-ticket-bytes",
        &each.to_string(),
    ]);
    assert_eq!(code, exit::DECIDED, "{err}");
    let ids: Vec<Value> = json_lines(&out)
        .iter()
        .map(|r| r["ticket_id"].clone())
        .collect();
    let expected: Vec<Value> = (0..10).map(|i| json!(format!("T-{i}"))).collect();
    assert_eq!(ids, expected);

    // One too large: those before it are decided, it is refused, and the
    // array is not read past it.
    let mut with_big = tickets;
    with_big[3]["issue"]["summary"] = json!("x".repeat(each));
    let file = write(
        dir.path(),
        "big.json",
        Value::Array(with_big).to_string().as_bytes(),
    );
    let (code, out, _) = cli(&[
        "eval",
        "--policies",
        POLICIES,
        "--format",
        "json",
        &file,
        "--max-ticket-bytes",
        &each.to_string(),
    ]);
    assert_eq!(code, exit::INVALID_TICKET);
    let records = json_lines(&out);
    assert_eq!(records.len(), 4);
    assert_eq!(records[2]["ticket_id"], "T-2");
    assert!(
        message(&records[3]).starts_with(&format!("ticket [3] is larger than the {each} bytes"))
    );
}

#[test]
fn a_huge_document_on_standard_input_is_refused_without_being_read_whole() {
    let mut huge = example();
    huge["issue"]["summary"] = json!("x".repeat(3_000_000));
    let (code, out, _) = with_stdin(
        &["eval", "--policies", POLICIES, "--format", "json"],
        huge.to_string().as_bytes(),
    );
    assert_eq!(code, i32::from(exit::INVALID_TICKET));
    let records = json_lines(&out);
    assert_eq!(records.len(), 1);
    assert!(message(&records[0]).starts_with("larger than the 1048576 bytes a ticket may take"));
}

// --- Any bytes at all: one answer a line --------------------------------------

/// A line of batch input: a good ticket, one spoiled, or random bytes.
fn batch_line() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let good = example().to_string();
    prop_oneof![
        Just(good.clone().into_bytes()),
        Just(with_bom(&good)),
        Just(duplicated().into_bytes()),
        Just(format!("{good}{good}").into_bytes()),
        prop::collection::vec(any::<u8>().prop_filter("a line", |b| *b != b'\n'), 0..300),
    ]
}

#[test]
fn any_bytes_in_batch_get_exactly_one_answer_a_line() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let bundle = crate::common::reference();
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let strategy = (prop::collection::vec(batch_line(), 1..12), any::<bool>());
    TestRunner::new(config)
        .run(&strategy, |(lines, ended)| {
            let mut input = lines.join(&b'\n');
            if ended {
                input.push(b'\n');
            }
            let mut output = Vec::new();
            // One and a half good tickets: the doubled line is too long.
            let options = triage_service::batch::Options {
                workers: 1,
                max_ticket_bytes: example().to_string().len() * 3 / 2,
            };
            let summary = triage_service::batch::run(
                &bundle,
                &mut std::io::Cursor::new(input),
                &mut output,
                &options,
                &mut |_, _| {},
                None,
            )
            .unwrap();
            let output = String::from_utf8(output).unwrap();
            // An empty last line with no line feed after it is no line.
            let count = match lines.last() {
                Some(last) if last.is_empty() && !ended => lines.len() - 1,
                _ => lines.len(),
            };
            prop_assert_eq!(output.lines().count(), count);
            prop_assert_eq!(summary.lines as usize, count);
            for (i, line) in output.lines().enumerate() {
                let record: Value = serde_json::from_str(line).unwrap();
                if record.get("outcome").is_none() {
                    prop_assert_eq!(&record["line"], &json!(i + 1));
                }
            }
            Ok(())
        })
        .unwrap();
}
