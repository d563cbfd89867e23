//! YAML that does not read as it is written: the raw text of each file is
//! read line by line, before it is parsed, for the two ways plain YAML
//! changes what an analyst meant without any parse error:
//!
//! - a value that starts with `!`, `&` or `*` is a tag, an anchor or an
//!   alias, so `when: !diagnosed && commercial` would load as another
//!   expression: an error, whose fix is to quote the value;
//! - a ` #` inside an unquoted text (a title, description or rationale)
//!   starts a comment, so the text an auditor reads stops there: a warning.
//!
//! A tab in the indentation is an error here too, at its own line and
//! column (the parser reports it where the next token starts).
//!
//! The reading is by lines and indentation, as the policy files are written
//! (block mappings and lists); flow collections and quoted texts are skipped.

use crate::diagnostic::{Code, Loc, Problem};

/// The keys whose values are free texts a reader sees.
const PROSE_KEYS: &[&str] = &["title", "description", "rationale", "fee", "covers"];

/// The keys whose values are expressions.
const EXPRESSION_KEYS: &[&str] = &["when", "check"];

/// What the line being read continues.
enum Mode {
    /// Nothing: the line starts a key or an item.
    Normal,
    /// A block scalar (`|`, `>`) under a key at this column.
    Block(usize),
    /// A plain or quoted value under a key at this column; a prose key's
    /// unquoted text is checked for comments on its continuation lines.
    Value { column: usize, prose: bool },
}

/// The problems of `text`, the file `display`: errors (values YAML would
/// read as a tag, an anchor or an alias) and warnings (texts cut short by
/// a comment), in that order.
pub(crate) fn yaml_style(display: &str, text: &str) -> (Vec<Problem>, Vec<Problem>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let mut mode = Mode::Normal;
    let mut start = 0;
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let line = Line {
            display,
            text: raw_line.trim_end_matches(['\n', '\r']),
            number: index + 1,
            offset: start,
        };
        start += raw_line.len();
        let content = line.text.trim_start_matches(' ');
        let indent = line.text.len() - content.len();
        if content.trim().is_empty() {
            continue;
        }
        match mode {
            Mode::Block(column) if indent > column => continue,
            Mode::Value { column, prose } if indent > column && !content.starts_with('#') => {
                if prose {
                    warnings.extend(line.comment(indent, "a text"));
                }
                continue;
            }
            _ => mode = Mode::Normal,
        }
        if content.starts_with('\t') && !content.trim_start().starts_with('#') {
            let problem = Problem::error(
                Code::Yaml,
                "a tab in the indentation, where YAML allows only spaces",
                Some(line.loc(indent, 1)),
            );
            errors.push(problem.with_help("indent with spaces: YAML does not accept tabs there"));
            continue;
        }
        if content.starts_with('#') {
            continue;
        }
        mode = line.entry(indent, &mut errors, &mut warnings);
    }
    (errors, warnings)
}

/// One line of a file, with where it starts.
struct Line<'a> {
    display: &'a str,
    text: &'a str,
    number: usize,
    offset: usize,
}

impl Line<'_> {
    /// Reads a line that starts an entry (`key: value`, `- value`,
    /// `- key: value`) at byte `at`, and what the next lines continue.
    fn entry(&self, mut at: usize, errors: &mut Vec<Problem>, warnings: &mut Vec<Problem>) -> Mode {
        while let Some(rest) = self.text[at..].strip_prefix('-')
            && (rest.is_empty() || rest.starts_with(' '))
        {
            at += 1 + (rest.len() - rest.trim_start_matches(' ').len());
        }
        let column = at;
        let rest = &self.text[at..];
        let (key, value_at) = match key_of(rest) {
            Some((key, value)) => (Some(key), at + value),
            None => (None, at),
        };
        let value = &self.text[value_at..];
        if value.is_empty() || value.starts_with('#') {
            return Mode::Normal;
        }
        if value.starts_with(['|', '>']) {
            return Mode::Block(column);
        }
        if let Some(marker) = value.chars().next().filter(|c| "!&*".contains(*c)) {
            errors.push(self.marker(marker, key, value, value_at));
            return Mode::Value {
                column,
                prose: false,
            };
        }
        let quoted = value.starts_with(['"', '\'', '[', '{']);
        let prose = !quoted && key.is_some_and(|k| PROSE_KEYS.contains(&k));
        if prose && let Some(key) = key {
            warnings.extend(self.comment(value_at, &format!("the `{key}`")));
        }
        Mode::Value { column, prose }
    }

    /// The error of a value that starts with `marker`.
    fn marker(&self, marker: char, key: Option<&str>, value: &str, at: usize) -> Problem {
        let what = match marker {
            '!' => "a tag",
            '&' => "an anchor",
            _ => "an alias",
        };
        let expression = key.is_some_and(|k| EXPRESSION_KEYS.contains(&k));
        let kind = if expression { "expression" } else { "text" };
        let message = format!(
            "YAML reads the `{marker}` that starts this value as {what}, not as part of the {kind}"
        );
        let value = value.split(" #").next().unwrap_or(value).trim_end();
        let quoted = match value.contains('"') {
            true => format!("'{}'", value.replace('\'', "''")),
            false => format!("\"{value}\""),
        };
        let written = match key {
            Some(key) => format!("{key}: {quoted}"),
            None => quoted,
        };
        Problem::error(Code::YamlMarker, message, Some(self.loc(at, 1)))
            .with_help(format!("put the {kind} in quotes: `{written}`"))
    }

    /// A warning if the unquoted text from byte `from` holds a comment.
    fn comment(&self, from: usize, what: &str) -> Option<Problem> {
        let text = &self.text[from..];
        let hash = if text.starts_with('#') {
            0
        } else {
            [" #", "\t#"].iter().filter_map(|p| text.find(p)).min()? + 1
        };
        let message = format!(
            "{what} stops before this `#`: YAML reads what follows it as a comment, not as text"
        );
        let problem = Problem::warning(Code::CutText, message, Some(self.loc(from + hash, 1)));
        Some(problem.with_help("put the whole text in quotes to keep the `#` and what follows it"))
    }

    fn loc(&self, at: usize, len: usize) -> Loc {
        Loc {
            file: self.display.into(),
            line: self.number,
            column: self.text[..at].chars().count() + 1,
            offset: self.offset + at,
            len,
        }
    }
}

/// The plain key that starts `text`, and the byte where its value starts.
fn key_of(text: &str) -> Option<(&str, usize)> {
    if text.starts_with(['"', '\'', '[', '{', '!', '&', '*', '#']) {
        return None;
    }
    let colon = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(str::len))?;
    let key = &text[..colon];
    if key.contains(" #") {
        return None;
    }
    let after = text[colon + 1..].trim_start_matches(' ');
    Some((key.trim_end(), text.len() - after.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| format!("{}: {}", p.location.as_ref().unwrap(), p.message))
            .collect()
    }

    #[test]
    fn a_tag_an_anchor_and_an_alias_are_errors_with_the_quoted_value() {
        let text = "rules:\n  - id: a\n    when: !seen && known\n    title: &x T\n  - *y\n";
        let (errors, warnings) = yaml_style("p.yaml", text);
        assert!(warnings.is_empty());
        assert_eq!(
            found(&errors),
            [
                "p.yaml:3:11: YAML reads the `!` that starts this value as a tag, not as part of the expression",
                "p.yaml:4:12: YAML reads the `&` that starts this value as an anchor, not as part of the text",
                "p.yaml:5:5: YAML reads the `*` that starts this value as an alias, not as part of the text",
            ]
        );
        assert_eq!(
            errors[0].help.as_deref(),
            Some("put the expression in quotes: `when: \"!seen && known\"`")
        );
        assert_eq!(errors[0].location.as_ref().unwrap().offset, 27);
    }

    #[test]
    fn a_tab_in_the_indentation_is_an_error_at_its_own_place() {
        let (errors, _) = yaml_style("p.yaml", "a:\n  b: 1\n \tc: 2\n");
        assert_eq!(
            found(&errors),
            ["p.yaml:3:2: a tab in the indentation, where YAML allows only spaces"]
        );
    }

    #[test]
    fn a_comment_in_an_unquoted_text_is_a_warning_and_quoted_texts_are_not() {
        let text = concat!(
            "a:\n  rationale: Plan #1 wins # not text\n",
            "  title: \"Plan #1\"\n  outcome: x # a comment\n",
            "  description: first line\n    second # cut\n",
            "  fee: |\n    block # kept\n"
        );
        let (errors, warnings) = yaml_style("p.yaml", text);
        assert!(errors.is_empty());
        assert_eq!(
            found(&warnings),
            [
                "p.yaml:2:19: the `rationale` stops before this `#`: YAML reads what follows it as a comment, not as text",
                "p.yaml:6:12: a text stops before this `#`: YAML reads what follows it as a comment, not as text",
            ]
        );
    }
}
