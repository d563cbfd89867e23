//! Sealing: a decision made into the record that chains to the one before
//! it, with masked fields replaced by salted hashes. Shared by the file log
//! and the store, so that both write the same canonical record lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::AuditError;
use super::mask::{self, Masker};
use super::record::{self, Draft, SCHEMA};
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
        result: &Result<Decision, Rejection>,
        seq: u64,
        prev: &str,
    ) -> Result<Sealed, AuditError> {
        Ok(self.prepare(bundle, ticket, result)?.seal(seq, prev))
    }

    /// The record of one decision by `bundle`, masked and encoded, to be
    /// given its place in the chain by [`Prepared::seal`].
    pub fn prepare(
        &self,
        bundle: &Bundle,
        ticket: &Value,
        result: &Result<Decision, Rejection>,
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
        let result = self.masker.result(result, &masked);
        let (decision, rejection) = match &*result {
            Ok(decision) => (Some(decision), None),
            Err(rejection) => (None, Some(rejection)),
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
        Ok(Prepared(draft.prepare()?))
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
