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

use std::collections::{HashMap, HashSet};
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
    /// The signed checkpoints, when they were asked for ([`verify_signed`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<checkpoint::Report>,
}

impl Verification {
    /// Whether the chain is unbroken and every checkpoint checked is good.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
            && self
                .checkpoints
                .as_ref()
                .is_none_or(|c| c.problems.is_empty())
    }
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
}

/// What broke the chain, and how it most likely happened.
type Failure = (Damage, String);

/// Checks the logs at `paths` (each with its rotated segments) as one chain.
pub fn verify(paths: &[PathBuf]) -> Result<Verification, AuditError> {
    verify_with(paths, None)
}

/// Like [`verify`], and checks the logs' checkpoints too: each signed by one
/// of `trusted`, matching the chain, and none past its end.
pub fn verify_signed(paths: &[PathBuf], trusted: &Trusted) -> Result<Verification, AuditError> {
    verify_with(paths, Some(trusted))
}

fn verify_with(paths: &[PathBuf], trusted: Option<&Trusted>) -> Result<Verification, AuditError> {
    let files = read::files(paths)?;
    let claims = trusted.map(|t| Checkpoints::read(paths, t)).transpose()?;
    let seen = scan(&files)?;
    let mut chain = ChainWalk::new(&files, &seen);
    chain.wanted = claims
        .as_ref()
        .map(Checkpoints::positions)
        .unwrap_or_default();
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
    let (records, head) = (chain.expected - 1, chain.prev);
    let checkpoints = claims.map(|c| c.against(&chain.heads, records, broken.is_some()));
    Ok(Verification {
        files,
        records,
        head,
        broken,
        checkpoints,
    })
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

/// The chain as followed so far, line by line.
struct ChainWalk<'a> {
    files: &'a [PathBuf],
    seen: &'a [Seen],
    /// Where the first intact record with each `seq` is, to tell a record
    /// moved later (reordered) from one that is gone (deleted).
    seq_at: HashMap<u64, usize>,
    /// Where each record taken into the chain is, by hash, to recognise a copy.
    by_hash: HashMap<&'a str, usize>,
    /// The `seq` the next record must have.
    expected: u64,
    /// The hash the next record must chain to.
    prev: String,
    /// The positions whose hashes are kept in `heads`: the checkpoints'.
    wanted: HashSet<u64>,
    heads: HashMap<u64, String>,
}

impl<'a> ChainWalk<'a> {
    fn new(files: &'a [PathBuf], seen: &'a [Seen]) -> Self {
        let mut seq_at = HashMap::new();
        for (i, s) in seen.iter().enumerate() {
            if let Some(Claims {
                intact: true,
                seq: Some(seq),
                ..
            }) = &s.parsed
            {
                seq_at.entry(*seq).or_insert(i);
            }
        }
        ChainWalk {
            files,
            seen,
            seq_at,
            by_hash: HashMap::new(),
            expected: 1,
            prev: GENESIS.to_owned(),
            wanted: HashSet::new(),
            heads: HashMap::new(),
        }
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
        if seq == self.expected && claims.prev == self.prev {
            self.by_hash.insert(&claims.hash, i);
            if self.wanted.contains(&seq) {
                self.heads.insert(seq, claims.hash.clone());
            }
            self.prev = claims.hash.clone();
            self.expected += 1;
            return Ok(());
        }
        Err(self.misplaced(i, seq, &claims.hash))
    }

    /// Names what most likely happened to an intact record, at line `i`,
    /// that does not follow the chain so far.
    fn misplaced(&self, i: usize, seq: u64, hash: &str) -> Failure {
        let expected = self.expected;
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
            self.skipped(i, seq)
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
    fn skipped(&self, i: usize, seq: u64) -> Failure {
        let expected = self.expected;
        match self.seq_at.get(&expected).filter(|&&at| at > i) {
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
