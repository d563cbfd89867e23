//! Sealing: a decision made into the record that chains to the one before
//! it, with masked fields replaced by salted hashes. Shared by the file log
//! and the store, so that both write the same canonical record lines.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::AuditError;
use super::mask::{self, Masker};
use super::record::{self, Decided, Draft, SCHEMA, Ticket};
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
    /// The masked fields of each bundle seen, by digest. A record looks its
    /// bundle up here: among the few bundles a process serves, comparing
    /// digests costs less than hashing one.
    masked: Mutex<BTreeMap<Arc<str>, Fields>>,
    writer: Option<String>,
    /// The approval each bundle (by digest) is served under, named in its records.
    approvals: Mutex<BTreeMap<Arc<str>, String>>,
}

impl Sealer {
    pub fn new(salt: Vec<u8>, writer: Option<String>) -> Sealer {
        Sealer {
            masker: Masker::new(salt),
            masked: Mutex::new(BTreeMap::new()),
            writer,
            approvals: Mutex::new(BTreeMap::new()),
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
        ticket: Ticket<'_>,
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
        ticket: Ticket<'_>,
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
        let parsed;
        let (ticket, member, masked) = match ticket {
            Ticket::Canonical(text) => match self.ticket_member(text, &fields) {
                Some((member, masked)) => (None, Some(member), masked),
                None => {
                    parsed = serde_json::from_slice(text).map_err(record::encoding)?;
                    self.ticket_value(&parsed, &fields)
                }
            },
            Ticket::Value(value) => self.ticket_value(value, &fields),
        };
        // A decision's JSON that may quote a masked value is read back to
        // be masked as a result is; any other goes into the record as it is.
        let read;
        let (result, json) = match decided {
            Decided::Result(result) => (Some(result), None),
            Decided::Json(json) | Decided::Sorted(json) if mask::quotes_json(json, &masked) => {
                read = read_back(json)?;
                (Some(&read), None)
            }
            Decided::Json(json) => (None, Some(record::decision_member(json)?)),
            Decided::Sorted(json) => (None, Some(record::sorted_decision_member(json))),
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
            ticket: ticket.as_deref(),
            writer: self.writer.as_deref(),
        };
        Ok(Prepared(draft.prepare(json, member)?))
    }

    /// A ticket given as a `Value`, masked (a copy, when it has a field to
    /// mask), and the paths masked.
    fn ticket_value<'t>(
        &self,
        ticket: &'t Value,
        fields: &[Arc<str>],
    ) -> (Option<Cow<'t, Value>>, Option<Vec<u8>>, Vec<String>) {
        let (ticket, masked) = self.masker.ticket(ticket, fields);
        (Some(ticket), None, masked)
    }

    /// The `ticket` member of a ticket in the canonical encoding, masked,
    /// and the paths masked; `None` where the masking needs a `Value`.
    fn ticket_member(&self, text: &[u8], fields: &[Arc<str>]) -> Option<(Vec<u8>, Vec<String>)> {
        let mut member = Vec::with_capacity(text.len() + 128);
        member.extend_from_slice(b"\"ticket\":");
        let masked = self.masker.ticket_text(text, fields, &mut member)?;
        Some((member, masked))
    }
}

/// A decision's JSON read back, to mask the values it quotes.
fn read_back(json: &[u8]) -> Result<Result<Decision, Rejection>, AuditError> {
    let decision = serde_json::from_slice(json).map_err(record::encoding)?;
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

    /// The lines sealed, at the same place in a chain, from the decision
    /// and the ticket read, from the decision's JSON and the ticket read,
    /// and from the decision's JSON, then its sorted JSON, and the
    /// ticket's sorted text.
    fn four_ways(sealer: &Sealer, bundle: &Bundle, ticket: &Value) -> Option<[String; 4]> {
        let text = serde_json::to_vec(ticket).unwrap();
        let (mut json, mut sorted_json) = (Vec::new(), Vec::new());
        bundle.write_decision_sorted(&text, &mut json, &mut sorted_json)?;
        let sorted = crate::canonical::sorted_strict(&text).unwrap();
        let seal = |ticket, decided| {
            let prepared = sealer.prepare(bundle, ticket, decided).unwrap();
            let at = "2026-01-02T03:04:05.000006Z".to_owned();
            String::from_utf8(prepared.0.seal(7, record::GENESIS, at).0).unwrap()
        };
        let result = bundle.decide(ticket);
        Some([
            seal(Ticket::Value(ticket), Decided::Result(&result)),
            seal(Ticket::Value(ticket), Decided::Json(&json)),
            seal(Ticket::Canonical(&sorted), Decided::Json(&json)),
            seal(Ticket::Canonical(&sorted), Decided::Sorted(&sorted_json)),
        ])
    }

    #[test]
    fn a_record_sealed_from_json_is_the_one_sealed_from_the_decision_and_ticket_read() {
        let bundle = bundle();
        let sealer = Sealer::new(b"salt".to_vec(), Some("w".to_owned()));
        let mut tickets = triage_engine::generate::TicketGenerator::new(&bundle, 11);
        let (mut written, mut masked) = (0, 0);
        for _ in 0..200 {
            let ticket = tickets.next_ticket().unwrap();
            if let Some([result, json, text, sorted]) = four_ways(&sealer, &bundle, &ticket) {
                assert_eq!(json, result);
                assert_eq!(text, result);
                assert_eq!(sorted, result);
                masked += usize::from(result.contains("\"masked:sha256:"));
                written += 1;
            }
        }
        assert!(written > 150, "the short way wrote {written} of 200");
        assert!(masked > 100, "{masked} of {written} records masked a field");
    }

    #[test]
    fn masked_values_that_nest_are_masked_through_a_value() {
        let sealer = Sealer::new(b"salt".to_vec(), None);
        let ticket = serde_json::json!({"a": {"b": "x", "c": 1}, "d": null});
        let fields: Vec<Arc<str>> = vec!["a.b".into(), "a".into(), "d".into(), "e.f".into()];
        let text = crate::canonical::encode(&ticket);
        let mut out = Vec::new();
        assert_eq!(sealer.masker.ticket_text(&text, &fields, &mut out), None);
        assert!(out.is_empty());
        // One field at a time, the text is masked as the `Value` is.
        for field in &fields {
            let fields = [Arc::clone(field)];
            let (value, paths) = sealer.masker.ticket(&ticket, &fields);
            let mut out = Vec::new();
            let masked = sealer.masker.ticket_text(&text, &fields, &mut out);
            assert_eq!(masked, Some(paths));
            assert_eq!(out, crate::canonical::encode(&value));
        }
    }

    #[test]
    fn masked_values_apart_are_masked_in_the_text_as_in_a_value() {
        let sealer = Sealer::new(b"salt".to_vec(), None);
        let ticket = serde_json::json!({"a": {"b": "x", "c": 1}, "d": null, "g": [true]});
        let text = crate::canonical::encode(&ticket);
        // Named out of the order they lie in, with a null and an absent one.
        let fields: Vec<Arc<str>> = vec![
            "g".into(),
            "a.c".into(),
            "d".into(),
            "a.b".into(),
            "e.f".into(),
        ];
        let (value, paths) = sealer.masker.ticket(&ticket, &fields);
        assert_eq!(paths, ["g", "a.c", "a.b"]);
        let mut out = b"before".to_vec();
        let masked = sealer.masker.ticket_text(&text, &fields, &mut out);
        assert_eq!(masked, Some(paths));
        assert_eq!(&out[..6], b"before");
        assert_eq!(out[6..], crate::canonical::encode(&value));
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
