//! Sealing: a decision made into the record that chains to the one before
//! it, with masked fields replaced by salted hashes. Shared by the file log
//! and the store, so that both write the same canonical record lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::AuditError;
use super::canonical;
use super::mask::{self, Masker};
use super::record::{self, Record, SCHEMA};
use triage_engine::{Bundle, Decision, Rejection};

/// One record to append: the bundle that decided, the ticket, the result,
/// and, when the caller has it, the decision's JSON as serde_json writes
/// it (`Verdict::write_json`), so that it is not written again.
pub type Entry<'a> = (
    &'a Bundle,
    &'a Value,
    &'a Result<Decision, Rejection>,
    Option<&'a [u8]>,
);

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

    /// The sealed record of `entry`, numbered `seq` and chained to `prev`.
    pub fn seal(&self, entry: Entry<'_>, seq: u64, prev: &str) -> Result<Sealed, AuditError> {
        Ok(self.prepare(entry)?.seal(seq, prev))
    }

    /// The record of `entry`, masked and encoded, to be given its place in
    /// the chain by [`Prepared::seal`].
    pub fn prepare(&self, entry: Entry<'_>) -> Result<Prepared, AuditError> {
        let (bundle, ticket, result, json) = entry;
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
        // The decision's JSON as the caller wrote it stands for the
        // decision, where masking leaves the decision as it is.
        let written = match (json, result) {
            (Some(json), Ok(decision)) if !mask::touches(decision, &masked) => {
                canonical::sorted(json)
            }
            _ => None,
        };
        let (decision, rejection) = match (&written, result) {
            (Some(_), _) => (None, None),
            (None, result) => match self.masker.result(result, &masked) {
                Ok(decision) => (Some(decision), None),
                Err(rejection) => (None, Some(rejection)),
            },
        };
        let record = Record {
            schema: SCHEMA.to_owned(),
            seq: 0,
            id: String::new(),
            at: String::new(),
            policy: policy.clone(),
            approval,
            ticket,
            masked,
            decision,
            rejection,
            prev: String::new(),
            hash: String::new(),
            writer: self.writer.clone(),
        };
        let prepared = match written {
            Some(decision) => record.prepare_with(Some(("decision", &decision)))?,
            None => record.prepare()?,
        };
        Ok(Prepared(prepared))
    }
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
    use crate::record::GENESIS;

    fn bundle() -> Bundle {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Bundle::load(root.join("policies")).unwrap()
    }

    /// The line `sealer` makes of a decision of `ticket`, given `json` or not.
    fn line(sealer: &Sealer, bundle: &Bundle, ticket: &Value, json: Option<&[u8]>) -> Vec<u8> {
        let result = bundle.decide(ticket);
        let prepared = sealer.prepare((bundle, ticket, &result, json)).unwrap();
        prepared.0.seal(1, GENESIS, "at".to_owned()).0
    }

    #[test]
    fn a_decision_written_straight_is_recorded_as_the_decision_itself() {
        let bundle = bundle();
        let sealer = Sealer::new(b"salt".to_vec(), Some("w".to_owned()));
        let mut generator = triage_engine::generate::TicketGenerator::new(&bundle, 3);
        let mut straight = 0;
        for _ in 0..200 {
            let ticket = generator.next_ticket().unwrap();
            let mut json = Vec::new();
            let bytes = serde_json::to_vec(&ticket).unwrap();
            if bundle.write_decision(&bytes, &mut json).is_none() {
                continue;
            }
            let decision: Decision = serde_json::from_slice(&json).unwrap();
            let masked = mask::fields(&bundle)
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>();
            let sorted = canonical::sorted(&json).is_some();
            straight += usize::from(sorted && !mask::touches(&decision, &masked));
            let long = line(&sealer, &bundle, &ticket, None);
            assert_eq!(line(&sealer, &bundle, &ticket, Some(&json)), long);
        }
        assert!(straight > 150, "only {straight} decisions went straight");
    }

    #[test]
    fn a_decision_that_read_a_masked_field_is_masked_whatever_json_came_with_it() {
        let bundle = bundle();
        let mut generator = triage_engine::generate::TicketGenerator::new(&bundle, 5);
        let ticket = generator.next_ticket().unwrap();
        let decision = bundle.decide(&ticket).unwrap();
        let path = (decision.trace.iter())
            .find_map(|s| s.reads.0.iter().find(|(_, v)| !v.is_null()))
            .map(|(path, _)| path.to_string())
            .unwrap();
        assert!(mask::touches(&decision, std::slice::from_ref(&path)));
        assert!(!mask::touches(&decision, &[]));
        let json = serde_json::to_vec(&decision).unwrap();
        // A sealer that masks the field the decision read.
        let sealer = Sealer::new(b"salt".to_vec(), None);
        let fields: Fields = vec![Arc::from(path.as_str())].into();
        (sealer.masked.lock().unwrap()).insert(bundle.policy().digest.clone(), fields);
        let long = line(&sealer, &bundle, &ticket, None);
        assert_eq!(line(&sealer, &bundle, &ticket, Some(&json)), long);
        let record: Value = serde_json::from_slice(&long).unwrap();
        let reads = (record["decision"]["trace"].as_array().unwrap().iter())
            .filter_map(|step| step["reads"].get(&path))
            .collect::<Vec<_>>();
        assert!(!reads.is_empty());
        assert!(
            reads
                .iter()
                .all(|v| v.as_str().unwrap().starts_with("masked:"))
        );
    }
}
