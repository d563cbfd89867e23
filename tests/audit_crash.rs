//! A writer killed mid-write: the log is intact or torn at its last line,
//! the writer refuses to go on until `audit repair`, and then continues the chain.

use std::path::Path;
use std::process::{Command, Stdio};

use triage_audit::verify::{Damage, verify};
use triage_audit::{AuditError, DecisionLog, LogOptions};

use crate::common::{bin, generated, jsonl, policies_dir, reference, ticket};

fn repair(path: &Path) -> String {
    let out = Command::new(bin())
        .args(["audit", "repair"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kill_9_during_writes_leaves_at_most_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let tickets = dir.path().join("tickets.json");
    let batch = serde_json::Value::Array(generated(50_000, 3));
    std::fs::write(&tickets, batch.to_string()).unwrap();
    let path = dir.path().join("decisions.jsonl");
    let mut child = Command::new(bin())
        .args(["eval", "--format", "json", "--policies"])
        .arg(policies_dir())
        .arg(&tickets)
        .arg("--decision-log")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it is writing, then SIGKILL it.
    while std::fs::metadata(&path).map_or(0, |m| m.len()) < 100_000 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the writer stopped before it was killed: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let checked = verify(std::slice::from_ref(&path)).unwrap();
    let total_lines = std::fs::read(&path)
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    match &checked.broken {
        None => assert_eq!(checked.records as usize, total_lines),
        Some(b) => {
            assert_eq!(b.damage, Damage::Torn);
            assert_eq!(b.line, total_lines, "only the last line may be torn");
            assert_eq!(checked.records as usize, total_lines - 1);
            repair(&path);
        }
    }
    let records = verify(std::slice::from_ref(&path)).unwrap().records;
    assert!(records > 0 && records <= 50_000);
    // The next start continues the chain.
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    log.append(&bundle, &ticket(), &bundle.decide(&ticket()))
        .unwrap();
    drop(log);
    let after = verify(&[path]).unwrap();
    assert!(after.broken.is_none());
    assert_eq!(after.records, records + 1);
}

#[test]
fn a_torn_last_line_is_reported_refused_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    for t in generated(5, 11) {
        log.append(&bundle, &t, &bundle.decide(&t)).unwrap();
    }
    drop(log);
    // A crash in the middle of the sixth record's write.
    let text = std::fs::read(&path).unwrap();
    let fifth_end = text.len();
    let mut torn = text.clone();
    let sixth = jsonl(&generated(1, 12));
    torn.extend_from_slice(&sixth.as_bytes()[..sixth.len() / 2]);
    std::fs::write(&path, &torn).unwrap();

    let b = verify(std::slice::from_ref(&path)).unwrap().broken.unwrap();
    assert_eq!((b.damage, b.line), (Damage::Torn, 6));
    let out = Command::new(bin())
        .args(["audit", "verify"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("decisions.jsonl:6: torn"));

    match DecisionLog::open(&path, LogOptions::default()) {
        Err(AuditError::Torn { line, .. }) => assert_eq!(line, 6),
        other => panic!("a torn log is not appended to: {:?}", other.map(|_| ())),
    }
    let said = repair(&path);
    assert!(
        said.contains("decisions.jsonl:6: torn record removed"),
        "{said}"
    );
    assert_eq!(std::fs::read(&path).unwrap().len(), fifth_end);
    let saved = std::fs::read(dir.path().join("decisions.jsonl.torn")).unwrap();
    assert_eq!(
        &saved[..saved.len() - 1],
        &sixth.as_bytes()[..sixth.len() / 2]
    );
    assert!(repair(&path).contains("nothing to repair"));

    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    assert_eq!(log.records(), 5);
    log.append(&bundle, &ticket(), &bundle.decide(&ticket()))
        .unwrap();
    drop(log);
    let checked = verify(&[path]).unwrap();
    assert!(checked.broken.is_none());
    assert_eq!(checked.records, 6);
}
