//! The recorder: the one way to decide, record and answer, for `triage eval`,
//! batch mode and the HTTP service alike.
//!
//! Its rule: **a result is answered only after its record is written.** Every
//! method that hands back a result to answer with has appended that result
//! to the decision log first (when there is a log), and a result whose record
//! could not be written comes back as the [`AuditError`] that stops the
//! answer. Input that is not even JSON gets the one rejection shape,
//! [`Rejection::unreadable`], worded by the caller ([`Unreadable`]), and is
//! recorded under a `null` ticket like any other answer.
//!
//! Batch mode decides on many threads but records on one, in input order: its
//! workers call [`Recorder::decide_json_unrecorded`], which gives a
//! [`Pending`] result, and its writer passes each to [`Recorder::record`]
//! before writing the line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::canonical;
use super::journal::Written;
use super::log::Entry;
use super::record::{Decided, Ticket};
use super::{AuditError, Journal};
use triage_engine::{Bundle, Decision, Rejection, RejectionKind, TicketSyntaxError};

/// What a ticket comes to: its decision, or the rejection to answer with.
pub type Answer = Result<Decision, Rejection>;

/// How a caller words the rejection of input that is not a ticket at all
/// (not JSON, or not JSON or YAML). Each caller keeps its own words, since
/// they are part of its output.
#[derive(Clone, Copy, Debug)]
pub struct Unreadable<'w> {
    /// What the caller expected, e.g. `a ticket as a JSON object`.
    pub expected: &'w str,
    /// What it got instead, e.g. `a body that is not JSON`.
    pub found: &'w str,
    /// The message for empty input, for a caller that words it apart from
    /// other JSON errors; `None` gives empty input the parser's message.
    pub empty: Option<&'w str>,
}

/// Hears each result as it is made, before it is recorded: the service counts
/// them for its metrics. Both methods do nothing unless implemented.
pub trait Observer {
    /// A ticket was decided (or rejected by the bundle), taking `took`.
    fn decided(&self, result: &Answer, took: Duration) {
        let _ = (result, took);
    }

    /// A ticket was decided the short way, its decision's JSON written
    /// ([`Recorder::draft`]): its outcome and vehicle, taking `took`.
    fn written(&self, outcome: &Arc<str>, vehicle: Option<&Arc<str>>, took: Duration) {
        let _ = (outcome, vehicle, took);
    }

    /// Input that was not a ticket was rejected without deciding.
    fn unreadable(&self, rejection: &Rejection) {
        let _ = rejection;
    }
}

/// A result decided but not yet recorded. It may be looked at, to prepare
/// the answer, but it becomes a result to answer with only through
/// [`Recorder::record`].
#[derive(Debug)]
#[must_use = "a pending result is answered only once `Recorder::record` has recorded it"]
pub struct Pending {
    ticket: Option<Value>,
    result: Answer,
}

impl Pending {
    /// The ticket, or `None` when the input was not JSON (it is recorded
    /// under a `null` ticket).
    pub fn ticket(&self) -> Option<&Value> {
        self.ticket.as_ref()
    }

    /// The result, to prepare the answer from (count it, serialise it). Not
    /// to send: the record is not written yet.
    pub fn result(&self) -> &Answer {
        &self.result
    }
}

/// A drafted decision's ticket, as its record takes it.
#[derive(Debug)]
enum Kept {
    /// In the canonical encoding.
    Canonical(Vec<u8>),
    Value(Value),
}

/// A decision made the short way, its JSON written, not yet recorded: what
/// [`Recorder::draft`] gives. Its JSON becomes one to answer with only
/// through [`Recorder::record_drafted`] or [`Recorder::record_drafted_then`].
#[derive(Debug)]
#[must_use = "a drafted decision is answered only once its record is written"]
pub struct Drafted {
    ticket: Kept,
    json: Vec<u8>,
    /// The decision's JSON with its keys sorted, for the record.
    sorted: Vec<u8>,
    outcome: Arc<str>,
    vehicle: Option<Arc<str>>,
}

impl Drafted {
    /// The decision's JSON, to prepare the answer from. Not to send: the
    /// record is not written yet.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The decision's outcome and vehicle, to count it.
    pub fn outcome(&self) -> (&Arc<str>, Option<&Arc<str>>) {
        (&self.outcome, self.vehicle.as_ref())
    }
}

/// A result whose record is on its way to the log: it becomes one to answer
/// with only through [`Unconfirmed::confirm`], with what the log told.
/// `T` is one result, or a batch's results.
#[derive(Debug)]
#[must_use = "a result is answered only once its record is confirmed written"]
pub struct Unconfirmed<T = Answer> {
    result: T,
}

impl<T> Unconfirmed<T> {
    /// The result to answer with, when the log says its record is written
    /// (`written` is what [`Recorder::record_then`]'s `then` heard).
    pub fn confirm(self, written: Result<Vec<String>, AuditError>) -> Result<T, AuditError> {
        written.map(|_| self.result)
    }
}

/// Decides with one bundle and records every result in one decision log (or
/// none) before handing it back to be answered. It holds only references:
/// make one where it is needed, per request or per thread.
#[derive(Clone, Copy)]
pub struct Recorder<'a> {
    bundle: &'a Bundle,
    log: Option<&'a dyn Journal>,
    observer: Option<&'a (dyn Observer + Sync)>,
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("policy", self.bundle.policy())
            .field("log", &self.log.is_some())
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl<'a> Recorder<'a> {
    /// A recorder deciding with `bundle` and recording in `log` (a file log
    /// behind a mutex, or a store); without a log, results are answered
    /// unrecorded.
    pub fn new(bundle: &'a Bundle, log: Option<&'a dyn Journal>) -> Self {
        Recorder {
            bundle,
            log,
            observer: None,
        }
    }

    /// The same recorder, telling `observer` of each result before recording it.
    pub fn observed_by(self, observer: &'a (dyn Observer + Sync)) -> Self {
        Recorder {
            observer: Some(observer),
            ..self
        }
    }

    /// The bundle that decides.
    pub fn bundle(&self) -> &'a Bundle {
        self.bundle
    }

    /// Whether results are recorded: without a log there is nothing to keep
    /// for [`Recorder::record`].
    pub fn is_recording(&self) -> bool {
        self.log.is_some()
    }

    /// Decides `ticket`, records the result, and returns it to answer with.
    /// `Err`: the record could not be written, so there must be no answer.
    pub fn decide(&self, ticket: &Value) -> Result<Answer, AuditError> {
        let result = self.judge(ticket);
        self.append(&[(self.bundle, Ticket::Value(ticket), Decided::Result(&result))])?;
        Ok(result)
    }

    /// Reads `bytes` as a JSON ticket and decides it, or rejects them as
    /// [`Recorder::read`] does; records the result and returns it to answer
    /// with. `Err` as for [`Recorder::decide`].
    pub fn decide_json(&self, bytes: &[u8], words: &Unreadable) -> Result<Answer, AuditError> {
        match self.read(bytes, words) {
            Ok(ticket) => self.decide(&ticket),
            Err(rejection) => self.reject(rejection),
        }
    }

    /// Records the rejection of input that could not be read as a ticket
    /// (made by [`Recorder::read`] or [`Recorder::unreadable`]) under a
    /// `null` ticket, and returns it to answer with. `Err` as for
    /// [`Recorder::decide`].
    pub fn reject(&self, rejection: Rejection) -> Result<Answer, AuditError> {
        self.record(self.reject_unrecorded(rejection))
    }

    /// Like [`Recorder::reject`] but without recording, for
    /// [`Recorder::record`] to record later.
    pub fn reject_unrecorded(&self, rejection: Rejection) -> Pending {
        if let Some(observer) = self.observer {
            observer.unreadable(&rejection);
        }
        Pending {
            ticket: None,
            result: Err(rejection),
        }
    }

    /// Like [`Recorder::decide_json`] but without recording: for a caller
    /// that records on another thread, in an order of its own, by handing
    /// the [`Pending`] result to [`Recorder::record`] before answering.
    pub fn decide_json_unrecorded(&self, bytes: &[u8], words: &Unreadable) -> Pending {
        match self.read(bytes, words) {
            Ok(ticket) => {
                let result = self.judge(&ticket);
                Pending {
                    ticket: Some(ticket),
                    result,
                }
            }
            Err(rejection) => self.reject_unrecorded(rejection),
        }
    }

    /// Like [`Recorder::decide`] but without recording: the [`Pending`]
    /// result becomes one to answer with through [`Recorder::record`] or
    /// [`Recorder::record_all`].
    pub fn decide_unrecorded(&self, ticket: Value) -> Pending {
        let result = self.judge(&ticket);
        Pending {
            ticket: Some(ticket),
            result,
        }
    }

    /// Decides `bytes` the short way ([`Bundle::write_decision_sorted`]),
    /// for a result to record, when the short way goes: the decision's JSON
    /// for the answer, the same with its keys sorted for the record, and
    /// the ticket's text sorted for the record (read into a value only
    /// where the text is not as serde_json would write it). No `Decision`
    /// is built. `None` where the short way does not go (every refusal
    /// among them): [`Recorder::decide_json_unrecorded`] then. Without a
    /// log to record in, [`Bundle::write_decision`] alone is cheaper.
    pub fn draft(&self, bytes: &[u8]) -> Option<Drafted> {
        let started = Instant::now();
        let (mut json, mut sorted) = (Vec::with_capacity(2048), Vec::with_capacity(2048));
        // The record takes the decision sorted, which the engine writes
        // for less than sorting the answer's JSON would cost.
        let written = self
            .bundle
            .write_decision_sorted(bytes, &mut json, &mut sorted)?;
        let took = started.elapsed();
        // The record takes the ticket's text sorted where it can, which
        // costs a fraction of reading it into a `Value`.
        let ticket = match canonical::sorted_strict(bytes) {
            Some(text) => Kept::Canonical(text),
            None => Kept::Value(triage_engine::parse_ticket(bytes).ok()?),
        };
        if let Some(observer) = self.observer {
            observer.written(written.outcome, written.vehicle, took);
        }
        Some(Drafted {
            ticket,
            json,
            sorted,
            outcome: Arc::clone(written.outcome),
            vehicle: written.vehicle.cloned(),
        })
    }

    /// Like [`Recorder::record`] for a decision [`Recorder::draft`] made:
    /// records it and returns its JSON to answer with. `Err` as for
    /// [`Recorder::decide`].
    pub fn record_drafted(&self, drafted: Drafted) -> Result<Vec<u8>, AuditError> {
        self.append(&[self.drafted(&drafted)])?;
        Ok(drafted.json)
    }

    /// Like [`Recorder::record_then`] for a decision [`Recorder::draft`]
    /// made: its JSON comes back
    /// [`Unconfirmed`] until `then` hears that its record is written.
    pub fn record_drafted_then(&self, drafted: Drafted, then: Written) -> Unconfirmed<Vec<u8>> {
        self.hand_over(&[self.drafted(&drafted)], then);
        Unconfirmed {
            result: drafted.json,
        }
    }

    /// Records a result decided earlier (by any recorder with the same
    /// bundle) and returns it to answer with. `Err` as for
    /// [`Recorder::decide`].
    pub fn record(&self, pending: Pending) -> Result<Answer, AuditError> {
        self.append(&[self.pending(&pending)])?;
        Ok(pending.result)
    }

    /// Like [`Recorder::record`] without waiting for the write: hands the
    /// record to the log, and `then` hears when it is written (or why it is
    /// not), maybe on another thread; without a log, at once. The result
    /// comes back [`Unconfirmed`] until then.
    pub fn record_then(&self, pending: Pending, then: Written) -> Unconfirmed {
        self.hand_over(&[self.pending(&pending)], then);
        Unconfirmed {
            result: pending.result,
        }
    }

    /// Like [`Recorder::record_all`] without waiting for the write, as
    /// [`Recorder::record_then`] does: all or nothing.
    pub fn record_all_then(
        &self,
        pending: Vec<Pending>,
        then: Written,
    ) -> Unconfirmed<Vec<Answer>> {
        let entries: Vec<_> = pending.iter().map(|p| self.pending(p)).collect();
        self.hand_over(&entries, then);
        Unconfirmed {
            result: pending.into_iter().map(|p| p.result).collect(),
        }
    }

    /// Hands the records of `entries` to the log; `then` hears how it went
    /// (at once, without a log).
    fn hand_over(&self, entries: &[Entry<'_>], then: Written) {
        match self.log {
            Some(log) => log.append_then(entries, then),
            None => then(Ok(Vec::new())),
        }
    }

    /// What the log records of a result decided the long way.
    fn pending<'p>(&self, pending: &'p Pending) -> Entry<'p>
    where
        'a: 'p,
    {
        let ticket = pending.ticket.as_ref().unwrap_or(&Value::Null);
        (
            self.bundle,
            Ticket::Value(ticket),
            Decided::Result(&pending.result),
        )
    }

    /// What the log records of a decision drafted the short way.
    fn drafted<'p>(&self, drafted: &'p Drafted) -> Entry<'p>
    where
        'a: 'p,
    {
        let ticket = match &drafted.ticket {
            Kept::Canonical(text) => Ticket::Canonical(text),
            Kept::Value(value) => Ticket::Value(value),
        };
        (self.bundle, ticket, Decided::Sorted(&drafted.sorted))
    }

    /// Records results decided earlier, all in one write, and returns them to
    /// answer with, in order. All or nothing: `Err` when the records could
    /// not be written, and then none of them is in the log.
    pub fn record_all(&self, pending: Vec<Pending>) -> Result<Vec<Answer>, AuditError> {
        let entries: Vec<_> = pending.iter().map(|p| self.pending(p)).collect();
        self.append(&entries)?;
        Ok(pending.into_iter().map(|p| p.result).collect())
    }

    /// `bytes` as one JSON value, read by [`triage_engine::parse_ticket`]
    /// (one leading byte-order mark skipped, a duplicate key refused), or the
    /// rejection to answer with, made by [`Recorder::syntax`].
    pub fn read(&self, bytes: &[u8], words: &Unreadable) -> Result<Value, Rejection> {
        triage_engine::parse_ticket(bytes).map_err(|error| self.syntax(&error, words))
    }

    /// The rejection of bytes that are not a ticket's JSON: for JSON that
    /// does not parse, the parser's message, `not valid JSON: …` (or
    /// `words.empty` for empty input, when the caller gave one); for a
    /// duplicate key, a problem at the field named twice.
    pub fn syntax(&self, error: &TicketSyntaxError, words: &Unreadable) -> Rejection {
        match error {
            TicketSyntaxError::Json(error) => {
                let empty = error.is_eof() && error.line() == 1 && error.column() == 0;
                match words.empty {
                    Some(message) if empty => self.unreadable(words, message),
                    _ => self.unreadable(words, format!("not valid JSON: {error}")),
                }
            }
            TicketSyntaxError::TooLarge { .. } => self.unreadable(words, error.to_string()),
            TicketSyntaxError::DuplicateKey { key, .. } => {
                let mut rejection = self.unreadable(words, error.to_string());
                if let RejectionKind::InvalidTicket { problems } = &mut rejection.error {
                    for problem in problems {
                        problem.field = error.field().unwrap_or_default();
                        problem.expected = "each key at most once in an object".to_owned();
                        problem.found = format!("`{key}` twice");
                    }
                }
                rejection
            }
        }
    }

    /// The one rejection of input that is not a ticket at all, in `words`,
    /// with `message` saying what is wrong with it.
    pub fn unreadable(&self, words: &Unreadable, message: impl Into<String>) -> Rejection {
        Rejection::unreadable(self.bundle.policy(), words.expected, words.found, message)
    }

    /// Decides, telling the observer (timed only when there is one).
    fn judge(&self, ticket: &Value) -> Answer {
        let Some(observer) = self.observer else {
            return self.bundle.decide(ticket);
        };
        let started = Instant::now();
        let result = self.bundle.decide(ticket);
        observer.decided(&result, started.elapsed());
        result
    }

    /// Appends the records of `entries`, when there is a log (all or
    /// nothing): with [`Recorder::hand_over`], the only places that do.
    fn append(&self, entries: &[Entry<'_>]) -> Result<(), AuditError> {
        match self.log {
            Some(log) => log.append_all(entries).map(drop),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DecisionLog, LogOptions};
    use std::sync::Mutex;

    const WORDS: Unreadable<'static> = Unreadable {
        expected: "a ticket",
        found: "not JSON",
        empty: None,
    };

    fn bundle() -> Bundle {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        Bundle::load(&dir).unwrap()
    }

    /// `(expected, found, message)` of an unreadable-input rejection.
    fn words_of(rejection: &Rejection) -> (String, String, String) {
        match &rejection.error {
            RejectionKind::InvalidTicket { problems } => {
                let p = &problems[0];
                (p.expected.clone(), p.found.clone(), p.message.clone())
            }
            other => panic!("not an unreadable-input rejection: {other:?}"),
        }
    }

    #[test]
    fn a_recorder_can_be_shared_between_threads() {
        fn check<T: Send + Sync>() {}
        check::<Recorder<'static>>();
        check::<Pending>();
    }

    #[test]
    fn input_that_is_not_json_is_rejected_in_the_callers_words() {
        let bundle = bundle();
        let recorder = Recorder::new(&bundle, None);
        let rejection = recorder.read(b"{", &WORDS).unwrap_err();
        let (expected, found, message) = words_of(&rejection);
        assert_eq!(
            (expected.as_str(), found.as_str()),
            ("a ticket", "not JSON")
        );
        assert!(message.starts_with("not valid JSON: "), "{message}");
        let empty = recorder.read(b"", &WORDS).unwrap_err();
        assert!(words_of(&empty).2.starts_with("not valid JSON: EOF"));
        let worded = Unreadable {
            empty: Some("nothing"),
            ..WORDS
        };
        let empty = recorder.read(b"", &worded).unwrap_err();
        assert_eq!(words_of(&empty).2, "nothing");
    }

    #[test]
    fn every_result_is_recorded_before_it_is_handed_back() {
        let bundle = bundle();
        let dir = tempfile::tempdir().unwrap();
        let log = DecisionLog::open(dir.path().join("decisions.jsonl"), LogOptions::default());
        let log = Mutex::new(log.unwrap());
        let recorder = Recorder::new(&bundle, Some(&log));
        let records = || log.lock().unwrap().records();
        recorder
            .decide(&serde_json::json!({}))
            .unwrap()
            .unwrap_err();
        assert_eq!(records(), 1);
        recorder
            .decide_json(b"not json", &WORDS)
            .unwrap()
            .unwrap_err();
        assert_eq!(records(), 2);
        let pending = recorder.decide_json_unrecorded(b"[", &WORDS);
        assert!(pending.ticket().is_none());
        assert_eq!(records(), 2);
        recorder.record(pending).unwrap().unwrap_err();
        assert_eq!(records(), 3);
    }

    #[test]
    fn no_result_is_handed_back_when_its_record_cannot_be_written() {
        let bundle = bundle();
        let dir = tempfile::tempdir().unwrap();
        let log = DecisionLog::open(dir.path().join("decisions.jsonl"), LogOptions::default());
        let log = Mutex::new(log.unwrap());
        // A writer that failed while holding the log leaves it poisoned.
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _held = log.lock();
                panic!("a writer fails mid-append");
            })
            .join()
        });
        let recorder = Recorder::new(&bundle, Some(&log));
        let failure = recorder.decide(&serde_json::json!({})).unwrap_err();
        assert!(matches!(failure, AuditError::Poisoned), "{failure}");
    }
}
