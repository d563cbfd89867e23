//! Sealing: a decision made into the record that chains to the one before
//! it, with masked fields replaced by salted hashes. Shared by the file log
//! and the store, so that both write the same canonical record lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::AuditError;
use super::mask::{self, Masker};
use super::record::{self, Decided, Draft, SCHEMA};
use triage_engine::{Bundle, Decision, Rejection};

/// The sealed line of one record, with its id and hash.
pub(crate) struct Sealed {
    pub line: Vec<u8>,
    pub id: String,
    pub hash: String,
}

/// The names of a bundle's fields to mask.
type Fields = Arc<[Arc<str>]>;

/// Seals records for one chain: its masking secret and writer. Shared by
/// the threads that record: [`Sealer::prepare`] runs on each caller's
/// thread, and only [`Prepared::seal`] under the chain's lock.
pub(crate) struct Sealer {
    masker: Masker,
    /// The masked fields of each bundle seen, by digest.
    masked: Mutex<HashMap<Arc<str>, Fields>>,
    writer: Option<String>,
    /// The approval each bundle (by digest) is served under, named in its records.
    approvals: Mutex<HashMap<Arc<str>, String>>,
}

impl Sealer {
    pub fn new(salt: Vec<u8>, writer: Option<String>) -> Sealer {
        Sealer {
            masker: Masker::new(salt),
            masked: Mutex::new(HashMap::new()),
            writer,
            approvals: Mutex::new(HashMap::new()),
        }
    }

    /// Names `approval` in every record decided by the bundle with `digest`
    /// from now on.
    pub fn approved(&self, digest: &str, approval: &str) -> Result<(), AuditError> {
        let mut approvals = self.approvals.lock().map_err(|_| AuditError::Poisoned)?;
        approvals.insert(digest.into(), approval.to_owned());
        Ok(())
    }

    /// The sealed record of one decision by `bundle`, numbered `seq` and
    /// chained to `prev`.
    pub fn seal(
        &self,
        bundle: &Bundle,
        ticket: &Value,
        decided: Decided<'_>,
        seq: u64,
        prev: &str,
    ) -> Result<Sealed, AuditError> {
        Ok(self.prepare(bundle, ticket, decided)?.seal(seq, prev))
    }

    /// The record of one decision by `bundle`, masked and encoded, to be
    /// given its place in the chain by [`Prepared::seal`].
    pub fn prepare(
        &self,
        bundle: &Bundle,
        ticket: &Value,
        decided: Decided<'_>,
    ) -> Result<Prepared, AuditError> {
        let policy = bundle.policy();
        let fields = {
            let mut masked = self.masked.lock().map_err(|_| AuditError::Poisoned)?;
            let fields = masked.entry(policy.digest.clone());
            Arc::clone(fields.or_insert_with(|| mask::fields(bundle).into()))
        };
        let approval = {
            let approvals = self.approvals.lock().map_err(|_| AuditError::Poisoned)?;
            approvals.get(&*policy.digest).cloned()
        };
        let (ticket, masked) = self.masker.ticket(ticket, &fields);
        // A decision's JSON that may quote a masked value is read back to
        // be masked as a result is; any other goes into the record as it is.
        let read;
        let (result, json) = match decided {
            Decided::Result(result) => (Some(result), None),
            Decided::Json(json) if mask::quotes_json(json, &masked) => {
                read = read_back(json)?;
                (Some(&read), None)
            }
            Decided::Json(json) => (None, Some(json)),
        };
        let result = result.map(|result| self.masker.result(result, &masked));
        let (decision, rejection) = match result.as_deref() {
            Some(Ok(decision)) => (Some(decision), None),
            Some(Err(rejection)) => (None, Some(rejection)),
            None => (None, None),
        };
        let draft = Draft {
            approval: approval.as_deref(),
            decision,
            masked: &masked,
            policy,
            rejection,
            schema: SCHEMA,
            ticket: &ticket,
            writer: self.writer.as_deref(),
        };
        Ok(Prepared(draft.prepare(json)?))
    }
}

/// A decision's JSON read back, to mask the values it quotes.
fn read_back(json: &[u8]) -> Result<Result<Decision, Rejection>, AuditError> {
    let decision = serde_json::from_slice(json).map_err(|e| AuditError::Encode(e.to_string()))?;
    Ok(Ok(decision))
}

/// A record masked and encoded, waiting for its place in the chain.
pub(crate) struct Prepared(record::Prepared);

impl Prepared {
    /// The record numbered `seq`, chained to `prev`, stamped now.
    pub fn seal(self, seq: u64, prev: &str) -> Sealed {
        let (line, id, hash) = self.0.seal(seq, prev, record::now());
        Sealed { line, id, hash }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Bundle::load(root.join("policies")).unwrap()
    }

    /// The line sealed from a decision's JSON and the one sealed from the
    /// decision itself, at the same place in a chain.
    fn both_ways(sealer: &Sealer, bundle: &Bundle, ticket: &Value) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut json = Vec::new();
        bundle.write_decision(&serde_json::to_vec(ticket).unwrap(), &mut json)?;
        let seal = |decided| {
            let prepared = sealer.prepare(bundle, ticket, decided).unwrap();
            prepared
                .0
                .seal(7, record::GENESIS, "2026-01-02T03:04:05.000006Z".to_owned())
                .0
        };
        let result = bundle.decide(ticket);
        Some((seal(Decided::Json(&json)), seal(Decided::Result(&result))))
    }

    #[test]
    fn a_record_sealed_from_a_decisions_json_is_the_one_sealed_from_the_decision() {
        let bundle = bundle();
        let sealer = Sealer::new(b"salt".to_vec(), Some("w".to_owned()));
        let mut tickets = triage_engine::generate::TicketGenerator::new(&bundle, 11);
        let mut written = 0;
        for _ in 0..200 {
            let ticket = tickets.next_ticket().unwrap();
            if let Some((json, result)) = both_ways(&sealer, &bundle, &ticket) {
                assert_eq!(String::from_utf8(json), String::from_utf8(result));
                written += 1;
            }
        }
        assert!(written > 150, "the short way wrote {written} of 200");
    }

    #[test]
    fn a_decision_naming_a_masked_field_may_quote_it() {
        let masked = ["a.b".to_owned()];
        assert!(mask::quotes_json(br#"{"reads":{"a.b":"x"}}"#, &masked));
        assert!(!mask::quotes_json(
            br#"{"reads":{"a.bc":"x"},"r":"a.b"}"#,
            &masked
        ));
        assert!(!mask::quotes_json(br#"{"reads":{"a.b":"x"}}"#, &[]));
    }
}
