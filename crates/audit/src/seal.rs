//! Sealing: a decision made into the record that chains to the one before
//! it, with masked fields replaced by salted hashes. Shared by the file log
//! and the store, so that both write the same canonical record lines.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::AuditError;
use super::mask::{self, Masker};
use super::record::{self, Record, SCHEMA};
use triage_engine::{Bundle, Decision, Rejection};

/// The sealed line of one record, with its id and hash.
pub(crate) struct Sealed {
    pub line: Vec<u8>,
    pub id: String,
    pub hash: String,
}

/// Seals records for one chain: its masking secret and writer.
pub(crate) struct Sealer {
    masker: Masker,
    /// The masked fields of each bundle seen, by digest.
    masked: HashMap<Arc<str>, Vec<Arc<str>>>,
    writer: Option<String>,
    /// The approval each bundle (by digest) is served under, named in its records.
    approvals: HashMap<Arc<str>, String>,
}

impl Sealer {
    pub fn new(salt: Vec<u8>, writer: Option<String>) -> Sealer {
        Sealer {
            masker: Masker::new(salt),
            masked: HashMap::new(),
            writer,
            approvals: HashMap::new(),
        }
    }

    /// Names `approval` in every record decided by the bundle with `digest`
    /// from now on.
    pub fn approved(&mut self, digest: &str, approval: &str) {
        self.approvals.insert(digest.into(), approval.to_owned());
    }

    /// The sealed record of one decision by `bundle`, numbered `seq` and
    /// chained to `prev`.
    pub fn seal(
        &mut self,
        bundle: &Bundle,
        ticket: &Value,
        result: &Result<Decision, Rejection>,
        seq: u64,
        prev: String,
    ) -> Result<Sealed, AuditError> {
        let policy = bundle.policy();
        let fields = self
            .masked
            .entry(policy.digest.clone())
            .or_insert_with(|| mask::fields(bundle));
        let (ticket, masked) = self.masker.ticket(ticket, fields);
        let result = self.masker.result(result, &masked);
        let (decision, rejection) = match result {
            Ok(decision) => (Some(decision), None),
            Err(rejection) => (None, Some(rejection)),
        };
        let mut record = Record {
            schema: SCHEMA.to_owned(),
            seq,
            id: String::new(),
            at: record::now(),
            policy: policy.clone(),
            approval: self.approvals.get(&*policy.digest).cloned(),
            ticket,
            masked,
            decision,
            rejection,
            prev,
            hash: String::new(),
            writer: self.writer.clone(),
        };
        let line = record.seal()?;
        Ok(Sealed {
            line,
            id: record.id,
            hash: record.hash,
        })
    }
}
