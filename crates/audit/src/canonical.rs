//! The canonical encoding a record's hash covers.
//!
//! JSON without whitespace; object keys sorted by their UTF-8 bytes at every
//! level; strings and numbers written as `serde_json` writes them (only `"`,
//! `\` and control characters escaped, everything else as UTF-8). The sort is
//! done here rather than left to `serde_json::Map`, whose order changes with
//! its `preserve_order` feature, which any dependency may switch on.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `value` in the canonical encoding.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write(value, &mut out);
    out
}

/// The member `"key":value` of an object, in the canonical encoding.
pub fn member(key: &str, value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // A string serialises as a JSON string, escaped as a value is.
    let _ = serde_json::to_writer(&mut out, key);
    out.push(b':');
    write(value, &mut out);
    out
}

/// An object of the members `parts`, each `"key":value` or a run of them
/// joined by commas, in order (empty ones left out).
pub fn object(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 2);
    out.push(b'{');
    for part in parts.iter().filter(|p| !p.is_empty()) {
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(part);
    }
    out.push(b'}');
    out
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        // The map's own order when it is already sorted (serde_json's
        // default map is), so no entries are gathered and sorted.
        Value::Object(map) if map.keys().is_sorted_by(|a, b| a.as_bytes() <= b.as_bytes()) => {
            members(map.iter(), out);
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            members(entries.into_iter(), out);
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
}

/// An object of `entries`, in their order.
fn members<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // A string serialises as a JSON string, escaped as a value is.
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        write(value, out);
    }
    out.push(b'}');
}

fn scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar `Value` into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `sha256:` and the lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let value = serde_json::json!({"b": {"z": 1, "a": [true, null]}, "a": "é\"\n"});
        let text = String::from_utf8(encode(&value)).unwrap_or_default();
        assert_eq!(text, r#"{"a":"é\"\n","b":{"a":[true,null],"z":1}}"#);
    }

    #[test]
    fn members_joined_in_key_order_give_the_encoding_of_the_whole() {
        let whole = serde_json::json!({"z": {"y": 2, "b": []}, "hash": "h", "a": 1, "i": "x"});
        let map = whole.as_object().unwrap();
        let mut members: Vec<(&String, Vec<u8>)> =
            map.iter().map(|(k, v)| (k, member(k, v))).collect();
        members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let parts: Vec<&[u8]> = members.iter().map(|(_, m)| m.as_slice()).collect();
        assert_eq!(object(&parts), encode(&whole));
        assert_eq!(object(&[b"", br#""a":1"#, b""]), br#"{"a":1}"#);
    }
}
