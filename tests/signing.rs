//! Keys, signed checkpoints and approvals: `triage keygen`, a log's tail cut
//! off caught by `audit verify --trusted-key`, a forged checkpoint and a
//! wrong key refused, and `serve --require-approval` loading only an
//! approved bundle, naming the approval in every record.

use std::path::{Path, PathBuf};

use serde_json::Value;
use triage_audit::checkpoint::{Checkpointer, Fault};
use triage_audit::sign::{Signer, Trusted};
use triage_audit::verify::verify_signed;
use triage_audit::{DecisionLog, LogOptions};
use triage_service::serve::Config;

use crate::common::{arg, cli, generated, reference};
use crate::serve_support::{Server, example, policies_copy, replace};

/// A key pair written by `triage keygen` into `dir` as `name.key`/`name.pub`.
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let (code, out, err) = cli(&["keygen", "--out", arg(&prefix)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ed25519:"), "{out}");
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_never_replaces_one() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "ops");
    let text = std::fs::read_to_string(&public).unwrap();
    assert!(
        text.starts_with("ed25519:") && text.trim().len() == 8 + 64,
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&private).unwrap();
    let (code, _, err) = cli(&["keygen", "--out", arg(&dir.path().join("ops"))]);
    assert_eq!(code, 1);
    assert!(err.contains("ops.key") && err.contains("exists"), "{err}");
    assert_eq!(std::fs::read(&private).unwrap(), before);
}

/// A log of `n` decisions signed by `key` every `every` records and at close.
fn signed_log(dir: &Path, key: &Path, n: usize, every: u64) -> PathBuf {
    let path = dir.join("decisions.jsonl");
    let bundle = reference();
    let mut log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    let signer = Signer::read(key).unwrap();
    log.sign_with(Checkpointer::new(signer, every)).unwrap();
    for t in generated(n, 3) {
        log.append(&bundle, &t, &bundle.decide(&t)).unwrap();
    }
    path
}

fn checkpoints_of(log: &Path, public: &Path) -> triage_audit::checkpoint::Report {
    let trusted = Trusted::read(&[public.to_path_buf()]).unwrap();
    let checked = verify_signed(&[log.to_path_buf()], &trusted).unwrap();
    assert!(checked.broken.is_none(), "{:?}", checked.broken);
    checked.checkpoints.unwrap()
}

fn faults(report: &triage_audit::checkpoint::Report) -> Vec<Fault> {
    report.problems.iter().map(|p| p.fault).collect()
}

fn keep_lines(path: &Path, keep: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let kept: String = text.lines().take(keep).map(|l| format!("{l}\n")).collect();
    std::fs::write(path, kept).unwrap();
}

#[test]
fn a_closed_log_is_signed_to_its_last_record_and_its_cut_tail_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "writer");
    let log = signed_log(dir.path(), &private, 7, 3);
    // Checkpoints at 3 and 6, and at close at 7.
    let report = checkpoints_of(&log, &public);
    assert_eq!(
        (report.good, report.signed_through, report.unsigned),
        (3, 7, 0)
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // The last two records cut off: the hash chain alone stays intact.
    keep_lines(&log, 5);
    let report = checkpoints_of(&log, &public);
    assert_eq!(faults(&report), [Fault::Truncated, Fault::Truncated]);
    assert!(report.problems[1].detail.contains("before checkpoint 7"));
    assert_eq!((report.signed_through, report.unsigned), (3, 2));

    // The command line fails and names them.
    let (code, out, _) = cli(&["audit", "verify", arg(&log), "--trusted-key", arg(&public)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("truncated: the log ends at record 5"), "{out}");
    assert!(out.contains("2 records after it not yet signed"), "{out}");
    let (code, out, _) = cli(&[
        "audit",
        "verify",
        arg(&log),
        "--trusted-key",
        arg(&public),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["checkpoints"]["problems"][0]["fault"], "truncated");
    assert_eq!(json["checkpoints"]["unsigned"], 2);
}

#[test]
fn records_written_without_a_key_are_reported_not_yet_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "writer");
    let log = signed_log(dir.path(), &private, 2, 100);
    let bundle = reference();
    let mut unsigned = DecisionLog::open(&log, LogOptions::default()).unwrap();
    for t in generated(3, 5) {
        unsigned.append(&bundle, &t, &bundle.decide(&t)).unwrap();
    }
    drop(unsigned);
    let report = checkpoints_of(&log, &public);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.signed_through, report.unsigned), (2, 3));
    let (code, out, _) = cli(&["audit", "verify", arg(&log), "--trusted-key", arg(&public)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 records after it not yet signed"), "{out}");
}

#[test]
fn an_edited_checkpoint_and_one_by_an_untrusted_key_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "writer");
    let (_, other) = keygen(dir.path(), "other");
    let log = signed_log(dir.path(), &private, 4, 2);
    let file = triage_audit::checkpoint::file_of(&log);

    // Only the writer's key is trusted: another key's list refuses them all.
    let report = checkpoints_of(&log, &other);
    assert_eq!(faults(&report), [Fault::Untrusted, Fault::Untrusted]);
    assert_eq!(report.unsigned, 4);

    // A checkpoint moved back to cover a shorter log, signature kept.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[1]["seq"] = Value::from(3);
    let edited: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&file, edited).unwrap();
    let report = checkpoints_of(&log, &public);
    assert_eq!(faults(&report), [Fault::Forged]);
    assert_eq!(report.signed_through, 2);

    // A signed head that is not the chain's: a checkpoint from another log.
    let elsewhere = tempfile::tempdir().unwrap();
    let foreign = signed_log(elsewhere.path(), &private, 2, 2);
    let foreign = std::fs::read_to_string(triage_audit::checkpoint::file_of(&foreign)).unwrap();
    std::fs::write(&file, foreign).unwrap();
    let report = checkpoints_of(&log, &public);
    assert_eq!(faults(&report), [Fault::Mismatch]);
}

/// `triage approve` of `head` against the reference pack with `key`.
fn approve(head: &Path, key: &Path) -> String {
    let base = crate::serve_support::POLICIES;
    let (code, out, err) = cli(&["approve", base, arg(head), "--key", arg(key)]);
    assert_eq!(code, 0, "{err}");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(head.join("approval.json")).unwrap())
            .unwrap();
    assert_eq!(document["suite"]["failed"], 0);
    assert_eq!(document["plan"]["changes"], Value::Array(Vec::new()));
    assert!(
        out.contains(&triage_audit::approval::id(&document)),
        "{out}"
    );
    triage_audit::approval::id(&document)
}

#[test]
fn a_bundle_whose_suites_fail_is_not_approved() {
    let head = policies_copy();
    let suite = head.path().join("tests/boundaries.yaml");
    let text = std::fs::read_to_string(&suite).unwrap();
    let wrong = text.replacen("outcome: contact_publisher", "outcome: monitor_incident", 1);
    std::fs::write(&suite, wrong).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keygen(dir.path(), "approver");
    let base = crate::serve_support::POLICIES;
    let (code, _, err) = cli(&["approve", base, arg(head.path()), "--key", arg(&private)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("1 of ") && err.contains("suite cases fail"),
        "{err}"
    );
    assert!(!head.path().join("approval.json").exists());
}

#[test]
fn an_approval_beside_the_bundle_changes_neither_its_digest_nor_its_warnings() {
    let head = policies_copy();
    let before = triage_engine::Bundle::load(head.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keygen(dir.path(), "approver");
    approve(head.path(), &private);
    let after = triage_engine::Bundle::load(head.path()).unwrap();
    assert_eq!(after.policy().digest, before.policy().digest);
    assert_eq!(after.warnings().len(), before.warnings().len());
}

#[test]
fn serve_requires_an_approval_by_a_trusted_key_and_records_name_it() {
    let head = policies_copy();
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "approver");
    let (intruder, _) = keygen(dir.path(), "intruder");
    let id = approve(head.path(), &private);
    let log = dir.path().join("decisions.jsonl");
    let mut config = Config::new(head.path());
    config.watch = false;
    config.require_approval = Some(Trusted::read(&[public]).unwrap());
    let opened = DecisionLog::open(&log, LogOptions::default()).unwrap();
    config.log = Some(std::sync::Arc::new(std::sync::Mutex::new(opened)));
    let server = Server::start(config);
    assert_eq!(server.get("/v1/policy").json()["approval"]["id"], id);
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);

    // Signed by a key that is not trusted: refused, the old one serves on.
    approve(head.path(), &intruder);
    let reload = server.post("/v1/policy/reload", b"");
    assert_eq!(reload.status, 422);
    assert_eq!(reload.json()["error"]["kind"], "not_approved");
    assert_eq!(
        server.metric("triage_approval_refusals_total{reason=\"untrusted\"}"),
        1.0
    );
    // Edited after it was signed: refused as forged.
    approve(head.path(), &private);
    let file = head.path().join("approval.json");
    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edited["suite"]["passed"] = Value::from(1_000_000);
    std::fs::write(&file, edited.to_string()).unwrap();
    assert_eq!(server.post("/v1/policy/reload", b"").status, 422);
    let forged = "triage_approval_refusals_total{reason=\"bad_signature\"}";
    assert_eq!(server.metric(forged), 1.0);
    // Valid, but for the bundle before a change to it.
    approve(head.path(), &private);
    let rules = std::fs::read_to_string(head.path().join("boundaries.yaml")).unwrap();
    replace(
        head.path(),
        "boundaries.yaml",
        &format!("{rules}# changed after approval\n"),
    );
    assert_eq!(server.post("/v1/policy/reload", b"").status, 422);
    let other = "triage_approval_refusals_total{reason=\"other_bundle\"}";
    assert_eq!(server.metric(other), 1.0);
    // Gone altogether: refused as missing.
    std::fs::remove_file(head.path().join("approval.json")).unwrap();
    assert_eq!(server.post("/v1/policy/reload", b"").status, 422);
    assert_eq!(
        server.metric("triage_approval_refusals_total{reason=\"missing\"}"),
        1.0
    );
    assert_eq!(server.post_json("/v1/decisions", &example()).status, 200);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let approvals: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["approval"].clone())
        .collect();
    assert_eq!(
        approvals,
        [Value::from(id.clone()), Value::from(id.clone())]
    );
    let first = text.lines().next().unwrap();
    let decision = serde_json::from_str::<Value>(first).unwrap()["id"].clone();
    let (code, out, _) = cli(&[
        "audit",
        "show",
        arg(&log),
        "--decision",
        decision.as_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("  approval:  {id}\n")), "{out}");
    assert!(triage_audit::verify::verify(&[log]).unwrap().intact());
}

#[test]
fn serve_without_an_approved_bundle_is_not_ready() {
    let head = policies_copy();
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = keygen(dir.path(), "approver");
    let mut config = Config::new(head.path());
    config.watch = false;
    config.require_approval = Some(Trusted::read(&[public]).unwrap());
    let server = Server::start(config);
    // The bundle is loaded (or refused) before the service answers.
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    let message = ready.json()["last_reload_error"]["message"].clone();
    assert!(
        message.as_str().unwrap().contains("no approval"),
        "{message}"
    );
}
