//! `replay`: decide every logged ticket again, with the archived bundle that
//! decided it (the decision must be identical: evaluation is deterministic),
//! or with another bundle (to see what it would change).

use std::path::PathBuf;

use serde::Serialize;

use super::Record;
use super::verdict::Verdict;
use super::{Archive, AuditError, read};
use triage_engine::{Bundle, Decision, Rejection, StepKind};

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
    let verdicts = with.is_some();
    if !same(&now, logged, verdicts) && with.is_none() && walked_every_rule(logged) {
        // Written without the rule index (by a triage before it, or from a
        // walk of every rule): decided again that way, the trace compares.
        let walked = bundle.linear().decide(&record.ticket);
        if same(&walked, logged, false) {
            return Ok((true, walked));
        }
    }
    Ok((same(&now, logged, verdicts), now))
}

/// Whether `now` is the `logged` result: identical, or with `verdicts`
/// the same verdict.
fn same(
    now: &Result<Decision, Rejection>,
    logged: Result<&Decision, &Rejection>,
    verdicts: bool,
) -> bool {
    match (now, logged) {
        (Ok(a), Ok(b)) if verdicts => Verdict::of(Ok(a)) == Verdict::of(Ok(b)),
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) if verdicts => Verdict::of(Err(a)) == Verdict::of(Err(b)),
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

/// Whether a logged trace has no entry for rules the index left out.
fn walked_every_rule(logged: Result<&Decision, &Rejection>) -> bool {
    let trace = match logged {
        Ok(decision) => &decision.trace,
        Err(rejection) => &rejection.trace,
    };
    trace.iter().all(|step| step.kind != StepKind::Excluded)
}
