//! One line of a decision log: `triage.decision/v1`.
//!
//! ```text
//! {"at":…,"decision":{…}|"rejection":{…},"hash":"sha256:…","id":"d-…",
//!  "masked":["field.path",…],"policy":{"name","version","digest"},
//!  "prev":"sha256:…","schema":"triage.decision/v1","seq":N,"ticket":{…}}
//! ```
//!
//! `seq` counts records from 1 across every segment of a log; `prev` is the
//! previous record's `hash` (the first record's is [`GENESIS`]); `hash` is the
//! SHA-256 of the canonical encoding ([`super::canonical`]) of the record
//! without its `hash` key. Each line is the canonical encoding of the whole
//! record and a line feed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canonical;
use triage_engine::{Decision, PolicyRef, Rejection};

pub const SCHEMA: &str = "triage.decision/v1";

/// What a record says the bundle made of its ticket: the result as
/// `Bundle::decide` returned it, or a decision's JSON, which the record
/// takes without reading it back (unless it may quote a masked value).
#[derive(Clone, Copy, Debug)]
pub enum Decided<'a> {
    /// The decision or the rejection.
    Result(&'a Result<Decision, Rejection>),
    /// A decision's JSON as `Verdict::write_json` writes it (the bytes
    /// serde_json writes for the `Decision`), sorted for the record.
    Json(&'a [u8]),
    /// A decision's JSON with the keys of every object sorted, as
    /// `Verdict::write_sorted_json` writes it: the record's `decision`
    /// member as it is, without sorting it again.
    Sorted(&'a [u8]),
}

/// The ticket a record is of: as a `Value`, or as its canonical encoding
/// (which [`canonical::sorted_strict`] makes of a client's JSON), which
/// the record takes without building a `Value`.
#[derive(Clone, Copy, Debug)]
pub enum Ticket<'a> {
    /// The ticket read.
    Value(&'a Value),
    /// The ticket in the canonical encoding.
    Canonical(&'a [u8]),
}

/// What the first record of a log chains from.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub schema: String,
    pub seq: u64,
    /// The decision id: unique within a log, derived from the chain position.
    pub id: String,
    /// When the record was written (UTC, RFC 3339): never an input to the decision.
    pub at: String,
    pub policy: PolicyRef,
    /// The id of the approval the bundle was served under, if it needed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// The ticket as decided, with masked fields replaced by salted hashes;
    /// `null` when the input was not a JSON or YAML document.
    pub ticket: Value,
    /// The ticket fields that were masked.
    pub masked: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    pub prev: String,
    pub hash: String,
    /// The writer whose chain the record belongs to, in a store shared by
    /// several writers (`None` in a file log, which is one chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
}

impl Record {
    /// The decision or the rejection, as `Bundle::decide` returned it.
    pub fn result(&self) -> Option<Result<&Decision, &Rejection>> {
        match (&self.decision, &self.rejection) {
            (Some(decision), _) => Some(Ok(decision)),
            (None, Some(rejection)) => Some(Err(rejection)),
            (None, None) => None,
        }
    }

    /// The ticket id the decision names, if any.
    pub fn ticket_id(&self) -> Option<&str> {
        match self.result()? {
            Ok(decision) => Some(&decision.ticket_id),
            Err(rejection) => rejection.ticket_id.as_deref(),
        }
    }

    /// Each member of the record, encoded through a `Value`.
    #[cfg(test)]
    fn members(&self) -> Result<Vec<(String, Vec<u8>)>, super::AuditError> {
        let value = serde_json::to_value(self).map_err(encoding)?;
        let Value::Object(map) = value else {
            return Err(super::AuditError::Encode(
                "a record is an object".to_owned(),
            ));
        };
        let member = |(key, value): (&String, &Value)| (key.clone(), canonical::member(key, value));
        Ok(map.iter().map(member).collect())
    }
}

pub(crate) fn encoding(e: serde_json::Error) -> super::AuditError {
    super::AuditError::Encode(e.to_string())
}

/// A record but for its place in a chain (no `seq`, `prev`, `at`, `id` or
/// `hash`), its parts borrowed: what [`Draft::prepare`] encodes before the
/// chain is locked. It serialises as [`Record`] does, less those members;
/// its fields are in key order, so that serde_json writes its members
/// sorted already.
#[derive(Serialize)]
pub(crate) struct Draft<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<&'a Decision>,
    pub masked: &'a [String],
    pub policy: &'a PolicyRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<&'a Rejection>,
    pub schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer: Option<&'a str>,
}

impl Draft<'_> {
    /// The record encoded but for its place in the chain: the slow part of
    /// sealing, done before the chain is locked, by [`Prepared::seal`].
    /// `decision` and `ticket`, members (`"key":value`) made apart, are
    /// its decision and ticket when the draft has none.
    pub(crate) fn prepare(
        &self,
        decision: Option<Vec<u8>>,
        ticket: Option<Vec<u8>>,
    ) -> Result<Prepared, super::AuditError> {
        // serde_json's own text, sorted, is the canonical encoding: no
        // `Value` of the whole record is built, unless the text has what
        // the sort refuses (a key twice), which goes through a `Value`.
        let text = serde_json::to_vec(self).map_err(encoding)?;
        let sorted = match canonical::sorted_object(&text) {
            Some(sorted) => sorted,
            None => {
                let value = serde_json::to_value(self).map_err(encoding)?;
                let text = canonical::encode(&value);
                canonical::sorted_object(&text)
                    .ok_or_else(|| super::AuditError::Encode("a record is an object".to_owned()))?
            }
        };
        let (text, members) = sorted;
        let extra = [("decision", decision), ("ticket", ticket)]
            .into_iter()
            .filter_map(|(key, member)| Some((key, member?)))
            .collect();
        Ok(Prepared {
            text,
            members,
            extra,
            writer: self.writer.map(Arc::from),
        })
    }
}

/// The members of a record that its place in the chain sets.
#[cfg(test)]
const CHAINED: [&str; 4] = ["at", "id", "prev", "seq"];

/// A record encoded but for its place in a chain: its canonical text, and
/// where each member (`"key":value`) lies in it, in the canonical order.
pub(crate) struct Prepared {
    text: Vec<u8>,
    /// The key's text and the whole member, of each member of `text`.
    members: canonical::Spans,
    /// The members made apart from `text`, as their key and `"key":value`.
    extra: Vec<(&'static str, Vec<u8>)>,
    writer: Option<Arc<str>>,
}

impl Prepared {
    /// The record numbered `seq`, chained to `prev` and stamped `at`: its
    /// line (with its line feed), id and hash. The hash covers the members
    /// but `hash`; the line has the hash's member put among them.
    pub(crate) fn seal(self, seq: u64, prev: &str, at: String) -> (Vec<u8>, String, String) {
        let seq_text = seq.to_string();
        let id = id_of(self.writer.as_deref(), prev, &seq_text, &at);
        let chained = [
            string_member("at", &at),
            string_member("id", &id),
            string_member("prev", prev),
            [&b"\"seq\":"[..], seq_text.as_bytes()].concat(),
        ];
        // Sized for every member, the chained ones and `hash` among them.
        let mut parts: Vec<(&[u8], &[u8])> =
            Vec::with_capacity(self.members.len() + chained.len() + self.extra.len() + 1);
        parts.extend(
            (self.members.iter())
                .map(|(key, member)| (&self.text[key.clone()], &self.text[member.clone()])),
        );
        for (key, member) in ["at", "id", "prev", "seq"].iter().zip(&chained) {
            parts.push((key.as_bytes(), member));
        }
        for (key, member) in &self.extra {
            parts.push((key.as_bytes(), member));
        }
        // Every key is plain (no escapes): their bytes give the order.
        parts.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut members: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
        members.extend(parts.iter().map(|(_, member)| *member));
        let hash = canonical::object_sha256(&members);
        let member = string_member("hash", &hash);
        let split = parts.iter().filter(|(key, _)| *key < &b"hash"[..]).count();
        members.insert(split, &member);
        let mut line = canonical::object(&members);
        line.push(b'\n');
        (line, id, hash)
    }
}

/// The `decision` member of a decision's JSON: sorted as it is, or, for
/// what the sort refuses (a key twice), through a `Value`, as a
/// `Decision` serialised twice would have gone.
pub(crate) fn decision_member(json: &[u8]) -> Result<Vec<u8>, super::AuditError> {
    if let Some(member) = canonical::sorted_member("decision", json) {
        return Ok(member);
    }
    let value: Value = serde_json::from_slice(json).map_err(encoding)?;
    Ok(canonical::member("decision", &value))
}

/// A record's id: `d-` and the first 20 hex digits of the SHA-256 of its
/// position, `writer/prev/seq/at` (`prev/seq/at` in a file log). Two
/// writers' chains start from the same genesis value: the writer keeps
/// their ids apart. Hashed piece by piece, the position is never built.
fn id_of(writer: Option<&str>, prev: &str, seq: &str, at: &str) -> String {
    let mut hasher = Sha256::new();
    if let Some(writer) = writer {
        hasher.update(writer);
        hasher.update("/");
    }
    hasher.update(prev);
    hasher.update("/");
    hasher.update(seq);
    hasher.update("/");
    hasher.update(at);
    canonical::tagged("d-", &hasher.finalize()[..10])
}

/// The `decision` member of a decision's JSON sorted already.
pub(crate) fn sorted_decision_member(sorted: &[u8]) -> Vec<u8> {
    [&b"\"decision\":"[..], sorted].concat()
}

/// The member `"key":"value"`, in the canonical encoding.
fn string_member(key: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + value.len() + 8);
    // A string serialises as a JSON string, escaped as a value is.
    let _ = serde_json::to_writer(&mut out, key);
    out.push(b':');
    let _ = serde_json::to_writer(&mut out, value);
    out
}

/// The time now as the records and checkpoints write it: RFC 3339, UTC, to
/// the microsecond.
pub(crate) fn now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The hash a record should carry: over the record without its `hash` key
/// (which is taken out of `value`).
pub fn hash_of(value: &mut Value) -> String {
    if let Value::Object(map) = value {
        map.remove("hash");
    }
    canonical::sha256(&canonical::encode(value))
}

/// Whether a parsed line is a record of this format carrying the hash of its
/// own contents (a line of another `schema` is not intact); also returns the
/// stored hash, `seq` and `prev` when the line has them.
pub fn check(mut value: Value) -> Checked {
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let stored = field(&value, "hash");
    let prev = field(&value, "prev");
    let seq = value.get("seq").and_then(Value::as_u64);
    let writer = field(&value, "writer");
    let schema_ok = value.get("schema").and_then(Value::as_str) == Some(SCHEMA);
    let actual = hash_of(&mut value);
    Checked {
        intact: schema_ok && stored.as_deref() == Some(actual.as_str()),
        hash: stored.unwrap_or_default(),
        prev: prev.unwrap_or_default(),
        seq,
        writer,
    }
}

pub struct Checked {
    pub intact: bool,
    pub hash: String,
    pub prev: String,
    pub seq: Option<u64>,
    /// The writer whose chain the record claims to belong to.
    pub writer: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The id hashed piece by piece is the one of the position written
    /// out, as every log so far has it.
    #[test]
    fn an_id_is_the_hash_of_its_position_written_out() {
        let (prev, at) = (GENESIS, "2026-01-02T03:04:05.000006Z");
        for writer in [None, Some("replica-1")] {
            let position = match writer {
                None => format!("{prev}/42/{at}"),
                Some(writer) => format!("{writer}/{prev}/42/{at}"),
            };
            let written_out = format!("d-{}", &canonical::sha256(position.as_bytes())[7..27]);
            assert_eq!(id_of(writer, prev, "42", at), written_out);
        }
        assert_ne!(
            id_of(None, prev, "42", at),
            id_of(Some("w"), prev, "42", at)
        );
    }

    fn bundle() -> triage_engine::Bundle {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        triage_engine::Bundle::load(root.join("policies")).unwrap()
    }

    fn record(bundle: &triage_engine::Bundle, ticket: Value) -> Record {
        let (decision, rejection) = match bundle.decide(&ticket) {
            Ok(decision) => (Some(decision), None),
            Err(rejection) => (None, Some(rejection)),
        };
        Record {
            schema: SCHEMA.to_owned(),
            seq: 0,
            id: String::new(),
            at: String::new(),
            policy: bundle.policy().clone(),
            approval: Some("a-\u{1}\"é".to_owned()),
            ticket,
            masked: bundle
                .masked_fields()
                .iter()
                .map(|f| f.to_string())
                .collect(),
            decision,
            rejection,
            prev: String::new(),
            hash: String::new(),
            writer: Some("w\\1".to_owned()),
        }
    }

    fn draft(record: &Record) -> Draft<'_> {
        Draft {
            approval: record.approval.as_deref(),
            decision: record.decision.as_ref(),
            masked: &record.masked,
            policy: &record.policy,
            rejection: record.rejection.as_ref(),
            schema: SCHEMA,
            ticket: Some(&record.ticket),
            writer: record.writer.as_deref(),
        }
    }

    #[test]
    fn a_decisions_json_with_a_key_twice_goes_through_a_value() {
        let json = br#"{"b":[1,{"y":1,"x":2}],"a":{"x":1,"x":2}}"#;
        let member = decision_member(json).unwrap();
        assert_eq!(member, br#""decision":{"a":{"x":2},"b":[1,{"x":2,"y":1}]}"#);
        assert!(decision_member(b"{").is_err());
    }

    #[test]
    fn a_record_prepared_from_its_text_is_the_one_prepared_through_a_value() {
        let bundle = bundle();
        let mut tickets = triage_engine::generate::TicketGenerator::new(&bundle, 7);
        let decided = tickets.next_ticket().unwrap();
        let refused = serde_json::json!({"z": [1.5, null], "a": {"\u{1}": "\\"}});
        for (ticket, result) in [(decided, "decision"), (refused, "rejection")] {
            let record = record(&bundle, ticket);
            let long: BTreeMap<String, Vec<u8>> = (record.members().unwrap().into_iter())
                .filter(|(key, _)| !CHAINED.contains(&key.as_str()) && key != "hash")
                .collect();
            let parts: Vec<&[u8]> = long.values().map(Vec::as_slice).collect();
            let prepared = draft(&record).prepare(None, None).unwrap();
            assert_eq!(prepared.text, canonical::object(&parts), "{result}");
            let members = prepared
                .members
                .iter()
                .map(|(_, m)| &prepared.text[m.clone()]);
            assert!(members.eq(parts.iter().copied()), "{result}");
            let (line, id, hash) = prepared.seal(3, GENESIS, "2026-01-02T03:04:05.000006Z".into());
            let value: Value = serde_json::from_slice(&line).unwrap();
            assert_eq!(
                canonical::encode(&value),
                line[..line.len() - 1],
                "{result}"
            );
            assert_eq!(value["id"], id.as_str());
            let checked = check(value);
            assert!(checked.intact, "{result}");
            assert_eq!((checked.hash, checked.seq), (hash, Some(3)));
            assert_eq!(
                record.result().map(|r| r.is_ok()),
                Some(result == "decision")
            );
            let keys: Vec<&str> = long.keys().map(String::as_str).collect();
            let mut expected = [
                "approval", result, "masked", "policy", "schema", "ticket", "writer",
            ];
            expected.sort_unstable();
            assert_eq!(keys, expected);
        }
    }
}
