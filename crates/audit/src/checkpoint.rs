//! Signed checkpoints: what a hash chain alone cannot show, records cut off
//! its end, shows against a head the writer signed.
//!
//! A writer given a key ([`Checkpointer`]) signs its chain head every N
//! records and when it closes, and appends the signed head to
//! `<log>.checkpoints`, one line each (`triage.checkpoint/v1`):
//!
//! ```text
//! {"at":…,"head":"sha256:…","key":"ed25519:…","schema":"triage.checkpoint/v1",
//!  "seq":N,"signature":"<hex>"}
//! ```
//!
//! `head` is the `hash` of record `seq`; the signature covers the rest
//! ([`super::sign`]). The log is synced before its head is signed, so a
//! checkpoint never names a record that a crash could take back.
//!
//! [`Checkpoints::read`] and [`Checkpoints::against`] check them for `audit verify`:
//! every checkpoint signed by a trusted key, matching the chain at its
//! position, and none past the log's end (the tail was cut off). Records
//! after the last checkpoint are counted as not yet signed: a writer still
//! running, or one that stopped without closing.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::AuditError;
use super::canonical;
use super::read;
use super::sign::{Signer, Trusted};

pub const SCHEMA: &str = "triage.checkpoint/v1";

/// The checkpoints of the log at `log` (any segment of it).
pub fn file_of(log: &Path) -> PathBuf {
    read::sidecar(&read::base(log), "checkpoints")
}

/// Signs a log's head every `every` records and when asked (at close).
#[derive(Debug)]
pub struct Checkpointer {
    signer: Signer,
    every: u64,
    file: PathBuf,
    /// The last `seq` signed.
    signed: u64,
}

impl Checkpointer {
    /// Signs with `signer` every `every` records (only when asked, for 0).
    pub fn new(signer: Signer, every: u64) -> Self {
        Checkpointer {
            signer,
            every,
            file: PathBuf::new(),
            signed: 0,
        }
    }

    /// Writes to the checkpoints of `log`, continuing after the last one there.
    pub(crate) fn attach(&mut self, log: &Path) -> Result<(), AuditError> {
        self.file = file_of(log);
        self.signed = 0;
        if !self.file.exists() {
            return Ok(());
        }
        let whole = cut_torn_line(&self.file)?;
        self.signed = whole
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                serde_json::from_slice::<Value>(line)
                    .ok()?
                    .get("seq")?
                    .as_u64()
            })
            .max()
            .unwrap_or(0);
        Ok(())
    }

    /// Continues after the checkpoint of `seq`, the last one a store holds.
    pub(crate) fn resume(&mut self, seq: u64) {
        self.signed = seq;
    }

    /// Whether the head at `seq` passed a multiple of `every` since the last
    /// checkpoint.
    pub(crate) fn due(&self, seq: u64) -> bool {
        self.every > 0 && seq / self.every > self.signed / self.every
    }

    /// Whether records after the last checkpoint await one.
    pub(crate) fn behind(&self, seq: u64) -> bool {
        seq > self.signed
    }

    /// The signed checkpoint of `head`, the hash of record `seq`: what a
    /// store other than a file keeps as it is.
    pub fn signed(&self, seq: u64, head: &str) -> Value {
        let mut document = serde_json::json!({
            "schema": SCHEMA, "seq": seq, "head": head, "at": super::record::now(),
        });
        self.signer.sign(&mut document);
        document
    }

    /// Signs `head`, the hash of record `seq` (already on disk), and appends
    /// the checkpoint, synced.
    pub(crate) fn sign(&mut self, seq: u64, head: &str) -> Result<(), AuditError> {
        let mut line = canonical::encode(&self.signed(seq, head));
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .map_err(AuditError::io("open", &self.file))?;
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(AuditError::io("append to", &self.file))?;
        self.signed = seq;
        Ok(())
    }
}

/// Cuts a last line without its line feed (a crash while a checkpoint was
/// written) off the checkpoints `file`, so the next one starts a line of its
/// own. Nothing is lost: that head was not yet signed, and the next
/// checkpoint signs a later one. Only the log's writer, holding its lock,
/// gets here. Returns the whole lines that stay, so they are read only once.
fn cut_torn_line(file: &Path) -> Result<Vec<u8>, AuditError> {
    let mut bytes = std::fs::read(file).map_err(AuditError::io("read", file))?;
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole == bytes.len() {
        return Ok(bytes);
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|f| f.set_len(whole as u64).and_then(|()| f.sync_data()))
        .map_err(AuditError::io("cut the torn checkpoint of", file))?;
    bytes.truncate(whole);
    Ok(bytes)
}

/// What is wrong with a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Not a checkpoint line.
    Malformed,
    /// Signed by a key that is not trusted.
    Untrusted,
    /// The signature does not match: forged or edited.
    Forged,
    /// The signed head is not the chain's hash at that position.
    Mismatch,
    /// The log ends before the checkpoint's position: its tail was cut off.
    Truncated,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Fault::Malformed => "malformed",
            Fault::Untrusted => "untrusted",
            Fault::Forged => "forged",
            Fault::Mismatch => "mismatch",
            Fault::Truncated => "truncated",
        };
        f.write_str(name)
    }
}

#[derive(Debug, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub fault: Fault,
    pub detail: String,
}

/// `file:line: fault: detail`.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (file, line) = (self.file.display(), self.line);
        write!(f, "{file}:{line}: {}: {}", self.fault, self.detail)
    }
}

/// The checkpoints of a log, checked against the chain.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub files: Vec<PathBuf>,
    /// Checkpoints whose signature and head are good.
    pub good: usize,
    /// The highest position a good checkpoint covers (0 for none).
    pub signed_through: u64,
    /// Records after it, not yet covered by a checkpoint.
    pub unsigned: u64,
    /// Checkpoints past a break in the chain, which cannot be compared.
    pub unreached: usize,
    pub problems: Vec<Problem>,
}

/// One checkpoint whose signature is good, not yet compared with the chain.
struct Claim {
    file: usize,
    line: usize,
    seq: u64,
    head: String,
}

/// Checkpoints by chain: `None` for a file log's own, else a writer's.
pub type Chains = std::collections::BTreeMap<Option<String>, Checkpoints>;

/// The checkpoints of some logs, their signatures checked.
pub struct Checkpoints {
    files: Vec<PathBuf>,
    claims: Vec<Claim>,
    problems: Vec<Problem>,
}

impl Checkpoints {
    /// Reads the checkpoints of the logs at `logs` (a log without any has
    /// none) and checks their signatures against `trusted`.
    pub fn read(logs: &[PathBuf], trusted: &Trusted) -> Result<Checkpoints, AuditError> {
        let mut files: Vec<PathBuf> = logs.iter().map(|log| file_of(log)).collect();
        files.dedup();
        files.retain(|f| f.exists());
        let mut claims = Checkpoints {
            files,
            claims: Vec::new(),
            problems: Vec::new(),
        };
        let files = claims.files.clone();
        read::lines(&files, |line| {
            let value = serde_json::from_slice::<Value>(&line.text).unwrap_or(Value::Null);
            claims.take(line.file, line.number, value, trusted);
            true
        })?;
        Ok(claims)
    }

    /// Like [`Checkpoints::read`], by chain: a file log's own (`None`) and,
    /// in a store's export, each writer's, whose lines are
    /// `{"writer": …, "checkpoint": …}` (a signature covers the checkpoint
    /// alone, so the writer is named beside it). Always has the file log's
    /// own chain unless every line names a writer.
    pub fn read_chains(logs: &[PathBuf], trusted: &Trusted) -> Result<Chains, AuditError> {
        let mut files: Vec<PathBuf> = logs.iter().map(|log| file_of(log)).collect();
        files.dedup();
        files.retain(|f| f.exists());
        let mut chains = Chains::new();
        read::lines(&files, |line| {
            let value = serde_json::from_slice::<Value>(&line.text).unwrap_or(Value::Null);
            let (writer, document) = match (value.get("writer"), value.get("checkpoint")) {
                (Some(Value::String(writer)), Some(document)) => {
                    (Some(writer.clone()), document.clone())
                }
                _ => (None, value),
            };
            let claims = chains.entry(writer).or_insert_with(|| Checkpoints {
                files: files.clone(),
                claims: Vec::new(),
                problems: Vec::new(),
            });
            claims.take(line.file, line.number, document, trusted);
            true
        })?;
        if chains.is_empty() {
            chains.insert(None, Checkpoints::read(logs, trusted)?);
        }
        Ok(chains)
    }

    /// Checkpoints kept other than in a file (a database's rows), named
    /// `source` and numbered from 1 in their problems; their signatures
    /// checked against `trusted`.
    pub fn of_documents(source: PathBuf, documents: Vec<Value>, trusted: &Trusted) -> Checkpoints {
        let mut claims = Checkpoints {
            files: vec![source],
            claims: Vec::new(),
            problems: Vec::new(),
        };
        for (i, document) in documents.into_iter().enumerate() {
            claims.take(0, i + 1, document, trusted);
        }
        claims
    }

    fn take(&mut self, file: usize, line: usize, value: Value, trusted: &Trusted) {
        let seq = value.get("seq").and_then(Value::as_u64);
        let head = value.get("head").and_then(Value::as_str);
        let schema_ok = value.get("schema").and_then(Value::as_str) == Some(SCHEMA);
        let (fault, detail) = match (seq, head, schema_ok) {
            (Some(seq), Some(head), true) => match trusted.check(&value) {
                Ok(()) => {
                    let head = head.to_owned();
                    self.claims.push(Claim {
                        file,
                        line,
                        seq,
                        head,
                    });
                    return;
                }
                Err(refusal @ super::sign::Refusal::Untrusted(_)) => {
                    (Fault::Untrusted, format!("checkpoint {seq}: {refusal}"))
                }
                Err(refusal) => (Fault::Forged, format!("checkpoint {seq}: {refusal}")),
            },
            _ => (Fault::Malformed, format!("not a `{SCHEMA}` line")),
        };
        self.problem(file, line, fault, detail);
    }

    fn problem(&mut self, file: usize, line: usize, fault: Fault, detail: String) {
        self.problems.push(Problem {
            file: self.files[file].clone(),
            line,
            fault,
            detail,
        });
    }

    /// The positions whose hashes the chain walk must keep.
    pub fn positions(&self) -> HashSet<u64> {
        self.claims.iter().map(|c| c.seq).collect()
    }

    /// Compares each checkpoint with `heads` (the hash of the chain at each
    /// of [`Checkpoints::positions`] it reached), for a chain of `records`
    /// intact records that ends there, or breaks there when `broken`.
    pub fn against(mut self, heads: &HashMap<u64, String>, records: u64, broken: bool) -> Report {
        let mut report = Report::default();
        for claim in std::mem::take(&mut self.claims) {
            let Claim {
                file,
                line,
                seq,
                head,
            } = claim;
            match heads.get(&seq) {
                Some(hash) if *hash == head => {
                    report.good += 1;
                    report.signed_through = report.signed_through.max(seq);
                }
                Some(hash) => {
                    let detail = format!("checkpoint {seq} signs `{head}`, the chain has `{hash}`");
                    self.problem(file, line, Fault::Mismatch, detail);
                }
                None if broken => report.unreached += 1,
                None => {
                    let detail = format!(
                        "the log ends at record {records}, before checkpoint {seq}: records were cut off its end"
                    );
                    self.problem(file, line, Fault::Truncated, detail);
                }
            }
        }
        report.unsigned = records.saturating_sub(report.signed_through);
        report.files = self.files;
        report.problems = self.problems;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_checkpoint_is_cut_before_the_next_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("decisions.jsonl");
        let mut writer = Checkpointer::new(Signer::generate().unwrap(), 2);
        writer.attach(&log).unwrap();
        writer.sign(2, "sha256:b").unwrap();
        let file = file_of(&log);
        let whole = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{whole}{{\"at\":\"2026-")).unwrap();
        writer.attach(&log).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), whole);
        assert_eq!(writer.signed, 2);
        writer.sign(4, "sha256:d").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
    }

    #[test]
    fn checkpoints_kept_as_documents_are_checked_as_a_file_is() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::generate().unwrap();
        let public = dir.path().join("writer.pub");
        std::fs::write(&public, signer.public()).unwrap();
        let trusted = Trusted::read(&[public]).unwrap();
        let writer = Checkpointer::new(signer, 2);
        let documents = vec![writer.signed(2, "sha256:b"), writer.signed(4, "sha256:d")];
        let claims = Checkpoints::of_documents("rows".into(), documents, &trusted);
        assert_eq!(claims.positions(), HashSet::from([2, 4]));
        // A chain of three records, whose second has the signed hash.
        let heads = HashMap::from([(2, "sha256:b".to_owned())]);
        let report = claims.against(&heads, 3, false);
        assert_eq!(
            (report.good, report.signed_through, report.unsigned),
            (1, 2, 1)
        );
        let faults: Vec<Fault> = report.problems.iter().map(|p| p.fault).collect();
        assert_eq!(faults, [Fault::Truncated]);
        assert_eq!(
            report.problems[0].to_string().split(':').next(),
            Some("rows")
        );
    }
}
