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

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
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
}
