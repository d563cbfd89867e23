//! Masking: the ticket fields a bundle declares `mask: true` never reach a
//! log in clear. Each value becomes `masked:sha256:<hex>`, the SHA-256 of the
//! log's secret salt followed by the value's canonical encoding: equal values
//! give equal tokens within one log (so an auditor can still group them), and
//! without the salt a token cannot be checked against guesses.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canonical;
use triage_engine::{Bundle, Decision, FieldPath, Rejection, RejectionKind, TraceStep};

/// The masked field paths of a bundle.
pub fn fields(bundle: &Bundle) -> Vec<Arc<str>> {
    bundle.masked_fields()
}

pub struct Masker {
    salt: Vec<u8>,
}

impl Masker {
    pub fn new(salt: Vec<u8>) -> Masker {
        Masker { salt }
    }

    pub fn token(&self, value: &Value) -> String {
        self.token_of(&canonical::encode(value))
    }

    /// The token of a value given in its canonical encoding.
    fn token_of(&self, encoded: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.salt);
        hasher.update(encoded);
        canonical::tagged("masked:sha256:", &hasher.finalize())
    }

    /// Writes `ticket`, a ticket in the canonical encoding, to `out` with
    /// `fields` masked, and gives the paths that were present, as
    /// [`Masker::ticket`] does for a `Value`. `None`, with nothing
    /// written, where one masked value holds another: the order they are
    /// masked in would then matter, and a `Value` keeps to it.
    pub fn ticket_text(
        &self,
        ticket: &[u8],
        fields: &[Arc<str>],
        out: &mut Vec<u8>,
    ) -> Option<Vec<String>> {
        let mut found: Vec<(Range<usize>, &Arc<str>)> = (fields.iter())
            .filter_map(|path| Some((canonical::find(ticket, path)?, path)))
            .filter(|(at, _)| ticket[at.clone()] != *b"null")
            .collect();
        let paths = found.iter().map(|(_, path)| path.to_string()).collect();
        found.sort_by_key(|(at, _)| at.start);
        (found.windows(2).all(|w| w[0].0.end <= w[1].0.start)).then_some(())?;
        let mut done = 0;
        for (at, _) in &found {
            out.extend_from_slice(&ticket[done..at.start]);
            out.push(b'"');
            out.extend_from_slice(self.token_of(&ticket[at.clone()]).as_bytes());
            out.push(b'"');
            done = at.end;
        }
        out.extend_from_slice(&ticket[done..]);
        Some(paths)
    }

    /// The ticket with `fields` masked, and the paths that were present;
    /// the ticket itself when none is.
    pub fn ticket<'t>(
        &self,
        ticket: &'t Value,
        fields: &[Arc<str>],
    ) -> (Cow<'t, Value>, Vec<String>) {
        let present = |path: &&Arc<str>| {
            FieldPath::new(path)
                .get(ticket)
                .is_some_and(|node| !node.is_null())
        };
        if !fields.iter().any(|path| present(&path)) {
            return (Cow::Borrowed(ticket), Vec::new());
        }
        let mut masked = ticket.clone();
        let mut paths = Vec::new();
        for path in fields {
            if let Some(slot) = slot(&mut masked, path) {
                *slot = Value::String(self.token(slot));
                paths.push(path.to_string());
            }
        }
        (Cow::Owned(masked), paths)
    }

    /// The result with every value of a masked field replaced as in the
    /// ticket; the result itself when it quotes none.
    pub fn result<'r>(
        &self,
        result: &'r Result<Decision, Rejection>,
        masked: &[String],
    ) -> Cow<'r, Result<Decision, Rejection>> {
        if !quotes(result, masked) {
            return Cow::Borrowed(result);
        }
        let mut result = result.clone();
        match &mut result {
            Ok(decision) => self.trace(&mut decision.trace, masked),
            Err(rejection) => {
                self.trace(&mut rejection.trace, masked);
                if let RejectionKind::InvalidTicket { problems } = &mut rejection.error {
                    for problem in problems.iter_mut().filter(|p| masked.contains(&p.field)) {
                        // The problem text may quote the value.
                        problem.found = "(masked)".to_owned();
                        problem.message = "(masked)".to_owned();
                    }
                }
            }
        }
        Cow::Owned(result)
    }

    fn trace(&self, trace: &mut [TraceStep], masked: &[String]) {
        for step in trace {
            for (path, value) in &mut step.reads.0 {
                if masked.iter().any(|m| **m == **path) && !value.is_null() {
                    *value = Value::String(self.token(value));
                }
            }
        }
    }
}

/// Whether a decision's JSON may quote a value of a `masked` field: a
/// field's path written as a key anywhere in it (as a trace's reads write
/// it). It may say yes where the decision only names the path, never no
/// where it quotes a value.
pub fn quotes_json(json: &[u8], masked: &[String]) -> bool {
    masked.iter().any(|path| {
        let mut key = serde_json::to_vec(path).unwrap_or_default();
        key.push(b':');
        memchr::memmem::find(json, &key).is_some()
    })
}

/// Whether `result` quotes a value of a `masked` field: in a trace's reads
/// (when not `null`), or, for a rejection, in a problem with the ticket.
fn quotes(result: &Result<Decision, Rejection>, masked: &[String]) -> bool {
    let is_masked = |path: &str| masked.iter().any(|m| m == path);
    let reads = |trace: &[TraceStep]| {
        (trace.iter().flat_map(|step| &step.reads.0))
            .any(|(path, value)| is_masked(path) && !value.is_null())
    };
    match result {
        _ if masked.is_empty() => false,
        Ok(decision) => reads(&decision.trace),
        Err(rejection) => {
            let problems = match &rejection.error {
                RejectionKind::InvalidTicket { problems } => problems.as_slice(),
                _ => &[],
            };
            reads(&rejection.trace) || problems.iter().any(|p| is_masked(&p.field))
        }
    }
}

/// The value at a dotted path, when present and not `null`.
fn slot<'v>(ticket: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    let node = FieldPath::new(path).get_mut(ticket)?;
    (!node.is_null()).then_some(node)
}
