//! Record, written sorted: a verdict's decision JSON with the keys of every
//! object in the order of their bytes, which is how a record's canonical
//! encoding holds a decision. A recorder given these bytes need not sort
//! what `write` writes in the struct's order. The same bytes as the
//! decision serialised through a `Value` with its objects sorted (tested).

use crate::engine::fragments::{Prepared, string};
use crate::engine::verdict::Verdict;
use crate::engine::write::optional;
use crate::model::decision::StepResult;

impl Verdict<'_> {
    /// Writes the decision's JSON, keys sorted, with the trace this verdict
    /// keeps (see `render`), to `out`.
    pub(crate) fn write_kept_sorted(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let json = self.json;
        out.extend_from_slice(b"{\"action\":");
        out.extend_from_slice(&json.actions[self.action]);
        out.extend_from_slice(b",\"allowed_roles\":");
        out.extend_from_slice(&json.allowed_roles[self.action]);
        out.extend_from_slice(b",\"outcome\":");
        out.extend_from_slice(&json.outcomes[self.outcome]);
        self.write_path(out);
        out.push(b',');
        out.extend_from_slice(&json.sorted.policy);
        self.rationale_json(out);
        out.extend_from_slice(match self.allowed() {
            true => b",\"requester\":{\"allowed\":true,\"role\":",
            false => b",\"requester\":{\"allowed\":false,\"role\":",
        });
        string(out, self.role());
        out.extend_from_slice(b"},\"rule\":");
        out.extend_from_slice(&json.rule_ids[self.rule]);
        out.extend_from_slice(b",\"ticket_id\":");
        string(out, self.text(self.trace.bundle.schema.id_field));
        self.write_trace(out, true)?;
        let vehicle = self.vehicle_index().map(|v| &json.vehicles[v][..]);
        optional(out, b",\"vehicle\":", vehicle);
        out.push(b'}');
        Ok(())
    }

    /// A rule's or path step's entry, keys sorted: its named conditions,
    /// the operand that decided, the fields defaulted, its prepared
    /// `"id"`, `"kind"` (and `"path"`), the fields it read and its result.
    pub(super) fn write_tried_sorted(
        &self,
        out: &mut Vec<u8>,
        (prepared, head): (&Prepared, &[u8]),
        reads: &[usize],
        (result, part): (StepResult, Option<u32>),
    ) {
        out.push(b'{');
        if self.write_conditions(out, prepared, b"") {
            out.push(b',');
        }
        // A prepared operand is `,"decided_by":…`.
        if let Some(part) = part.and_then(|p| prepared.parts.get(p as usize)) {
            out.extend_from_slice(&part[1..]);
            out.push(b',');
        }
        if self.trace.any_defaulted(reads) {
            self.trace.write_defaulted(out, self.json, reads);
            out.push(b',');
        }
        out.extend_from_slice(head);
        out.extend_from_slice(b",\"reads\":{");
        self.trace.write_read_values(out, self.json, reads);
        out.extend_from_slice(match result {
            StepResult::Matched => b",\"result\":\"matched\"}",
            StepResult::NotMatched => b",\"result\":\"not_matched\"}",
            StepResult::Error => b",\"result\":\"error\"}",
        });
    }
}
