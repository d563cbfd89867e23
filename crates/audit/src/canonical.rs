//! The canonical encoding a record's hash covers.
//!
//! JSON without whitespace; object keys sorted by their UTF-8 bytes at every
//! level; strings and numbers written as `serde_json` writes them (only `"`,
//! `\` and control characters escaped, everything else as UTF-8). The sort is
//! done here rather than left to `serde_json::Map`, whose order changes with
//! its `preserve_order` feature, which any dependency may switch on.

use std::ops::Range;

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

/// [`sha256`] of what [`object`] makes of `parts`, without making it.
pub fn object_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"{");
    for (i, part) in parts.iter().filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        hasher.update(part);
    }
    hasher.update(b"}");
    tagged("sha256:", &hasher.finalize())
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

/// The canonical encoding of `json`, JSON as `serde_json::to_vec` writes
/// it (no whitespace, its escapes and numbers): the same bytes with every
/// object's members sorted, so without building a `Value` first. `None`
/// for anything else, or an object with a key twice (which a `Value`
/// would have kept once): the caller encodes those through a `Value`.
pub fn sorted(json: &[u8]) -> Option<Vec<u8>> {
    sort_after(Vec::with_capacity(json.len()), json, false)
}

/// The member `"key":value` in the canonical encoding, its value given as
/// JSON text that [`sorted`] takes (`key` is plain: no escapes).
pub fn sorted_member(key: &str, json: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(json.len() + key.len() + 3);
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    sort_after(out, json, false)
}

/// The canonical encoding of `json`, JSON from anywhere (a client's ticket),
/// when sorting its members is all it takes: no whitespace, and each string
/// and number written as serde_json writes what it reads from them (the
/// escapes it writes, integers of up to 18 digits). `None` for anything
/// else, which the caller encodes through a `Value`.
pub fn sorted_strict(json: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(json).ok()?;
    sort_after(Vec::with_capacity(json.len()), json, true)
}

/// `out` with the value `json` (the whole of it) sorted after what it
/// holds; `strict` as [`sorted_strict`] takes text.
fn sort_after(mut out: Vec<u8>, json: &[u8], strict: bool) -> Option<Vec<u8>> {
    let mut sorter = Sorter::new(strict);
    let end = sorter.value(json, 0, &mut out)?;
    (end == json.len()).then_some(out)
}

/// Where the value at the dotted `path` lies in `json`, an object in the
/// canonical encoding: one object a segment, as a field path nests.
pub fn find(json: &[u8], path: &str) -> Option<Range<usize>> {
    let mut value = 0..json.len();
    for segment in path.split('.') {
        value = find_member(json, value.start, segment)?;
    }
    Some(value)
}

/// The value of the member `key` of the object at `at`.
fn find_member(json: &[u8], at: usize, key: &str) -> Option<Range<usize>> {
    (json.get(at) == Some(&b'{')).then_some(())?;
    let mut at = at + 1;
    while json.get(at) == Some(&b'"') {
        let (key_end, escaped) = string_end(json, at)?;
        let end = skip(json, key_end + 1)?;
        if *key_text(&json[at + 1..key_end - 1], escaped) == *key.as_bytes() {
            return Some(key_end + 1..end);
        }
        (json.get(end) == Some(&b',')).then_some(())?;
        at = end + 1;
    }
    None
}

/// Where the value at `at` ends.
fn skip(json: &[u8], at: usize) -> Option<usize> {
    match *json.get(at)? {
        b'"' => Some(string_end(json, at)?.0),
        b'{' | b'[' => {
            let (mut depth, mut i) = (0usize, at);
            loop {
                match *json.get(i)? {
                    b'"' => i = string_end(json, i)?.0 - 1,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 1 => return Some(i + 1),
                    b'}' | b']' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let len = json[at..]
                .iter()
                .position(|b| matches!(b, b',' | b']' | b'}'));
            Some(at + len.unwrap_or(json.len() - at))
        }
    }
}

/// Where each member of an object lies in its text: the key's text between
/// its quotes, and the whole `"key":value`.
pub type Spans = Vec<(Range<usize>, Range<usize>)>;

/// The object `json` (as [`sorted`] takes it) in the canonical encoding,
/// with where each of its members lies in that text, in order: the key's
/// text between its quotes (escapes left as written) and the whole
/// `"key":value`.
pub fn sorted_object(json: &[u8]) -> Option<(Vec<u8>, Spans)> {
    let mut out = Vec::with_capacity(json.len());
    let mut sorter = Sorter::new(false);
    let end = sorter.object(json, 0, &mut out)?;
    let members = sorter.members.into_iter().map(|m| (m.key, m.member));
    (end == json.len()).then(|| (out, members.collect()))
}

/// One member of an object, as written to the output: its key's text
/// between the quotes, whether that has escapes, and the whole
/// `"key":value`.
#[derive(Clone)]
struct Member {
    key: Range<usize>,
    escaped: bool,
    member: Range<usize>,
}

/// Sorts the members of each object of JSON text as serde_json writes it.
/// Each value is copied as it comes, so strings keep serde_json's escapes
/// and numbers its digits, which are the canonical encoding's own.
struct Sorter {
    /// The members of the objects being written, innermost last; the
    /// outermost object's are left when it is done.
    members: Vec<Member>,
    /// An object's members in their first order, while they are reordered.
    scratch: Vec<u8>,
    /// Takes only the strings and numbers serde_json would write back the
    /// same, for text serde_json did not write.
    strict: bool,
}

impl Sorter {
    /// Room for the members of a record's or a ticket's nested objects at
    /// once, so that a sort does not grow it member by member.
    fn new(strict: bool) -> Sorter {
        Sorter {
            members: Vec::with_capacity(32),
            scratch: Vec::new(),
            strict,
        }
    }

    /// Writes the value at `at` to `out`; where it ends.
    fn value(&mut self, json: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
        match *json.get(at)? {
            b'{' => {
                let base = self.members.len();
                let end = self.object(json, at, out);
                self.members.truncate(base);
                end
            }
            b'[' => self.array(json, at, out),
            b'"' => {
                let (end, escaped) = string_end(json, at)?;
                self.written_back(&json[at + 1..end - 1], escaped)?;
                out.extend_from_slice(&json[at..end]);
                Some(end)
            }
            _ => {
                let len = json[at..]
                    .iter()
                    .position(|b| matches!(b, b',' | b']' | b'}'))
                    .unwrap_or(json.len() - at);
                let scalar = &json[at..at + len];
                let plain = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.');
                (len > 0 && scalar.iter().all(plain)).then_some(())?;
                (!self.strict || literal(scalar)).then_some(())?;
                out.extend_from_slice(scalar);
                Some(at + len)
            }
        }
    }

    fn array(&mut self, json: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
        out.push(b'[');
        let mut at = at + 1;
        if json.get(at) == Some(&b']') {
            out.push(b']');
            return Some(at + 1);
        }
        loop {
            at = self.value(json, at, out)?;
            let &next = json.get(at)?;
            out.push(next);
            at += 1;
            match next {
                b',' => {}
                b']' => return Some(at),
                _ => return None,
            }
        }
    }

    /// Writes the object at `at` with its members sorted, and leaves them
    /// last in `members`; where it ends.
    fn object(&mut self, json: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
        (json.get(at) == Some(&b'{')).then_some(())?;
        out.push(b'{');
        let (start, base) = (out.len(), self.members.len());
        let mut at = at + 1;
        if json.get(at) == Some(&b'}') {
            out.push(b'}');
            return Some(at + 1);
        }
        loop {
            (json.get(at) == Some(&b'"')).then_some(())?;
            let (key_end, escaped) = string_end(json, at)?;
            self.written_back(&json[at + 1..key_end - 1], escaped)?;
            let member = out.len();
            out.extend_from_slice(&json[at..key_end]);
            let key = member + 1..out.len() - 1;
            (json.get(key_end) == Some(&b':')).then_some(())?;
            out.push(b':');
            at = self.value(json, key_end + 1, out)?;
            let member = member..out.len();
            self.members.push(Member {
                key,
                escaped,
                member,
            });
            match *json.get(at)? {
                b',' => out.push(b','),
                b'}' => break,
                _ => return None,
            }
            at += 1;
        }
        self.reorder(out, start, base)?;
        out.push(b'}');
        Some(at + 1)
    }

    /// `Some` unless strict and serde_json would write the string `inner`
    /// (between its quotes) otherwise once read.
    fn written_back(&self, inner: &[u8], escaped: bool) -> Option<()> {
        if !self.strict {
            return Some(());
        }
        inner.iter().all(|&b| b >= 0x20).then_some(())?;
        (!escaped || escapes_written_back(inner)).then_some(())
    }

    /// Puts the members from `base` on, written from `start`, in key
    /// order, unless they are in it already; `None` for a key twice.
    fn reorder(&mut self, out: &mut Vec<u8>, start: usize, base: usize) -> Option<()> {
        let members = &mut self.members[base..];
        let order = |a: &Member, b: &Member| key_order(out, a, b);
        if members.len() < 2 || members.is_sorted_by(|a, b| order(a, b).is_lt()) {
            return Some(());
        }
        members.sort_unstable_by(order);
        members
            .windows(2)
            .all(|w| order(&w[0], &w[1]).is_lt())
            .then_some(())?;
        self.scratch.clear();
        self.scratch.extend_from_slice(&out[start..]);
        out.truncate(start);
        for (i, m) in members.iter_mut().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let at = out.len();
            out.extend_from_slice(&self.scratch[m.member.start - start..m.member.end - start]);
            let key = at + 1..at + 1 + m.key.len();
            (m.key, m.member) = (key, at..out.len());
        }
        Some(())
    }
}

/// Whether each escape in `inner` is one serde_json writes: `\"`, `\\`,
/// the short ones of control characters, `\u00xx` (lowercase) for the others.
fn escapes_written_back(inner: &[u8]) -> bool {
    let mut rest = inner;
    while let Some(i) = memchr::memchr(b'\\', rest) {
        let (short, long) = (rest.get(i + 1), rest.get(i + 2..i + 6));
        let step = match (short, long) {
            (Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't'), _) => 2,
            (Some(b'u'), Some([b'0', b'0', high @ (b'0' | b'1'), low])) => {
                let Some(low) = hex_digit(*low) else {
                    return false;
                };
                // These five have short escapes, which serde_json writes.
                if matches!((high - b'0') << 4 | low, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                    return false;
                }
                6
            }
            _ => return false,
        };
        rest = &rest[i + step..];
    }
    true
}

/// A lowercase hex digit's value.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Whether `scalar` is one serde_json writes back as it reads it: a
/// literal, or an integer of up to 18 digits (no `-0`), which fits both
/// `i64` and `u64`.
fn literal(scalar: &[u8]) -> bool {
    let digits = scalar.strip_prefix(b"-").unwrap_or(scalar);
    let integer = matches!(digits, [b'1'..=b'9', rest @ ..] if rest.len() < 18 && rest.iter().all(u8::is_ascii_digit));
    matches!(scalar, b"true" | b"false" | b"null" | b"0") || integer
}

/// Where the string starting at `at` (its opening quote) ends, past its
/// closing quote, and whether it has escapes.
fn string_end(json: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut i = at + 1;
    let mut escaped = false;
    loop {
        i += memchr::memchr2(b'"', b'\\', json.get(i..)?)?;
        match json[i] {
            b'"' => return Some((i + 1, escaped)),
            _ => (i, escaped) = (i + 2, true),
        }
    }
}

/// Two members in the canonical order: by the UTF-8 bytes of their keys'
/// text, escapes read first where there are any.
fn key_order(out: &[u8], a: &Member, b: &Member) -> std::cmp::Ordering {
    let (ka, kb) = (&out[a.key.clone()], &out[b.key.clone()]);
    match a.escaped || b.escaped {
        false => bytes_order(ka, kb),
        true => key_text(ka, a.escaped).cmp(&key_text(kb, b.escaped)),
    }
}

/// `a` against `b` byte by byte: keys are short, and a loop the compiler
/// sees through is cheaper for them than a call to `memcmp`.
fn bytes_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// A key's text between its quotes, its escapes read.
fn key_text(inner: &[u8], escaped: bool) -> std::borrow::Cow<'_, [u8]> {
    match escaped {
        false => inner.into(),
        true => {
            let quoted = [&b"\""[..], inner, b"\""].concat();
            let text = serde_json::from_slice::<String>(&quoted).unwrap_or_default();
            text.into_bytes().into()
        }
    }
}

/// `sha256:` and the lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    tagged("sha256:", &Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    tagged("", bytes)
}

/// `tag` then the lowercase hex of `bytes`, made in one allocation: a
/// record makes several of these (its hash, id and masked values).
pub(crate) fn tagged(tag: &str, bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(tag.len() + bytes.len() * 2);
    s.push_str(tag);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash a record carries is `sha256:` and the lowercase hex digest:
    /// FIPS 180-2's test vector, whole and as the parts of an object.
    #[test]
    fn a_hash_is_tagged_lowercase_hex() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256(b"abc"), format!("sha256:{abc}"));
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(tagged("d-", &[0xab, 0x01]), "d-ab01");
        let whole = object(&[b"\"a\":1", b"", b"\"b\":[2]"]);
        assert_eq!(
            object_sha256(&[b"\"a\":1", b"", b"\"b\":[2]"]),
            sha256(&whole)
        );
    }

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
        assert_eq!(object_sha256(&parts), sha256(&encode(&whole)));
    }

    /// Any JSON value, keys and strings drawn to need escapes and sorting.
    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let text = "[a-c\"\\\n\u{1}\u{1f}\u{7f}\u{e9}\u{1f600}/]{0,4}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text.prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(text, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn serde_json_text_sorted_is_the_canonical_encoding(value in any_value()) {
            let text = serde_json::to_vec(&value).unwrap();
            proptest::prop_assert_eq!(sorted(&text), Some(encode(&value)));
        }
    }

    /// JSON text of `value` written as a client might: each string's
    /// characters raw or escaped in one of the ways JSON allows (chosen by
    /// `ways`), numbers in one of several forms of the same number.
    fn written_freely(value: &Value, ways: &mut impl Iterator<Item = u8>, out: &mut String) {
        let mut way = || ways.next().unwrap_or(0);
        match value {
            Value::String(text) => {
                out.push('"');
                for c in text.chars() {
                    let mut units = [0u16; 2];
                    match way() % 4 {
                        0 => (c.encode_utf16(&mut units).iter())
                            .for_each(|unit| out.push_str(&format!("\\u{unit:04x}"))),
                        1 => (c.encode_utf16(&mut units).iter())
                            .for_each(|unit| out.push_str(&format!("\\u{unit:04X}"))),
                        2 if c == '/' => out.push_str("\\/"),
                        _ => {
                            let quoted = serde_json::to_string(&c.to_string()).unwrap();
                            out.push_str(&quoted[1..quoted.len() - 1]);
                        }
                    }
                }
                out.push('"');
            }
            Value::Number(n) => match (way() % 4, n.as_i64()) {
                (0, Some(i)) => out.push_str(&format!("{i}.0")),
                (1, Some(0)) => out.push_str("-0"),
                // Ten times as much: past `i64` or `u64` for some.
                (2, _) if !n.is_f64() => out.push_str(&format!("{n}0")),
                _ => out.push_str(&n.to_string()),
            },
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i > 0 { "," } else { "" });
                    written_freely(item, ways, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    out.push_str(if i > 0 { "," } else { "" });
                    written_freely(&Value::from(key.as_str()), ways, out);
                    out.push(':');
                    written_freely(item, ways, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    proptest::proptest! {
        #[test]
        fn strictly_sorted_text_is_the_encoding_of_what_serde_json_reads(
            value in any_value(),
            ways in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let mut text = String::new();
            written_freely(&value, &mut ways.into_iter().cycle(), &mut text);
            if let Some(sorted) = sorted_strict(text.as_bytes()) {
                let read: Value = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(sorted, encode(&read), "{}", text);
            }
        }

        #[test]
        fn serde_json_text_without_floats_or_long_numbers_is_sorted_strictly(
            value in any_value(),
        ) {
            let text = serde_json::to_vec(&value).unwrap();
            let sorted = sorted_strict(&text);
            let numbers = text.iter().filter(|b| matches!(b, b'.' | b'e' | b'E')).count();
            if numbers == 0 && !long_integer(&value) {
                proptest::prop_assert_eq!(sorted, Some(encode(&value)));
            } else {
                proptest::prop_assert!(sorted.is_none_or(|s| s == encode(&value)));
            }
        }

        #[test]
        fn a_path_is_found_where_a_value_has_it(value in any_value()) {
            let text = encode(&value);
            for (path, found) in paths(&value) {
                let at = find(&text, &path).unwrap();
                proptest::prop_assert_eq!(&text[at], &encode(found)[..]);
            }
            proptest::prop_assert_eq!(find(&text, "no such key"), None);
        }
    }

    /// Whether `value` holds an integer of more than 18 digits.
    fn long_integer(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.to_string().trim_start_matches('-').len() > 18,
            Value::Array(items) => items.iter().any(long_integer),
            Value::Object(map) => map.values().any(long_integer),
            _ => false,
        }
    }

    /// Every dotted path through the objects of `value`, with its value.
    fn paths(value: &Value) -> Vec<(String, &Value)> {
        let Value::Object(map) = value else {
            return Vec::new();
        };
        let mut all = Vec::new();
        for (key, item) in map {
            all.push((key.clone(), item));
            for (path, inner) in paths(item) {
                all.push((format!("{key}.{path}"), inner));
            }
        }
        all
    }

    #[test]
    fn strict_sorting_takes_only_what_serde_json_writes_back_the_same() {
        let taken = [
            &br#"{"b":"\u001f\n","a":[-12,0,true,null]}"#[..],
            br#""\"\\\b""#,
        ];
        for text in taken {
            let read: Value = serde_json::from_slice(text).unwrap();
            assert_eq!(sorted_strict(text), Some(encode(&read)));
        }
        let refused = [
            &br#""\u0041""#[..],
            br#""\/""#,
            br#""\u001F""#,
            br#""\u000a""#,
            b"-0",
            b"1.0",
            b"1e2",
            b"1234567890123456789",
            b"-9999999999999999999",
            b"\"\x01\"",
            b"\"\xff\"",
            b"[1, 2]",
        ];
        for text in refused {
            assert_eq!(
                sorted_strict(text),
                None,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            sorted_strict(b"123456789012345678"),
            Some(b"123456789012345678".to_vec())
        );
    }

    #[test]
    fn members_are_sorted_where_serde_json_wrote_them_in_another_order() {
        #[derive(serde::Serialize)]
        struct Out {
            z: u8,
            #[serde(rename = "a\u{1}")]
            escaped: [&'static str; 2],
            a: Inner,
        }
        #[derive(serde::Serialize)]
        struct Inner {
            y: bool,
            b: Option<u8>,
        }
        let out = Out {
            z: 1,
            escaped: ["é", "\"\n"],
            a: Inner { y: true, b: None },
        };
        let text = serde_json::to_vec(&out).unwrap();
        let value = serde_json::to_value(&out).unwrap();
        assert_eq!(sorted(&text), Some(encode(&value)));
        let (whole, members) = sorted_object(&text).unwrap();
        assert_eq!(whole, encode(&value));
        let keys: Vec<&[u8]> = members.iter().map(|(k, _)| &whole[k.clone()]).collect();
        assert_eq!(keys, [&b"a"[..], b"a\\u0001", b"z"]);
        assert_eq!(&whole[members[0].1.clone()], br#""a":{"b":null,"y":true}"#);
    }

    #[test]
    fn text_serde_json_would_not_write_is_left_to_the_long_way() {
        for text in [
            &br#"{"a":1,"a":2}"#[..],
            b"{ \"a\":1}",
            b"[1,]",
            b"{\"a\"}",
            b"",
            b"[1] ",
        ] {
            assert_eq!(sorted(text), None, "{}", String::from_utf8_lossy(text));
        }
    }
}
