//! `verify`: every record's hash, and the chain across every segment.
//!
//! The first problem is reported with its file and line, named for what most
//! likely happened: a record `edited`, records `deleted`, `reordered` or
//! `inserted`, the log `torn` (a line cut short: a crash mid-write or a
//! truncation), or a line that is not a record at all (`malformed`).
//! Records removed from the very end leave no trace in the chain itself:
//! [`verify_signed`] compares the chain with the heads its writer signed
//! ([`super::checkpoint`]); without them, compare the head hash and count
//! printed here with the last ones noted.
//!
//! Records that name a `writer` (those of a store, exported) belong to that
//! writer's chain: each writer's chain is followed on its own, and compared
//! with that writer's checkpoints ([`verify_writers`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::AuditError;
use super::checkpoint::{self, Checkpoints};
use super::read;
use super::record::{self, GENESIS};
use super::sign::Trusted;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Damage {
    Torn,
    Malformed,
    Edited,
    Deleted,
    Reordered,
    Inserted,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Damage::Torn => "torn",
            Damage::Malformed => "malformed",
            Damage::Edited => "edited",
            Damage::Deleted => "deleted",
            Damage::Reordered => "reordered",
            Damage::Inserted => "inserted",
        };
        f.write_str(name)
    }
}

#[derive(Debug, Serialize)]
pub struct Break {
    pub file: PathBuf,
    pub line: usize,
    pub damage: Damage,
    pub detail: String,
}

/// `file:line: damage: detail`.
impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (file, line) = (self.file.display(), self.line);
        write!(f, "{file}:{line}: {}: {}", self.damage, self.detail)
    }
}

#[derive(Debug, Serialize)]
pub struct Verification {
    pub files: Vec<PathBuf>,
    /// Records checked and found in order before the first break.
    pub records: u64,
    /// The hash of the last intact record (the genesis value for an empty log).
    pub head: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<Break>,
    /// The signed checkpoints of the chain without a writer, when they
    /// were asked for ([`verify_signed`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<checkpoint::Report>,
    /// Each writer's chain, when the records name writers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writers: Vec<WriterHead>,
}

impl Verification {
    /// Whether the chain is unbroken and every checkpoint checked is good.
    pub fn intact(&self) -> bool {
        let good =
            |c: &Option<checkpoint::Report>| c.as_ref().is_none_or(|c| c.problems.is_empty());
        self.broken.is_none()
            && good(&self.checkpoints)
            && self.writers.iter().all(|w| good(&w.checkpoints))
    }
}

/// How far one writer's chain was checked.
#[derive(Debug, Serialize)]
pub struct WriterHead {
    pub writer: String,
    pub records: u64,
    pub head: String,
    /// The writer's signed checkpoints, when they were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<checkpoint::Report>,
}

/// One line as read: where it is, whether it ends, and what its record claims.
struct Seen {
    file: usize,
    line: usize,
    complete: bool,
    /// `None` for a line that is not a JSON object.
    parsed: Option<Claims>,
}

/// What a record claims, and whether it matches its hash.
struct Claims {
    intact: bool,
    hash: String,
    prev: String,
    seq: Option<u64>,
    writer: Option<String>,
}

/// What broke the chain, and how it most likely happened.
type Failure = (Damage, String);

/// Checks the logs at `paths` (each with its rotated segments) as one chain.
pub fn verify(paths: &[PathBuf]) -> Result<Verification, AuditError> {
    verify_with(paths, None)
}

/// Like [`verify`], and checks the logs' checkpoints too: each signed by one
/// of `trusted`, matching the chain, and none past its end.
/// A store's export carries each writer's checkpoints beside it.
pub fn verify_signed(paths: &[PathBuf], trusted: &Trusted) -> Result<Verification, AuditError> {
    verify_with(paths, Some(Checkpoints::read_chains(paths, trusted)?))
}

/// Like [`verify`], and compares each writer's chain with `claims`, that
/// writer's checkpoints (kept apart from the records, as a store keeps them).
pub fn verify_writers(
    paths: &[PathBuf],
    claims: BTreeMap<Option<String>, Checkpoints>,
) -> Result<Verification, AuditError> {
    verify_with(paths, Some(claims))
}

/// The chains' checkpoints, by writer (`None`: a file log's one chain).
type Claimed = BTreeMap<Option<String>, Checkpoints>;

fn verify_with(paths: &[PathBuf], claims: Option<Claimed>) -> Result<Verification, AuditError> {
    let files = read::files(paths)?;
    let seen = scan(&files)?;
    let mut chain = ChainWalk::new(&files, &seen);
    for (writer, c) in claims.iter().flatten() {
        let positions = c.positions().into_iter().map(|seq| (writer.clone(), seq));
        chain.wanted.extend(positions);
    }
    let mut broken = None;
    // Only the first break is reported: past it, every record would be "wrong".
    for (i, s) in seen.iter().enumerate() {
        if let Err((damage, detail)) = chain.follow(i) {
            broken = Some(Break {
                file: files[s.file].clone(),
                line: s.line,
                damage,
                detail,
            });
            break;
        }
    }
    let records = chain.chains.values().map(|c| c.expected - 1).sum();
    let head = chain.last_prev();
    let cut = broken.is_some();
    let (checkpoints, writers) = compared(chain.chains, claims.unwrap_or_default(), cut);
    Ok(Verification {
        files,
        records,
        head,
        broken,
        checkpoints,
        writers,
    })
}

/// Each chain's head, compared with its checkpoints where `claims` has them
/// (when `cut`, the walk stopped at a break): the report of the chain
/// without a writer, and each writer's head. A writer with checkpoints but
/// no record left is an empty chain: its checkpoints were all cut off.
fn compared(
    chains: BTreeMap<Option<&str>, Chain>,
    mut claims: Claimed,
    cut: bool,
) -> (Option<checkpoint::Report>, Vec<WriterHead>) {
    let mut chains: BTreeMap<Option<String>, Chain> = chains
        .into_iter()
        .map(|(writer, chain)| (writer.map(str::to_owned), chain))
        .collect();
    for writer in claims.keys() {
        chains.entry(writer.clone()).or_default();
    }
    let mut checkpoints = None;
    let mut writers = Vec::new();
    for (writer, chain) in chains {
        let records = chain.expected - 1;
        let report = claims
            .remove(&writer)
            .map(|signed| signed.against(&chain.heads, records, cut));
        match writer {
            None => checkpoints = report,
            Some(writer) => writers.push(WriterHead {
                writer,
                records,
                head: chain.prev,
                checkpoints: report,
            }),
        }
    }
    (checkpoints, writers)
}

/// Every line of `files`, in order, with its record parsed and its hash checked.
fn scan(files: &[PathBuf]) -> Result<Vec<Seen>, AuditError> {
    let mut seen = Vec::new();
    read::lines(files, |line| {
        let parsed = serde_json::from_slice::<Value>(&line.text)
            .ok()
            .filter(Value::is_object)
            .map(|value| {
                let c = record::check(value);
                Claims {
                    intact: c.intact,
                    hash: c.hash,
                    prev: c.prev,
                    seq: c.seq,
                    writer: c.writer,
                }
            });
        seen.push(Seen {
            file: line.file,
            line: line.number,
            complete: line.complete,
            parsed,
        });
        true
    })?;
    Ok(seen)
}

/// The chains as followed so far, line by line.
struct ChainWalk<'a> {
    files: &'a [PathBuf],
    seen: &'a [Seen],
    /// Where the first intact record with each writer and `seq` is, to tell
    /// a record moved later (reordered) from one that is gone (deleted).
    seq_at: HashMap<(Option<&'a str>, u64), usize>,
    /// Where each record taken into a chain is, by hash, to recognise a copy.
    by_hash: HashMap<&'a str, usize>,
    /// Each writer's chain (`None`: a file log's one chain), by writer.
    chains: BTreeMap<Option<&'a str>, Chain>,
    /// The writer of the last record taken.
    last: Option<&'a str>,
    /// The positions, by writer, whose hashes a chain keeps: the checkpoints'.
    wanted: HashSet<(Option<String>, u64)>,
}

/// Where one chain stands.
struct Chain {
    /// The `seq` the next record must have.
    expected: u64,
    /// The hash the next record must chain to.
    prev: String,
    /// The hashes at the positions its checkpoints sign.
    heads: HashMap<u64, String>,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            expected: 1,
            prev: GENESIS.to_owned(),
            heads: HashMap::new(),
        }
    }
}

impl<'a> ChainWalk<'a> {
    fn new(files: &'a [PathBuf], seen: &'a [Seen]) -> Self {
        let mut seq_at = HashMap::new();
        for (i, s) in seen.iter().enumerate() {
            if let Some(Claims {
                intact: true,
                seq: Some(seq),
                writer,
                ..
            }) = &s.parsed
            {
                seq_at.entry((writer.as_deref(), *seq)).or_insert(i);
            }
        }
        ChainWalk {
            files,
            seen,
            seq_at,
            by_hash: HashMap::new(),
            chains: BTreeMap::new(),
            last: None,
            wanted: HashSet::new(),
        }
    }

    /// The head of the chain written to last (the genesis value for none).
    fn last_prev(&self) -> String {
        self.chains
            .get(&self.last)
            .map_or_else(|| GENESIS.to_owned(), |c| c.prev.clone())
    }

    /// Takes line `i` into the chain, or says why it breaks it.
    fn follow(&mut self, i: usize) -> Result<(), Failure> {
        let seen = self.seen;
        let s = &seen[i];
        if !s.complete {
            return Err((
                Damage::Torn,
                "the line has no end: a write was cut short or the file was truncated".to_owned(),
            ));
        }
        let Some(claims) = &s.parsed else {
            return Err((
                Damage::Malformed,
                "the line is not a JSON record".to_owned(),
            ));
        };
        let Some(seq) = claims.seq else {
            return Err((Damage::Malformed, "the record has no `seq`".to_owned()));
        };
        if !claims.intact {
            return Err((
                Damage::Edited,
                format!("record {seq} does not match its hash: its contents were changed"),
            ));
        }
        let writer = claims.writer.as_deref();
        // Each chain's records stand together (a store exports them so):
        // a chain taken up again after another's is a record slipped in.
        if writer != self.last && self.chains.contains_key(&writer) {
            return Err((
                Damage::Inserted,
                format!(
                    "record {seq} of {} stands among the records of {}: it was inserted",
                    name(writer),
                    name(self.last)
                ),
            ));
        }
        let chain = self.chains.entry(writer).or_default();
        if seq == chain.expected && claims.prev == chain.prev {
            chain.prev = claims.hash.clone();
            chain.expected += 1;
            self.by_hash.insert(&claims.hash, i);
            if !self.wanted.is_empty() && self.wanted.contains(&(writer.map(str::to_owned), seq)) {
                chain.heads.insert(seq, claims.hash.clone());
            }
            self.last = writer;
            return Ok(());
        }
        Err(self.misplaced(i, seq, writer, &claims.hash))
    }

    /// Names what most likely happened to an intact record, at line `i`,
    /// that does not follow the chain so far.
    fn misplaced(&self, i: usize, seq: u64, writer: Option<&str>, hash: &str) -> Failure {
        let expected = self.chains.get(&writer).map_or(1, |c| c.expected);
        if let Some(&earlier) = self.by_hash.get(hash) {
            let e = &self.seen[earlier];
            (
                Damage::Inserted,
                format!(
                    "a copy of record {seq} (line {} of `{}`) was inserted",
                    e.line,
                    self.files[e.file].display()
                ),
            )
        } else if seq > expected {
            self.skipped(i, seq, writer, expected)
        } else if seq < expected {
            (
                Damage::Inserted,
                format!(
                    "a record numbered {seq} appears after record {}",
                    expected - 1
                ),
            )
        } else {
            (
                Damage::Inserted,
                format!(
                    "record {seq} does not chain to the record before it: it was inserted or replaced"
                ),
            )
        }
    }

    /// Record `seq`, at line `i`, comes before the one expected: that one
    /// stands further on (reordered) or nowhere (deleted).
    fn skipped(&self, i: usize, seq: u64, writer: Option<&str>, expected: u64) -> Failure {
        match self.seq_at.get(&(writer, expected)).filter(|&&at| at > i) {
            Some(&at) => (
                Damage::Reordered,
                format!(
                    "record {seq} stands where record {expected} belongs (found at line {} of `{}`)",
                    self.seen[at].line,
                    self.files[self.seen[at].file].display()
                ),
            ),
            None if seq == expected + 1 => (
                Damage::Deleted,
                format!("record {expected} is missing before record {seq}"),
            ),
            None => (
                Damage::Deleted,
                format!("records {expected} to {} are missing", seq - 1),
            ),
        }
    }
}

/// A chain's name for a person: its writer, or the log's own chain.
fn name(writer: Option<&str>) -> String {
    match writer {
        Some(writer) => format!("writer `{writer}`"),
        None => "the log (no writer)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sealed record line of `writer`'s chain.
    fn line(writer: Option<&str>, seq: u64, prev: &str) -> (String, String) {
        let mut value = serde_json::json!({
            "schema": record::SCHEMA, "seq": seq, "id": "d", "at": "t",
            "policy": {"name": "p", "version": "1", "digest": "sha256:0"},
            "ticket": null, "masked": [], "prev": prev,
        });
        if let Some(writer) = writer {
            value["writer"] = Value::String(writer.to_owned());
        }
        let hash = record::hash_of(&mut value);
        value["hash"] = Value::String(hash.clone());
        (value.to_string(), hash)
    }

    fn chain(writer: Option<&str>, count: u64) -> Vec<String> {
        let mut prev = GENESIS.to_owned();
        (1..=count)
            .map(|seq| {
                let (text, hash) = line(writer, seq, &prev);
                prev = hash;
                text
            })
            .collect()
    }

    fn verified(lines: &[String]) -> Verification {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        verify(&[path]).unwrap()
    }

    #[test]
    fn writers_chains_standing_together_verify_each_on_its_own() {
        let lines = [chain(Some("a"), 3), chain(Some("b"), 2)].concat();
        let checked = verified(&lines);
        assert!(checked.broken.is_none(), "{:?}", checked.broken);
        assert_eq!(checked.records, 5);
        assert_eq!(checked.writers.len(), 2);
    }

    #[test]
    fn a_chain_of_another_writer_slipped_into_a_log_is_caught() {
        let log = chain(None, 4);
        let forged = chain(Some("x"), 1);
        let lines = [&log[..2], &forged[..], &log[2..]].concat();
        let broken = verified(&lines).broken.unwrap();
        assert_eq!(broken.damage, Damage::Inserted);
        assert_eq!(broken.line, 4);
        assert!(
            broken.detail.contains("among the records of writer `x`"),
            "{}",
            broken.detail
        );
    }
}
