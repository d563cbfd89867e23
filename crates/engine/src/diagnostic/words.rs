//! Plain words for the type names that the YAML parser and rhai write in
//! their messages (Rust's: `Option<String>`, `ImmutableString`, `&str`,
//! `()`, `i64`): an analyst reads "text", "nothing", "a number".

/// Rust and rhai type names, longest first, with the words that replace them.
const TYPE_WORDS: &[(&str, &str)] = &[
    ("&str | ImmutableString | String", "text"),
    ("Option<String>", "a text or nothing"),
    ("Option<char>", "a character or nothing"),
    ("rhai::ImmutableString", "text"),
    ("ImmutableString", "text"),
    ("alloc::string::String", "text"),
    ("String", "text"),
    ("&str", "text"),
    ("unit value", "nothing"),
    ("()", "nothing"),
    ("rhai::Array", "a list"),
    ("Array", "a list"),
    ("rhai::Map", "a mapping"),
    ("Map", "a mapping"),
    ("floating point", "a number"),
    ("f64", "a number"),
    ("i64", "a whole number"),
    ("u64", "a whole number"),
    ("usize", "a whole number"),
    ("bool", "true or false"),
    ("a string", "a text"),
    ("a sequence", "a list"),
];

/// `message` with every Rust or rhai type name in plain words.
pub(crate) fn plain_type_names(message: &str) -> String {
    let mut message = message.to_owned();
    for (from, to) in TYPE_WORDS {
        message = replace_words(&message, from, to);
    }
    // `struct Rule` and the like: a Rust type's name, where YAML has a mapping.
    while let Some(at) = message.find("struct ") {
        let end = message[at + 7..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(message.len(), |e| at + 7 + e);
        message.replace_range(at..end, "a mapping");
    }
    message
}

/// `text` with `from` replaced by `to` where `from` is not part of a longer word.
fn replace_words(text: &str, from: &str, to: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        let alphanumeric = |c: char| c.is_ascii_alphanumeric();
        // `()` right after a name is a call (`len()`), not the unit type.
        let glued_before = word(before) && (from.starts_with(alphanumeric) || from == "()");
        let glued_after = word(after) && from.ends_with(alphanumeric);
        let whole = !(glued_before || glued_after);
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_and_rhai_type_names_read_as_plain_words() {
        assert_eq!(
            plain_type_names("Function not found: contains ((), &str | ImmutableString | String)"),
            "Function not found: contains (nothing, text)"
        );
        assert_eq!(
            plain_type_names("invalid type: unit value, expected struct Rule"),
            "invalid type: nothing, expected a mapping"
        );
        assert_eq!(plain_type_names("len() gave ()"), "len() gave nothing");
        assert_eq!(
            plain_type_names("expected u64 in Strings and boolean"),
            "expected a whole number in Strings and boolean"
        );
    }
}
