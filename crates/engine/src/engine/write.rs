//! Record, written: a [`Verdict`] straight to JSON, the bytes serde_json
//! writes for its [`Decision`](crate::Decision) (tested byte for byte),
//! without building the decision, its trace entries or their values first.

use crate::engine::verdict::{Step, Trace, Tried, Verdict, decided_by};
use crate::model::Guard;
use crate::model::decision::PolicyRef;
use crate::model::decision::StepResult;
use crate::schema::{Kind, Slot, name};

impl Verdict<'_> {
    /// Writes the decision's JSON to `out`: the same bytes as
    /// `serde_json::to_writer(out, &self.decision())`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let bundle = self.trace.bundle;
        let rule = &bundle.rules[self.rule];
        let path = rule.path.map(|p| &bundle.paths[p]);
        let action = &bundle.actions[self.action];
        let role = self.role();
        field(out, b"{\"ticket_id\":", self.text(bundle.schema.id_field));
        field(out, b",\"outcome\":", self.outcome());
        optional(out, b",\"vehicle\":", self.vehicle().map(|v| &**v));
        field(out, b",\"rule\":", &rule.id);
        optional(out, b",\"path\":", path.map(|p| &*p.id));
        let step = path.zip(self.step).map(|(p, s)| &*p.steps[s].id);
        optional(out, b",\"path_step\":", step);
        field(out, b",\"action\":", &action.id);
        field(out, b",\"requester\":{\"role\":", role);
        let allowed = action.roles.iter().any(|r| **r == *role);
        out.extend_from_slice(match allowed {
            true => b",\"allowed\":true}",
            false => b",\"allowed\":false}",
        });
        out.extend_from_slice(b",\"allowed_roles\":");
        strings(out, action.roles.iter().map(|r| &**r));
        out.extend_from_slice(b",\"rationale\":");
        strings(out, self.rationale().map(|r| &**r));
        policy(out, &bundle.policy);
        out.extend_from_slice(b",\"trace\":[");
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.trace.write(out, step, &self.conditions)?;
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }
}

fn policy(out: &mut Vec<u8>, policy: &PolicyRef) {
    field(out, b",\"policy\":{\"name\":", &policy.name);
    field(out, b",\"version\":", &policy.version);
    field(out, b",\"digest\":", &policy.digest);
    out.push(b'}');
}

impl Trace<'_> {
    fn write(
        &self,
        out: &mut Vec<u8>,
        step: &Step,
        conditions: &[Option<bool>],
    ) -> serde_json::Result<()> {
        let bundle = self.bundle;
        match *step {
            Step::Rule { rule, result, part } => {
                let rule = &bundle.rules[rule as usize];
                field(out, b"{\"kind\":\"rule\",\"id\":", &rule.id);
                self.write_tried(out, &rule.guard, Tried { result, part }, conditions);
            }
            Step::Along {
                path,
                step,
                result,
                part,
            } => {
                let path = &bundle.paths[path as usize];
                let step = &path.steps[step as usize];
                field(out, b"{\"kind\":\"path_step\",\"id\":", &step.id);
                field(out, b",\"path\":", &path.id);
                self.write_tried(out, &step.guard, Tried { result, part }, conditions);
            }
            Step::Fallback { path } => {
                let path = &bundle.paths[path as usize].id;
                field(
                    out,
                    b"{\"kind\":\"fallback\",\"id\":\"fallback\",\"path\":",
                    path,
                );
                out.extend_from_slice(b",\"result\":\"matched\",\"reads\":{}}");
            }
            // Rare, and one entry a run of rules: rendered, then serialised.
            Step::Excluded { .. } => {
                let entry = self.render(std::slice::from_ref(step), conditions);
                serde_json::to_writer(&mut *out, &entry[0])?;
            }
        }
        Ok(())
    }

    /// A rule's or path step's entry from its result on.
    fn write_tried(
        &self,
        out: &mut Vec<u8>,
        guard: &Guard,
        tried: Tried,
        conditions: &[Option<bool>],
    ) {
        let (schema, ticket) = (&self.bundle.schema, self.ticket);
        out.extend_from_slice(match tried.result {
            StepResult::Matched => b",\"result\":\"matched\",\"reads\":{",
            StepResult::NotMatched => b",\"result\":\"not_matched\",\"reads\":{",
            StepResult::Error => b",\"result\":\"error\",\"reads\":{",
        });
        for (i, &read) in guard.reads.iter().enumerate() {
            let separator: &[u8] = if i == 0 { b"" } else { b"," };
            let field = &schema.fields[read];
            out.extend_from_slice(separator);
            string(out, &field.path);
            out.push(b':');
            slot(out, &ticket.slots[read], &field.kind);
        }
        out.push(b'}');
        let mut defaulted = guard.reads.iter().filter(|&&i| ticket.defaulted[i]);
        if let Some(&first) = defaulted.next() {
            out.extend_from_slice(b",\"defaulted\":[");
            string(out, &schema.fields[first].path);
            for &read in defaulted {
                out.push(b',');
                string(out, &schema.fields[read].path);
            }
            out.push(b']');
        }
        let mut named = self.named(guard, conditions).peekable();
        if named.peek().is_some() {
            out.extend_from_slice(b",\"conditions\":{");
            for (i, (name, value)) in named.enumerate() {
                out.extend_from_slice(if i == 0 { b"" } else { b"," });
                string(out, name);
                out.extend_from_slice(if value { b":true" } else { b":false" });
            }
            out.push(b'}');
        }
        if let Some(part) = decided_by(guard, tried) {
            field(out, b",\"decided_by\":", &part);
        }
        out.push(b'}');
    }
}

/// `key` (the JSON before the value, separator included), then `value` as a string.
fn field(out: &mut Vec<u8>, key: &[u8], value: &str) {
    out.extend_from_slice(key);
    string(out, value);
}

fn optional(out: &mut Vec<u8>, key: &[u8], value: Option<&str>) {
    match value {
        Some(value) => field(out, key, value),
        None => {
            out.extend_from_slice(key);
            out.extend_from_slice(b"null");
        }
    }
}

fn strings<'s>(out: &mut Vec<u8>, items: impl Iterator<Item = &'s str>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, item);
    }
    out.push(b']');
}

/// A ticket field's value as the ticket sent it.
fn slot(out: &mut Vec<u8>, slot: &Slot<'_>, kind: &Kind) {
    match slot {
        Slot::Null => out.extend_from_slice(b"null"),
        Slot::Bool(true) => out.extend_from_slice(b"true"),
        Slot::Bool(false) => out.extend_from_slice(b"false"),
        Slot::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Slot::Text(s) => string(out, s),
        Slot::Enum(code) => string(out, name(kind, *code)),
        Slot::List(codes) => strings(out, codes.iter().map(|&c| name(kind, c))),
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it: `"`, `\` and
/// the control characters below U+0020, nothing else.
fn string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most text needs no escape: checked without stopping early, which
    // the compiler turns into a few wide comparisons, then copied whole.
    let plain = !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match short {
            b"" => {
                let hex = |n: u8| HEX[usize::from(n)];
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte & 0xf)]);
            }
            short => out.extend_from_slice(short),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte of ASCII, and some beyond, escaped as serde_json does.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u8..128).map(char::from).chain("é€😀".chars()).collect();
        for text in [all.as_str(), "", "plain", "\"\\"] {
            let mut ours = Vec::new();
            string(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }
}
