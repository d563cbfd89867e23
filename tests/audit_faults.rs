//! The decision log under faults: a second writer however it names the file,
//! a disk that fills up and frees again, rotation, and every torn state a
//! writer can leave, repaired.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use serde_json::{Value, json};
use triage_audit::verify::verify;
use triage_audit::{AuditError, Decided, DecisionLog, Flush, LogOptions, Ticket};
use triage_engine::Bundle;

use crate::common::{bin, generated, policies_dir, reference, ticket, with};
use crate::fault_support::{Tmpfs, fill, is_disk_full};

fn append(log: &mut DecisionLog, bundle: &Bundle, t: &Value) -> Result<String, AuditError> {
    log.append(bundle, t, &bundle.decide(t))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Verifies the log: intact, with `records` records.
fn assert_intact(path: &Path, records: u64) {
    let checked = verify(&[path.to_path_buf()]).unwrap();
    assert!(checked.broken.is_none(), "{:?}", checked.broken);
    assert_eq!(checked.records, records);
}

/// A ticket whose record is larger than a memory page (4 KiB), so that on a
/// full tmpfs its write is cut short: the schema rejects the unknown field,
/// and the rejection is recorded with the whole ticket.
fn large_ticket() -> Value {
    with(ticket(), &[("notes", json!("n".repeat(10_000)))])
}

fn refused(opened: Result<DecisionLog, AuditError>) -> bool {
    matches!(opened, Err(AuditError::Locked { .. }))
}

#[test]
fn a_second_writer_through_a_symlink_a_hard_link_or_another_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let path = audit.join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    append(&mut log, &bundle, &ticket()).unwrap();

    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let symlink = elsewhere.join("through-a-symlink.jsonl");
    std::os::unix::fs::symlink(&path, &symlink).unwrap();
    let hard_link = elsewhere.join("through-a-hard-link.jsonl");
    std::fs::hard_link(&path, &hard_link).unwrap();
    let roundabout = elsewhere.join("../audit/./decisions.jsonl");
    for other in [&symlink, &hard_link, &roundabout] {
        let opened = DecisionLog::open(other, LogOptions::default());
        assert!(refused(opened), "{} was not refused", other.display());
    }
    // Another process is refused too, and decides nothing; so is repair.
    let example = policies_dir().join("../examples/tickets/premier-critical.json");
    for other in [&symlink, &hard_link] {
        let out = Command::new(bin())
            .args(["eval", "--policies"])
            .arg(policies_dir())
            .arg(&example)
            .arg("--decision-log")
            .arg(other)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is in use by another process"), "{stderr}");
        assert!(out.stdout.is_empty(), "no decision without its record");
        let repair = Command::new(bin())
            .args(["audit", "repair"])
            .arg(other)
            .output()
            .unwrap();
        assert_eq!(repair.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&repair.stderr).contains("in use by another process"));
    }
    append(&mut log, &bundle, &ticket()).unwrap();
    drop(log);
    // Once the writer is gone, a writer by the symlink goes on with the chain.
    let mut log = DecisionLog::open(&symlink, LogOptions::default()).unwrap();
    assert_eq!(log.records(), 2);
    append(&mut log, &bundle, &ticket()).unwrap();
    drop(log);
    assert_intact(&path, 3);
}

#[test]
fn rotation_hands_the_lock_to_the_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let options = LogOptions {
        flush: Flush::Batch(8),
        max_bytes: Some(12_000),
    };
    let bundle = reference();
    let mut log = DecisionLog::open(&path, options).unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    for t in generated(30, 5) {
        append(&mut log, &bundle, &t).unwrap();
        assert!(refused(DecisionLog::open(&path, options)));
        assert!(refused(DecisionLog::open(&link, options)));
    }
    let segments = triage_audit::read::rotated(&path).unwrap();
    assert!(segments.len() >= 3, "{segments:?}");
    assert!(!dir.path().join("decisions.jsonl.next").exists());
    drop(log);
    assert_intact(&path, 30);
}

#[test]
fn a_rotation_cut_short_between_its_link_and_its_rename_is_undone_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::audit::write_log(dir.path(), 4, LogOptions::default());
    // The full segment linked to its segment name, the new one not yet
    // renamed over the log: one file under two names.
    std::fs::hard_link(&path, dir.path().join("decisions.1.jsonl")).unwrap();
    assert!(
        verify(std::slice::from_ref(&path))
            .unwrap()
            .broken
            .is_some()
    );
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    append(&mut log, &bundle, &ticket()).unwrap();
    drop(log);
    assert!(!dir.path().join("decisions.1.jsonl").exists());
    assert_intact(&path, 5);
}

#[test]
fn a_full_disk_leaves_no_partial_record_and_writing_resumes_when_space_returns() {
    let Some(fs) = Tmpfs::mount("1m", "a_full_disk_leaves_no_partial_record") else {
        return;
    };
    let path = fs.path().join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    for t in generated(5, 2) {
        append(&mut log, &bundle, &t).unwrap();
    }
    let before = size(&path);
    assert_ne!(
        before % 4096,
        0,
        "the last page has room for part of a record"
    );
    let filler = fill(fs.path());

    // The record fits only in part: the write is cut short, then refused.
    let failure = append(&mut log, &bundle, &large_ticket()).unwrap_err();
    assert!(is_disk_full(&failure), "{failure}");
    assert_eq!(size(&path), before, "no partial record is left behind");
    assert_intact(&path, 5);
    // Still full: refused again, still nothing left behind.
    assert!(append(&mut log, &bundle, &large_ticket()).is_err());
    assert_eq!(size(&path), before);

    std::fs::remove_file(filler).unwrap();
    append(&mut log, &bundle, &large_ticket()).unwrap();
    append(&mut log, &bundle, &ticket()).unwrap();
    assert_eq!(log.records(), 7);
    drop(log);
    assert_intact(&path, 7);
    let out = Command::new(bin())
        .args(["audit", "verify"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let repair = triage_audit::repair::repair(&path).unwrap();
    assert!(repair.is_empty(), "nothing to repair");
}

/// One step of a random run against a tmpfs.
#[derive(Clone, Debug)]
enum Step {
    /// Append a record (a large one when `true`).
    Append(bool),
    /// Append a batch of this many records at once.
    Batch(usize),
    /// Fill the file system.
    Fill,
    /// Free what `Fill` took.
    Free,
    /// Close the log and open it again.
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => any::<bool>().prop_map(Step::Append),
        1 => (1usize..6).prop_map(Step::Batch),
        1 => Just(Step::Fill),
        1 => Just(Step::Free),
        1 => Just(Step::Reopen),
    ]
}

/// Runs `steps` on a log in `dir`: whatever fails, the log holds exactly the
/// records whose appends succeeded, and verifies.
fn run(dir: &Path, steps: &[Step], bundle: &Bundle) -> Result<(), TestCaseError> {
    let path = dir.join("decisions.jsonl");
    let options = LogOptions {
        flush: Flush::EveryRecord,
        max_bytes: Some(40_000),
    };
    let mut log = Some(DecisionLog::open(&path, options).unwrap());
    let mut filler: Option<PathBuf> = None;
    let mut written = 0u64;
    for (i, step) in steps.iter().enumerate() {
        let tickets: Vec<Value> = match step {
            Step::Append(large) if *large => vec![large_ticket()],
            Step::Append(_) => generated(1, i as u64),
            Step::Batch(n) => generated(*n, i as u64),
            Step::Fill => {
                filler = filler.or_else(|| Some(fill(dir)));
                continue;
            }
            Step::Free => {
                if let Some(file) = filler.take() {
                    std::fs::remove_file(file).unwrap();
                }
                continue;
            }
            Step::Reopen => {
                drop(log.take());
                // Reopening may itself need space (a new segment's entry).
                log = DecisionLog::open(&path, options).ok();
                continue;
            }
        };
        let Some(open) = log.as_mut() else {
            log = DecisionLog::open(&path, options).ok();
            continue;
        };
        let results: Vec<_> = tickets.iter().map(|t| bundle.decide(t)).collect();
        let entries: Vec<_> = tickets
            .iter()
            .zip(&results)
            .map(|(t, r)| (bundle, Ticket::Value(t), Decided::Result(r)))
            .collect();
        match open.append_all(&entries) {
            Ok(_) => written += tickets.len() as u64,
            Err(failure) => prop_assert!(filler.is_some(), "{failure}"),
        }
        let checked = verify(std::slice::from_ref(&path)).unwrap();
        prop_assert!(checked.broken.is_none(), "{:?}", checked.broken);
        prop_assert_eq!(checked.records, written);
    }
    drop(log);
    if let Some(file) = filler {
        std::fs::remove_file(file).unwrap();
    }
    let checked = verify(&[path]).unwrap();
    prop_assert!(checked.broken.is_none(), "{:?}", checked.broken);
    prop_assert_eq!(checked.records, written);
    Ok(())
}

#[test]
fn random_writes_on_a_disk_that_fills_and_frees_always_verify() {
    let Some(fs) = Tmpfs::mount("1m", "random_writes_on_a_disk_that_fills_and_frees") else {
        return;
    };
    let bundle = reference();
    let config = ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let case = std::cell::Cell::new(0);
    proptest!(config, |(steps in prop::collection::vec(step(), 1..24))| {
        case.set(case.get() + 1);
        let dir = fs.path().join(format!("case-{}", case.get()));
        std::fs::create_dir(&dir).unwrap();
        let result = run(&dir, &steps, &bundle);
        std::fs::remove_dir_all(&dir).unwrap();
        result?;
    });
}

/// The lines of a log of `n` records.
fn record_lines(n: usize) -> (tempfile::TempDir, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::audit::write_log(dir.path(), n, LogOptions::default());
    let text = std::fs::read(&path).unwrap();
    let lines = text
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    (dir, lines)
}

fn repair_cli(path: &Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(["audit", "repair"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout)
}

#[test]
fn a_last_line_of_zeros_is_torn_refused_and_repaired() {
    let (dir, lines) = record_lines(3);
    let path = dir.path().join("decisions.jsonl");
    // A power loss can leave the file longer than what reached the disk.
    let mut text = lines.concat();
    text.extend_from_slice(&[0u8; 300]);
    text.push(b'\n');
    std::fs::write(&path, &text).unwrap();
    assert!(
        verify(std::slice::from_ref(&path))
            .unwrap()
            .broken
            .is_some()
    );
    match DecisionLog::open(&path, LogOptions::default()) {
        Err(AuditError::Torn { line, .. }) => assert_eq!(line, 4),
        other => panic!("not refused as torn: {:?}", other.map(|_| ())),
    }
    let (code, said) = repair_cli(&path);
    assert_eq!(code, 0);
    assert!(
        said.contains("decisions.jsonl:4: torn record removed (300 bytes"),
        "{said}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), lines.concat());
    assert_intact(&path, 3);
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    append(&mut log, &bundle, &ticket()).unwrap();
    drop(log);
    assert_intact(&path, 4);
}

#[test]
fn a_failed_write_buried_under_later_records_is_cut_out() {
    // What a writer that did not cut back its failed writes left: part of
    // record 3, then record 3 again whole on the same line, then more.
    let (dir, lines) = record_lines(5);
    let path = dir.path().join("decisions.jsonl");
    let fragment = &lines[2][..lines[2].len() / 3];
    let mut text = lines[..2].concat();
    text.extend_from_slice(fragment);
    text.extend_from_slice(&lines[2..].concat());
    std::fs::write(&path, &text).unwrap();
    let broken = verify(std::slice::from_ref(&path)).unwrap().broken.unwrap();
    assert_eq!(broken.line, 3);

    let (code, said) = repair_cli(&path);
    assert_eq!(code, 0, "{said}");
    let expected = format!(
        "decisions.jsonl:3: torn record removed ({} bytes",
        fragment.len()
    );
    assert!(said.contains(&expected), "{said}");
    assert_eq!(std::fs::read(&path).unwrap(), lines.concat());
    assert_intact(&path, 5);
    let saved = std::fs::read(dir.path().join("decisions.jsonl.torn")).unwrap();
    assert_eq!(saved, [fragment, b"\n"].concat());
    let (_, again) = repair_cli(&path);
    assert!(again.contains("nothing to repair"), "{again}");
}

#[test]
fn a_buried_fragment_and_a_torn_end_are_both_cut() {
    let (dir, lines) = record_lines(4);
    let path = dir.path().join("decisions.jsonl");
    let mut text = lines[..1].concat();
    text.extend_from_slice(&lines[1][..40]);
    text.extend_from_slice(&lines[1..].concat());
    text.extend_from_slice(&lines[3][..100]);
    std::fs::write(&path, &text).unwrap();
    let repaired = triage_audit::repair::repair(&path).unwrap();
    let cut: Vec<(usize, usize)> = repaired.iter().map(|r| (r.line, r.bytes)).collect();
    assert_eq!(cut, [(2, 40), (5, 100)]);
    assert_eq!(std::fs::read(&path).unwrap(), lines.concat());
    assert_intact(&path, 4);
}

#[test]
fn an_edited_record_is_evidence_and_is_not_cut() {
    let (dir, lines) = record_lines(3);
    let path = dir.path().join("decisions.jsonl");
    let mut text = lines.concat();
    let edited =
        String::from_utf8(lines[2].clone())
            .unwrap()
            .replacen("\"seq\":3", "\"seq\":33", 1);
    text.truncate(text.len() - lines[2].len());
    text.extend_from_slice(edited.as_bytes());
    std::fs::write(&path, &text).unwrap();
    let repaired = triage_audit::repair::repair(&path).unwrap();
    assert!(repaired.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), text);
}
