//! Record, prepared: the bundle's own names and texts as JSON, escaped once
//! when the bundle is built, so that writing a decision (`write`) copies
//! them instead of escaping them again for every ticket. Only what comes
//! from the ticket (its id, free text, numbers) is escaped per decision.

use crate::model::{Compiled, Guard};

/// JSON text, quotes and escapes included.
pub(crate) type Json = Box<[u8]>;

/// The bundle's text as JSON, by the same indices as the model.
pub(crate) struct Fragments {
    /// Per rule: its trace entry up to its result.
    pub rules: Vec<Prepared>,
    /// Per path, per step: the same.
    pub steps: Vec<Vec<Prepared>>,
    /// Per path: its whole fallback entry.
    pub fallbacks: Vec<Json>,
    /// Per field: its path, quoted.
    pub fields: Vec<Json>,
    /// Per field, per declared value (enum and list fields): the value, quoted.
    pub values: Vec<Vec<Json>>,
    /// Per condition: its name, quoted.
    pub conditions: Vec<Json>,
    /// Per rule, path, step, outcome, action and vehicle: its id, quoted.
    pub rule_ids: Vec<Json>,
    pub path_ids: Vec<Json>,
    pub step_ids: Vec<Vec<Json>>,
    pub outcomes: Vec<Json>,
    pub actions: Vec<Json>,
    pub vehicles: Vec<Json>,
    /// Per action: the array of the roles that may take it.
    pub allowed_roles: Vec<Json>,
    /// Per rule, per path step and per path fallback: the rationale, quoted.
    pub rule_rationales: Vec<Json>,
    pub step_rationales: Vec<Vec<Json>>,
    pub fallback_rationales: Vec<Option<Json>>,
    /// `,"policy":{…}`, the policy object with the key before it.
    pub policy: Json,
    /// The same fragments with their keys sorted, for the sorted writing.
    pub sorted: Sorted,
}

/// Fragments whose keys a sorted writing puts in another order.
pub(crate) struct Sorted {
    /// Per rule, and per path and step: `"id":…,"kind":…` (and `,"path":…`).
    pub rules: Vec<Json>,
    pub steps: Vec<Vec<Json>>,
    /// Per path: its whole fallback entry.
    pub fallbacks: Vec<Json>,
    /// `"policy":{"digest":…,"name":…,"version":…}`.
    pub policy: Json,
}

/// A rule's or path step's trace entry, prepared.
pub(crate) struct Prepared {
    /// `{"kind":…,"id":…` (and `"path":…` for a step).
    pub head: Json,
    /// Per operand of a top-level `&&`/`||`: `,"decided_by":"<operand>"`.
    pub parts: Vec<Json>,
    /// The named conditions the guard uses by name, sorted by name.
    pub named: Vec<usize>,
}

impl Fragments {
    pub fn of(bundle: &Compiled) -> Fragments {
        let ids = |ids: &mut dyn Iterator<Item = &str>| ids.map(quoted).collect::<Vec<_>>();
        let paths = &bundle.paths;
        Fragments {
            rules: (bundle.rules.iter())
                .map(|r| {
                    prepared(
                        bundle,
                        &r.guard,
                        &format!("{{\"kind\":\"rule\",\"id\":{}", text(&r.id)),
                    )
                })
                .collect(),
            steps: paths.iter().map(|p| path_steps(bundle, p)).collect(),
            fallbacks: paths.iter().map(|p| fallback(&p.id)).collect(),
            fields: ids(&mut bundle.schema.fields.iter().map(|f| &*f.path)),
            values: (bundle.schema.fields.iter())
                .map(|f| ids(&mut f.kind.values().unwrap_or_default().iter().map(|v| &**v)))
                .collect(),
            conditions: ids(&mut bundle.conditions.iter().map(|c| &*c.name)),
            rule_ids: ids(&mut bundle.rules.iter().map(|r| &*r.id)),
            path_ids: ids(&mut paths.iter().map(|p| &*p.id)),
            step_ids: (paths.iter())
                .map(|p| ids(&mut p.steps.iter().map(|s| &*s.id)))
                .collect(),
            outcomes: ids(&mut bundle.outcomes.iter().map(|o| &*o.id)),
            actions: ids(&mut bundle.actions.iter().map(|a| &*a.id)),
            vehicles: ids(&mut bundle.vehicles.iter().map(|v| &*v.id)),
            allowed_roles: (bundle.actions.iter())
                .map(|a| array(a.roles.iter().map(|r| &**r)))
                .collect(),
            rule_rationales: ids(&mut bundle.rules.iter().map(|r| &*r.rationale)),
            step_rationales: (paths.iter())
                .map(|p| ids(&mut p.steps.iter().map(|s| &*s.rationale)))
                .collect(),
            fallback_rationales: (paths.iter())
                .map(|p| p.fallback.as_ref().map(|f| quoted(&f.rationale)))
                .collect(),
            policy: policy(bundle),
            sorted: Sorted::of(bundle),
        }
    }
}

impl Sorted {
    fn of(bundle: &Compiled) -> Sorted {
        let paths = &bundle.paths;
        let p = &bundle.policy;
        let (digest, name, version) = (text(&p.digest), text(&p.name), text(&p.version));
        Sorted {
            rules: (bundle.rules.iter())
                .map(|r| format!("\"id\":{},\"kind\":\"rule\"", text(&r.id)))
                .map(|head| head.into_bytes().into())
                .collect(),
            steps: (paths.iter())
                .map(|path| {
                    let path_id = text(&path.id);
                    (path.steps.iter())
                        .map(|s| format!("\"id\":{},\"kind\":\"path_step\",\"path\":{path_id}", text(&s.id)))
                        .map(|head| head.into_bytes().into())
                        .collect()
                })
                .collect(),
            fallbacks: (paths.iter())
                .map(|path| {
                    let entry = format!(
                        "{{\"id\":\"fallback\",\"kind\":\"fallback\",\"path\":{},\"reads\":{{}},\"result\":\"matched\"}}",
                        text(&path.id)
                    );
                    entry.into_bytes().into()
                })
                .collect(),
            policy: format!("\"policy\":{{\"digest\":{digest},\"name\":{name},\"version\":{version}}}")
                .into_bytes()
                .into(),
        }
    }
}

fn path_steps(bundle: &Compiled, path: &crate::model::PathDef) -> Vec<Prepared> {
    let path_id = text(&path.id);
    (path.steps.iter())
        .map(|s| {
            let head = format!(
                "{{\"kind\":\"path_step\",\"id\":{},\"path\":{path_id}",
                text(&s.id)
            );
            prepared(bundle, &s.guard, &head)
        })
        .collect()
}

fn prepared(bundle: &Compiled, guard: &Guard, head: &str) -> Prepared {
    let parts = guard.expr.parts.iter().flatten();
    let mut named = guard.expr.conditions.clone();
    named.sort_by(|&a, &b| bundle.conditions[a].name.cmp(&bundle.conditions[b].name));
    Prepared {
        head: head.as_bytes().into(),
        parts: parts
            .map(|p| format!(",\"decided_by\":{}", text(p)).into_bytes().into())
            .collect(),
        named,
    }
}

fn fallback(path: &str) -> Json {
    let entry = format!(
        "{{\"kind\":\"fallback\",\"id\":\"fallback\",\"path\":{},\"result\":\"matched\",\"reads\":{{}}}}",
        text(path)
    );
    entry.into_bytes().into()
}

fn policy(bundle: &Compiled) -> Json {
    let p = &bundle.policy;
    let object = format!(
        ",\"policy\":{{\"name\":{},\"version\":{},\"digest\":{}}}",
        text(&p.name),
        text(&p.version),
        text(&p.digest)
    );
    object.into_bytes().into()
}

fn array<'s>(items: impl Iterator<Item = &'s str>) -> Json {
    let mut out = b"[".to_vec();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(&mut out, item);
    }
    out.push(b']');
    out.into()
}

fn quoted(text: &str) -> Json {
    let mut out = Vec::with_capacity(text.len() + 2);
    string(&mut out, text);
    out.into()
}

fn text(s: &str) -> String {
    String::from_utf8_lossy(&quoted(s)).into_owned()
}

/// `text` as a JSON string, escaped as serde_json escapes it: `"`, `\` and
/// the control characters below U+0020, nothing else.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
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
