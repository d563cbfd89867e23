//! Text from outside (a ticket's values above all) made safe to print for a
//! person: no control character reaches a terminal or a page as itself, so a
//! value cannot move the cursor, recolour the screen, reverse the text or
//! start a line of its own.

use std::borrow::Cow;

/// Whether `c` is a character [`printable`] writes as an escape: C0 controls
/// (line breaks included), DEL, C1 controls, the bidirectional controls
/// (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) and the line
/// and paragraph separators (U+2028, U+2029).
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` with every character [`is_unprintable`] written as a visible
/// escape: `\n`, `\r` and `\t` for those, `\u{1b}` (its hex code) for any
/// other. Text with none is returned as it is, without a copy.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Like [`printable`], but line feeds, carriage returns and tabs are kept:
/// for formats where they are plain white space, such as HTML and XML.
pub fn printable_keeping_lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| matches!(c, '\n' | '\r' | '\t'))
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unprintable(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_unprintable(c) || keep(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(
            printable("T-1\u{1b}[31mRED\n| x |\u{7f}\u{85}\u{202e}\u{2066}\t\r"),
            "T-1\\u{1b}[31mRED\\n| x |\\u{7f}\\u{85}\\u{202e}\\u{2066}\\t\\r"
        );
        assert_eq!(printable_keeping_lines("a\nb\tc\u{1b}"), "a\nb\tc\\u{1b}");
    }

    #[test]
    fn text_without_any_is_not_copied() {
        for text in ["T-1101", "é ü 日本 🎉", "a\\u{1b}", ""] {
            assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
        }
    }
}
