//! `verify`: every record's hash, and the chain across every segment.
//!
//! The first problem is reported with its file and line, named for what most
//! likely happened: a record `edited`, records `deleted`, `reordered` or
//! `inserted`, the log `torn` (a line cut short: a crash mid-write or a
//! truncation), or a line that is not a record at all (`malformed`).
//! Records removed from the very end leave no trace in the chain itself:
//! compare the head hash and count printed here with the last ones noted.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::AuditError;
use super::read;
use super::record::{self, GENESIS};

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
}

struct Seen {
    file: usize,
    line: usize,
    complete: bool,
    parsed: Option<(bool, String, String, Option<u64>)>,
}

/// Checks the logs at `paths` (each with its rotated segments) as one chain.
pub fn verify(paths: &[PathBuf]) -> Result<Verification, AuditError> {
    let files = read::files(paths)?;
    let mut seen = Vec::new();
    read::lines(&files, |line| {
        let parsed = serde_json::from_slice::<Value>(&line.text)
            .ok()
            .filter(Value::is_object)
            .map(|value| {
                let c = record::check(value);
                (c.intact, c.hash, c.prev, c.seq)
            });
        seen.push(Seen {
            file: line.file,
            line: line.number,
            complete: line.complete,
            parsed,
        });
        true
    })?;
    let mut seq_at: HashMap<u64, usize> = HashMap::new();
    for (i, s) in seen.iter().enumerate() {
        if let Some((true, _, _, Some(seq))) = &s.parsed {
            seq_at.entry(*seq).or_insert(i);
        }
    }
    let mut by_hash: HashMap<&str, usize> = HashMap::new();
    let mut expected = 1u64;
    let mut prev = GENESIS.to_owned();
    let mut broken = None;
    for (i, s) in seen.iter().enumerate() {
        let fail = |damage: Damage, detail: String| Break {
            file: files[s.file].clone(),
            line: s.line,
            damage,
            detail,
        };
        if !s.complete {
            broken = Some(fail(
                Damage::Torn,
                "the line has no end: a write was cut short or the file was truncated".to_owned(),
            ));
            break;
        }
        let Some((intact, hash, claimed_prev, seq)) = &s.parsed else {
            broken = Some(fail(
                Damage::Malformed,
                "the line is not a JSON record".to_owned(),
            ));
            break;
        };
        let Some(seq) = *seq else {
            broken = Some(fail(
                Damage::Malformed,
                "the record has no `seq`".to_owned(),
            ));
            break;
        };
        if !intact {
            broken = Some(fail(
                Damage::Edited,
                format!("record {seq} does not match its hash: its contents were changed"),
            ));
            break;
        }
        if seq == expected && *claimed_prev == prev {
            by_hash.insert(hash, i);
            prev = hash.clone();
            expected += 1;
            continue;
        }
        let damage = if let Some(&earlier) = by_hash.get(hash.as_str()) {
            let e = &seen[earlier];
            (
                Damage::Inserted,
                format!(
                    "a copy of record {seq} (line {} of `{}`) was inserted",
                    e.line,
                    files[e.file].display()
                ),
            )
        } else if seq > expected {
            match seq_at.get(&expected).filter(|&&at| at > i) {
                Some(&at) => (
                    Damage::Reordered,
                    format!(
                        "record {seq} stands where record {expected} belongs (found at line {} of `{}`)",
                        seen[at].line,
                        files[seen[at].file].display()
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
        };
        broken = Some(fail(damage.0, damage.1));
        break;
    }
    Ok(Verification {
        files,
        records: expected - 1,
        head: prev,
        broken,
    })
}
