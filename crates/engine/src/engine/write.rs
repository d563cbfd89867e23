//! Record, written: a [`Verdict`] straight to JSON, the bytes serde_json
//! writes for its [`Decision`](crate::Decision) (tested byte for byte),
//! without building the decision, its trace entries or their values first.
//! The bundle's own text comes escaped already (`fragments`).

use crate::engine::fragments::{Fragments, Prepared, string};
use crate::engine::packed::{Step, unpacked};
use crate::engine::verdict::{Trace, Verdict};
use crate::model::decision::StepResult;
use crate::schema::Slot;

impl Verdict<'_> {
    /// Writes the decision's JSON, with the trace this verdict keeps (see
    /// `render`), to `out`.
    pub(crate) fn write_kept(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let json = self.json;
        out.extend_from_slice(b"{\"ticket_id\":");
        string(out, self.text(self.trace.bundle.schema.id_field));
        out.extend_from_slice(b",\"outcome\":");
        out.extend_from_slice(&json.outcomes[self.outcome]);
        let vehicle = self.vehicle_index().map(|v| &json.vehicles[v][..]);
        optional(out, b",\"vehicle\":", vehicle);
        out.extend_from_slice(b",\"rule\":");
        out.extend_from_slice(&json.rule_ids[self.rule]);
        self.write_path(out);
        out.extend_from_slice(b",\"action\":");
        out.extend_from_slice(&json.actions[self.action]);
        self.requester(out);
        out.extend_from_slice(b",\"allowed_roles\":");
        out.extend_from_slice(&json.allowed_roles[self.action]);
        self.rationale_json(out);
        out.extend_from_slice(&json.policy);
        self.write_trace(out, false)?;
        out.push(b'}');
        Ok(())
    }

    /// The member `,"trace":[…]`, each entry's keys in the struct's order
    /// or, with `sorted`, in the order of their bytes.
    pub(super) fn write_trace(&self, out: &mut Vec<u8>, sorted: bool) -> serde_json::Result<()> {
        out.extend_from_slice(b",\"trace\":[");
        for (i, step) in unpacked(self.trace.bundle, self.steps()).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write_step(out, &step, sorted)?;
        }
        out.push(b']');
        Ok(())
    }

    /// The members `,"path":…,"path_step":…`.
    pub(super) fn write_path(&self, out: &mut Vec<u8>) {
        let (json, path) = (self.json, self.path());
        optional(out, b",\"path\":", path.map(|p| &json.path_ids[p][..]));
        let step = path.zip(self.step).map(|(p, s)| &json.step_ids[p][s][..]);
        optional(out, b",\"path_step\":", step);
    }

    fn requester(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b",\"requester\":{\"role\":");
        string(out, self.role());
        out.extend_from_slice(match self.allowed() {
            true => b",\"allowed\":true}",
            false => b",\"allowed\":false}",
        });
    }

    /// The rationales, as [`Verdict::rationale`] lists them.
    pub(super) fn rationale_json(&self, out: &mut Vec<u8>) {
        let json = self.json;
        out.extend_from_slice(b",\"rationale\":[");
        out.extend_from_slice(&json.rule_rationales[self.rule]);
        let then = match (self.path(), self.step) {
            (Some(p), Some(s)) => Some(&json.step_rationales[p][s]),
            (Some(p), None) => json.fallback_rationales[p].as_ref(),
            (None, _) => None,
        };
        if let Some(then) = then {
            out.push(b',');
            out.extend_from_slice(then);
        }
        out.push(b']');
    }

    /// One entry of the trace, its keys in the struct's order or, with
    /// `sorted`, in the order of their bytes (`sorted`).
    fn write_step(&self, out: &mut Vec<u8>, step: &Step, sorted: bool) -> serde_json::Result<()> {
        let (json, bundle) = (self.json, self.trace.bundle);
        let tried = |out: &mut Vec<u8>, prepared, head, reads, at| match sorted {
            true => self.write_tried_sorted(out, (prepared, head), reads, at),
            false => self.write_tried(out, prepared, reads, at),
        };
        match *step {
            Step::Rule { rule, result, part } => {
                let (prepared, head) = (
                    &json.rules[rule as usize],
                    &json.sorted.rules[rule as usize],
                );
                let reads = &bundle.rules[rule as usize].guard.reads;
                tried(out, prepared, head, reads, (result, part));
            }
            Step::Along {
                path,
                step,
                result,
                part,
            } => {
                let (path, step) = (path as usize, step as usize);
                let (prepared, head) = (&json.steps[path][step], &json.sorted.steps[path][step]);
                let reads = &bundle.paths[path].steps[step].guard.reads;
                tried(out, prepared, head, reads, (result, part));
            }
            Step::Fallback { path } => {
                let fallbacks = if sorted {
                    &json.sorted.fallbacks
                } else {
                    &json.fallbacks
                };
                out.extend_from_slice(&fallbacks[path as usize]);
            }
            // Rare, and one entry a run of rules: rendered, then serialised.
            Step::Excluded { .. } => {
                let entry = self.trace.entry(step, self.conditions());
                if sorted {
                    let mut entry = serde_json::to_value(entry)?;
                    entry.sort_all_objects();
                    serde_json::to_writer(&mut *out, &entry)?;
                } else {
                    serde_json::to_writer(&mut *out, &entry)?;
                }
            }
        }
        Ok(())
    }

    /// A rule's or path step's entry: its prepared head, then its result,
    /// the fields it read, those defaulted, its named conditions and the
    /// operand that decided.
    fn write_tried(
        &self,
        out: &mut Vec<u8>,
        prepared: &Prepared,
        reads: &[usize],
        (result, part): (StepResult, Option<u32>),
    ) {
        out.extend_from_slice(&prepared.head);
        out.extend_from_slice(match result {
            StepResult::Matched => b",\"result\":\"matched\",\"reads\":{",
            StepResult::NotMatched => b",\"result\":\"not_matched\",\"reads\":{",
            StepResult::Error => b",\"result\":\"error\",\"reads\":{",
        });
        self.trace.write_reads(out, self.json, reads);
        self.write_conditions(out, prepared, b",");
        if let Some(part) = part.and_then(|p| prepared.parts.get(p as usize)) {
            out.extend_from_slice(part);
        }
        out.push(b'}');
    }

    /// Writes `before` and the member `"conditions":{…}`, the entry's named
    /// conditions that were evaluated, when there is one; whether it wrote.
    pub(super) fn write_conditions(
        &self,
        out: &mut Vec<u8>,
        prepared: &Prepared,
        before: &[u8],
    ) -> bool {
        let named = (prepared.named.iter()).filter_map(|&c| Some((c, self.conditions().get(c)?)));
        let mut written = false;
        for (c, value) in named {
            if written {
                out.push(b',');
            } else {
                out.extend_from_slice(before);
                out.extend_from_slice(b"\"conditions\":{");
                written = true;
            }
            out.extend_from_slice(&self.json.conditions[c]);
            out.extend_from_slice(if value { b":true" } else { b":false" });
        }
        if written {
            out.push(b'}');
        }
        written
    }
}

impl Trace<'_> {
    /// The fields `reads` and their values (closing the object), then those
    /// of them defaulted.
    fn write_reads(&self, out: &mut Vec<u8>, json: &Fragments, reads: &[usize]) {
        self.write_read_values(out, json, reads);
        if self.any_defaulted(reads) {
            out.push(b',');
            self.write_defaulted(out, json, reads);
        }
    }

    /// The fields `reads` and their values, closing the object.
    pub(super) fn write_read_values(&self, out: &mut Vec<u8>, json: &Fragments, reads: &[usize]) {
        for (i, &field) in reads.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&json.fields[field]);
            out.push(b':');
            slot(out, &self.ticket.slots[field], &json.values[field]);
        }
        out.push(b'}');
    }

    /// Whether any of the fields `reads` was defaulted.
    pub(super) fn any_defaulted(&self, reads: &[usize]) -> bool {
        reads.iter().any(|&i| self.ticket.defaulted[i])
    }

    /// The member `"defaulted":[…]` of the fields among `reads` defaulted
    /// (one at least).
    pub(super) fn write_defaulted(&self, out: &mut Vec<u8>, json: &Fragments, reads: &[usize]) {
        out.extend_from_slice(b"\"defaulted\":[");
        let defaulted = reads.iter().filter(|&&i| self.ticket.defaulted[i]);
        for (i, &field) in defaulted.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&json.fields[field]);
        }
        out.push(b']');
    }
}

pub(super) fn optional(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    out.extend_from_slice(key);
    match value {
        Some(value) => out.extend_from_slice(value),
        None => out.extend_from_slice(b"null"),
    }
}

/// A ticket field's value as the ticket sent it; `values`, the field's
/// declared values, quoted.
fn slot(out: &mut Vec<u8>, slot: &Slot<'_>, values: &[Box<[u8]>]) {
    let value = |code: u32| values.get(code as usize).map_or(&b"\"\""[..], |v| v);
    match slot {
        Slot::Null => out.extend_from_slice(b"null"),
        Slot::Bool(true) => out.extend_from_slice(b"true"),
        Slot::Bool(false) => out.extend_from_slice(b"false"),
        Slot::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Slot::Text(s) => string(out, s),
        Slot::Enum(code) => out.extend_from_slice(value(*code)),
        Slot::List(codes) => {
            out.push(b'[');
            for (i, &code) in codes.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(value(code));
            }
            out.push(b']');
        }
    }
}
