//! Hidden characters: a policy is read by people before it runs, so no file
//! of a bundle may hold a character that is invisible or that reorders the
//! text around it ("Trojan source"): control characters other than tabs and
//! line breaks, bidirectional controls, zero-width characters, line and
//! paragraph separators. The raw text of each file is checked here, before
//! it is parsed; texts that YAML escapes write (`"\u202E"`) are checked
//! where the linker reads them (`prose`, and each value's own check).

use crate::diagnostic::{Code, Loc, Problem, describe_hidden, is_hidden};

/// The most hidden characters reported for one file.
const MAX_REPORTED: usize = 10;

/// What to do about a hidden character.
pub(crate) const HIDDEN_HELP: &str = concat!(
    "such a character is invisible or reorders the text around it, ",
    "so the policy would not read as it runs; remove it"
);

/// A problem for each hidden character in `text` (the file `display`), up
/// to ten, at its line and column. A byte-order mark that opens the file is
/// allowed.
pub(crate) fn hidden_characters(display: &str, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let (mut line, mut column) = (1, 1);
    for (offset, c) in text.char_indices() {
        if is_hidden(c) && !(offset == 0 && c == '\u{FEFF}') {
            let loc = Loc {
                file: display.into(),
                line,
                column,
                offset,
                len: c.len_utf8(),
            };
            let message = format!("the file holds {}", describe_hidden(c));
            problems.push(Problem::error(Code::BadText, message, Some(loc)).with_help(HIDDEN_HELP));
            if problems.len() == MAX_REPORTED {
                break;
            }
        }
        if c == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    problems
}

/// A problem if `value`, `what` at `loc`, holds a hidden character (written
/// with a YAML escape, since the raw text has none).
pub(crate) fn hidden_in(what: &str, value: &str, loc: &Loc) -> Option<Problem> {
    let c = value.chars().find(|&c| is_hidden(c))?;
    let message = format!("{what} holds {}", describe_hidden(c));
    Some(Problem::error(Code::BadText, message, Some(loc.clone())).with_help(HIDDEN_HELP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hidden_character_is_found_at_its_place() {
        let text = "\u{FEFF}a: x\nb: \"y\u{202E}z\"\nc: \u{7}\u{200B}\t\r\n";
        let problems = hidden_characters("p.yaml", text);
        let found: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.location.as_ref().unwrap(), p.message))
            .collect();
        assert_eq!(
            found,
            [
                "p.yaml:2:6: the file holds U+202E (a bidirectional control)",
                "p.yaml:3:4: the file holds U+0007 (a control character)",
                "p.yaml:3:5: the file holds U+200B (a zero-width character)",
            ]
        );
        assert!(
            problems
                .iter()
                .all(|p| p.help.as_deref() == Some(HIDDEN_HELP))
        );
        assert_eq!(problems[0].location.as_ref().unwrap().offset, 13);
    }

    #[test]
    fn at_most_ten_are_reported() {
        assert_eq!(hidden_characters("p.yaml", &"\u{7}".repeat(100)).len(), 10);
    }
}
