//! `replay`: decide every logged ticket again, with the archived bundle that
//! decided it (the decision must be identical: evaluation is deterministic),
//! or with another bundle (to see what it would change).

use std::path::PathBuf;

use serde::Serialize;

use super::Record;
use super::verdict::Verdict;
use super::{Archive, AuditError, read};
use triage_engine::{Bundle, Decision, Rejection};

#[derive(Debug, Default, Serialize)]
pub struct Replay {
    pub records: u64,
    pub identical: u64,
    /// Records whose replayed decision is not the logged one.
    pub different: Vec<Difference>,
    /// Records of inputs that were not ticket documents at all (rejected
    /// before any bundle saw them): there is nothing to decide again.
    pub not_tickets: u64,
    /// Records that could not be replayed (no ticket, archive missing, a line
    /// that is not a record), with why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Difference {
    pub file: PathBuf,
    pub line: usize,
    pub decision_id: String,
    pub ticket_id: Option<String>,
    pub before: Verdict,
    pub after: Verdict,
}

/// Replays the log at `path` (all its segments), with `with` instead of the
/// archived bundles when given.
pub fn replay(path: &PathBuf, with: Option<&Bundle>) -> Result<Replay, AuditError> {
    let files = read::files(std::slice::from_ref(path))?;
    let (records, problems) = read::records(&files)?;
    let mut archive = Archive::of(path);
    let mut replay = Replay {
        skipped: problems,
        ..Replay::default()
    };
    for (file, line, record) in records {
        replay.records += 1;
        let at = format!("{}:{line}", files[file].display());
        let Some(logged) = record.result() else {
            replay
                .skipped
                .push(format!("{at}: the record holds no decision"));
            continue;
        };
        if record.ticket.is_null() {
            replay.not_tickets += 1;
            continue;
        }
        let (same, now) = match again(&record, logged, &mut archive, with) {
            Ok(again) => again,
            Err(e) => {
                replay.skipped.push(format!("{at}: {e}"));
                continue;
            }
        };
        if same {
            replay.identical += 1;
        } else {
            replay.different.push(Difference {
                file: files[file].clone(),
                line,
                decision_id: record.id.clone(),
                ticket_id: record.ticket_id().map(str::to_owned),
                before: Verdict::of(logged),
                after: Verdict::of(now.as_ref()),
            });
        }
    }
    Ok(replay)
}

/// Decides `record`'s ticket again, with its archived bundle or with `with`:
/// whether the result is the `logged` one (identical with the archived
/// bundle; the same verdict with another), and the result.
pub fn again(
    record: &Record,
    logged: Result<&Decision, &Rejection>,
    archive: &mut Archive,
    with: Option<&Bundle>,
) -> Result<(bool, Result<Decision, Rejection>), AuditError> {
    let bundle = match with {
        Some(bundle) => bundle.clone(),
        None => archive.load(&record.policy.digest)?,
    };
    let now = bundle.decide(&record.ticket);
    let same = match (&now, logged) {
        (Ok(a), Ok(b)) if with.is_some() => Verdict::of(Ok(a)) == Verdict::of(Ok(b)),
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) if with.is_some() => Verdict::of(Err(a)) == Verdict::of(Err(b)),
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    Ok((same, now))
}
