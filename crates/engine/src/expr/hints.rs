//! The expression mistakes of someone who writes conditions in words rather
//! than in code, each with what to type instead: `and`, `or` and `not` for
//! `&&`, `||` and `!`; a value written without quotes; a bare text in a
//! disjunction (`x == "a" || "b"`).

use crate::schema::Schema;

/// The operator to type for a word used as one, with the message and hint.
pub(crate) fn word_operator(word: &str) -> Option<(String, String)> {
    let (symbol, example) = match word {
        "and" => ("&&", "a && b"),
        "or" => ("||", "a || b"),
        "not" => ("!", "!a"),
        _ => return None,
    };
    Some((
        format!("`{word}` is not an operator of conditions"),
        format!("write `{symbol}` for `{word}`, as in `{example}`"),
    ))
}

/// A parse error of rhai's, in plain words with what to do, where its own
/// words are a programmer's.
pub(crate) fn parse_error(kind: &rhai::ParseErrorType) -> Option<(String, String)> {
    let (message, help) = match kind {
        rhai::ParseErrorType::UnexpectedEOF => (
            "the condition ends before it is complete",
            "finish it: `==`, `!=`, `in`, `&&` and `||` each need something on both sides",
        ),
        rhai::ParseErrorType::MissingToken(token, _) if token == ")" => {
            ("a `(` is not closed", "close each `(` with a `)`")
        }
        _ => return None,
    };
    Some((message.to_owned(), help.to_owned()))
}

/// The hint for an undefined `name` that may be a value written without
/// quotes: the field it is a value of, when one has it.
pub(crate) fn unquoted_value(schema: &Schema, name: &str) -> String {
    let field = schema.fields.iter().find(|f| {
        f.kind
            .values()
            .is_some_and(|v| v.iter().any(|v| &**v == name))
    });
    match field {
        Some(field) => format!(
            "`{name}` is a value of `{}`: write a value in quotes, `\"{name}\"`",
            field.path
        ),
        None => format!(
            concat!(
                "conditions may use ticket fields, named sets and named conditions; ",
                "if `{}` is a value, write it in quotes, `\"{}\"`"
            ),
            name, name
        ),
    }
}

/// The message and hint for a text where a condition should be, at byte
/// `at` of `source`: `x == "a" || "b"` reads as `(x == "a") || "b"`.
pub(crate) fn bare_text(source: &str, at: usize) -> (String, String) {
    let message = "a text on its own is not a condition".to_owned();
    let generic = || {
        concat!(
            "to test a field against several values, write `field in [\"a\", \"b\"]` ",
            "rather than `field == \"a\" || \"b\"`"
        )
        .to_owned()
    };
    let Some(before) = source.get(..at) else {
        return (message, generic());
    };
    let Some(before) = before.trim_end().strip_suffix("||") else {
        return (message, generic());
    };
    let text = quoted_at(source, at);
    let compared = before
        .trim_end()
        .rsplit_once("==")
        .and_then(|(left, right)| {
            let field = left.trim_end().rsplit([' ', '(', '&', '|', '!']).next()?;
            let right = right.trim();
            (right.starts_with('"') && right.ends_with('"') && !field.is_empty())
                .then(|| (field.to_owned(), right.to_owned()))
        });
    match (compared, text) {
        (Some((field, first)), Some(text)) => (
            message,
            format!("to test `{field}` against both values, write `{field} in [{first}, {text}]`"),
        ),
        _ => (message, generic()),
    }
}

/// The quoted text that starts at byte `at` of `source`, quotes included.
fn quoted_at(source: &str, at: usize) -> Option<&str> {
    let rest = source.get(at..)?;
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = rest[1..].find(quote)?;
    Some(&rest[..end + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_text_in_a_disjunction_suggests_a_membership_test() {
        let source = "a && (kind == \"x\" || \"y\")";
        let at = source.find("\"y\"").unwrap();
        assert_eq!(
            bare_text(source, at).1,
            "to test `kind` against both values, write `kind in [\"x\", \"y\"]`"
        );
        assert!(
            bare_text("\"y\"", 0)
                .1
                .starts_with("to test a field against")
        );
    }

    #[test]
    fn words_for_operators_get_their_symbols() {
        assert_eq!(
            word_operator("and").unwrap().1,
            "write `&&` for `and`, as in `a && b`"
        );
        assert!(word_operator("nor").is_none());
    }
}
