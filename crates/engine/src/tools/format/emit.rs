//! Writes a parsed file in the canonical layout: two spaces a level, list
//! items indented under their key, keys in their documented order, the
//! lightest quoting that keeps each value, comments where they were written,
//! at most one blank line where the author left one.

use std::collections::BTreeMap;

use granit_parser::ScalarStyle;

use super::error::FormatError;
use super::order::{FileKind, is_expression, key_order};
use super::tree::{Comment, Document, Entry, Item, Node, Scalar};
use crate::diagnostic::is_unprintable;

/// An expression whose line would be longer than this goes into a literal block.
const MAX_LINE: usize = 100;
/// Folded texts (`>`) are wrapped at this column.
const WRAP: usize = 80;

struct Out {
    kind: FileKind,
    lines: Vec<String>,
    right: BTreeMap<usize, String>,
}

/// The canonical text of `doc`.
pub(super) fn emit(doc: &Document, kind: FileKind) -> Result<String, FormatError> {
    let mut out = Out {
        kind,
        lines: Vec::new(),
        right: doc.right.clone(),
    };
    if doc.explicit_start {
        out.lines.push("---".into());
    }
    match &doc.root {
        Some(Node::Map {
            flow: false,
            entries,
        }) => out.map(entries, 0, None, &mut Vec::new())?,
        Some(Node::Seq { flow: false, items }) => out.seq(items, 0, &mut Vec::new())?,
        Some(node @ Node::Scalar(_))
        | Some(node @ Node::Seq { .. })
        | Some(node @ Node::Map { .. }) => {
            let text = out.flow(node, &mut Vec::new())?;
            out.lines.push(text);
        }
        None => {}
    }
    out.comments(&doc.trailing, 0, out.lines.is_empty());
    if let Some((line, _)) = out.right.first_key_value() {
        return Err(FormatError::at(
            *line,
            1,
            "a comment at the end of this line sits where the formatter cannot keep it (inside a multi-line value or list); move it to a line of its own".into(),
        ));
    }
    let mut text = out.lines.join("\n");
    text.push('\n');
    Ok(text)
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

impl Out {
    /// Pushes `text`, with the comment written at the end of source line `line`.
    fn push(&mut self, mut text: String, line: usize) {
        if let Some(comment) = self.right.remove(&line) {
            text.push_str(" #");
            text.push_str(&comment);
        }
        self.lines.push(text);
    }

    fn blank(&mut self, wanted: bool) {
        if wanted && self.lines.last().is_some_and(|line| !line.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// Comments above a node; `first`: the node opens its collection, so no blank line before.
    fn comments(&mut self, comments: &[Comment], indent: usize, first: bool) {
        for (n, comment) in comments.iter().enumerate() {
            self.blank(comment.blank_before && !(first && n == 0));
            self.lines
                .push(format!("{}#{}", spaces(indent), comment.text));
        }
    }

    /// A block mapping at `indent`; with `dash`, its first key goes on a list item's `- ` line.
    fn map(
        &mut self,
        entries: &[Entry],
        indent: usize,
        dash: Option<usize>,
        path: &mut Vec<String>,
    ) -> Result<(), FormatError> {
        let mut entries = entries.to_vec();
        if path.is_empty() && dash.is_none() {
            // The file's header comments stay at its top, whatever key comes first.
            if let Some(first) = entries.first_mut() {
                let header = std::mem::take(&mut first.above);
                self.comments(&header, 0, true);
                self.blank(first.blank_before && !header.is_empty());
                first.blank_before = false;
            }
        }
        for (n, entry) in ordered(&entries, key_order(self.kind, path))
            .into_iter()
            .enumerate()
        {
            let first = n == 0;
            let lead = match dash {
                Some(at) if first => at,
                _ => indent,
            };
            self.comments(&entry.above, lead, first);
            self.blank(entry.blank_before && !(first && entry.above.is_empty()));
            let head = match dash {
                Some(at) if first => format!("{}- ", spaces(at)),
                _ => spaces(indent),
            };
            let head = format!("{head}{}:", inline(&entry.key, false)?);
            path.push(entry.key.value.clone());
            let done = self.value(head, &entry.value, indent, entry.key.line, path);
            path.pop();
            done?;
        }
        Ok(())
    }

    /// A block list at `indent`.
    fn seq(
        &mut self,
        items: &[Item],
        indent: usize,
        path: &mut Vec<String>,
    ) -> Result<(), FormatError> {
        path.push("-".into());
        for (n, item) in items.iter().enumerate() {
            let first = n == 0;
            self.comments(&item.above, indent, first);
            self.blank(item.blank_before && !(first && item.above.is_empty()));
            match &item.node {
                Node::Map {
                    flow: false,
                    entries,
                } if !entries.is_empty() => self.map(entries, indent + 2, Some(indent), path)?,
                Node::Seq { flow: false, .. } => {
                    return Err(FormatError::at(
                        0,
                        0,
                        "a list written directly inside a list (`- - …`): the formatter does not rewrite it".into(),
                    ));
                }
                node => {
                    let line = first_line(node);
                    self.value(format!("{}-", spaces(indent)), node, indent, line, path)?;
                }
            }
        }
        path.pop();
        Ok(())
    }

    /// `head` (`key:` or `-`) and the value after it.
    fn value(
        &mut self,
        head: String,
        node: &Node,
        indent: usize,
        line: usize,
        path: &mut Vec<String>,
    ) -> Result<(), FormatError> {
        match node {
            Node::Map {
                flow: false,
                entries,
            } if !entries.is_empty() => {
                self.push(head, line);
                self.map(entries, indent + 2, None, path)
            }
            Node::Seq { flow: false, items } if !items.is_empty() => {
                self.push(head, line);
                self.seq(items, indent + 2, path)
            }
            Node::Scalar(scalar)
                if matches!(scalar.style, ScalarStyle::Literal | ScalarStyle::Folded) =>
            {
                self.block(head, scalar, indent + 2)
            }
            Node::Scalar(scalar) => {
                let text = inline(scalar, false)?;
                let long = head.len() + 1 + text.len() > MAX_LINE;
                if long && is_expression(self.kind, path) && literal_fits(&scalar.value) {
                    self.push(format!("{head} |-"), line);
                    self.lines
                        .push(format!("{}{}", spaces(indent + 2), scalar.value));
                    Ok(())
                } else if text.is_empty() {
                    self.push(head, line);
                    Ok(())
                } else {
                    self.push(format!("{head} {text}"), line);
                    Ok(())
                }
            }
            node => {
                let text = self.flow(node, path)?;
                self.push(format!("{head} {text}"), line);
                Ok(())
            }
        }
    }

    /// A literal (`|`) or folded (`>`) block scalar, its lines at `indent`.
    fn block(&mut self, head: String, scalar: &Scalar, indent: usize) -> Result<(), FormatError> {
        let refuse = |why: &str| {
            Err(FormatError::at(
                scalar.line,
                1,
                format!("a block text {why}: the formatter does not rewrite it"),
            ))
        };
        let (body, chomp) = match scalar.value.strip_suffix('\n') {
            Some(body) if body.ends_with('\n') => return refuse("that keeps trailing blank lines"),
            Some(body) => (body, ""),
            None => (scalar.value.as_str(), "-"),
        };
        if body.is_empty() || body.starts_with([' ', '\t']) {
            return refuse("that is empty or starts with a space");
        }
        let literal = scalar.style == ScalarStyle::Literal;
        self.push(
            format!("{head} {}{chomp}", if literal { '|' } else { '>' }),
            scalar.line,
        );
        if literal {
            for text in body.split('\n') {
                self.lines.push(if text.is_empty() {
                    String::new()
                } else {
                    format!("{}{text}", spaces(indent))
                });
            }
            return Ok(());
        }
        for (n, paragraph) in body.split('\n').enumerate() {
            if paragraph.is_empty()
                || paragraph.starts_with(' ')
                || paragraph.ends_with(' ')
                || paragraph.contains("  ")
                || paragraph.contains('\t')
            {
                return refuse("(`>`) whose spacing folding would not keep");
            }
            if n > 0 {
                self.lines.push(String::new());
            }
            for text in wrap(paragraph, WRAP.saturating_sub(indent).max(40)) {
                self.lines.push(format!("{}{text}", spaces(indent)));
            }
        }
        Ok(())
    }

    /// A node written on one line: a scalar, `[a, b]` or `{ k: v }`.
    fn flow(&mut self, node: &Node, path: &mut Vec<String>) -> Result<String, FormatError> {
        Ok(match node {
            Node::Scalar(scalar) => inline(scalar, true)?,
            Node::Seq { items, .. } => {
                path.push("-".into());
                let parts = items
                    .iter()
                    .map(|item| self.flow(&item.node, path))
                    .collect::<Result<Vec<_>, _>>();
                path.pop();
                format!("[{}]", parts?.join(", "))
            }
            Node::Map { entries, .. } if entries.is_empty() => "{}".into(),
            Node::Map { entries, .. } => {
                let mut parts = Vec::new();
                for entry in ordered(entries, key_order(self.kind, path)) {
                    path.push(entry.key.value.clone());
                    let value = self.flow(&entry.value, path);
                    path.pop();
                    parts.push(format!("{}: {}", inline(&entry.key, true)?, value?));
                }
                format!("{{ {} }}", parts.join(", "))
            }
        })
    }
}

/// The entries in canonical order: the known keys in `order`'s order, then the others as written.
fn ordered<'a>(entries: &'a [Entry], order: Option<&[&str]>) -> Vec<&'a Entry> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    if let Some(order) = order {
        sorted.sort_by_key(|entry| {
            order
                .iter()
                .position(|key| *key == entry.key.value)
                .unwrap_or(order.len())
        });
    }
    sorted
}

fn first_line(node: &Node) -> usize {
    match node {
        Node::Scalar(scalar) => scalar.line,
        Node::Seq { items, .. } => items.first().map_or(0, |item| first_line(&item.node)),
        Node::Map { entries, .. } => entries.first().map_or(0, |entry| entry.key.line),
    }
}

/// Whether `value` can be a one-line literal block unchanged.
fn literal_fits(value: &str) -> bool {
    !value.is_empty()
        && !value.contains('\n')
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
}

/// `text` cut at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

/// A scalar on one line: as written if it was plain, else the lightest quoting that keeps it.
pub(super) fn inline(scalar: &Scalar, in_flow: bool) -> Result<String, FormatError> {
    match scalar.style {
        ScalarStyle::Plain if !scalar.multiline || plain_text(&scalar.value, in_flow) => {
            Ok(scalar.value.clone())
        }
        ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            Ok(if plain_text(&scalar.value, in_flow) {
                scalar.value.clone()
            } else {
                quoted(&scalar.value)
            })
        }
        _ => Err(FormatError::at(
            scalar.line,
            1,
            "a block text (`|` or `>`) inside a `[…]` or `{…}` list".into(),
        )),
    }
}

/// Whether `value` can be written without quotes and still be read as this text
/// (never as a number, a boolean or null) in any YAML reader. Brackets and
/// braces (a `{field}` template) keep their quotes, so they never read as a
/// list or a mapping.
pub(super) fn plain_text(value: &str, in_flow: bool) -> bool {
    const WORDS: [&str; 13] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "infinity",
        "none",
    ];
    let Some(first) = value.chars().next() else {
        return false;
    };
    first.is_alphabetic()
        && !WORDS.contains(&value.to_ascii_lowercase().as_str())
        && !value.ends_with([' ', ':'])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.chars().any(|c| c == '\t' || is_unprintable(c))
        && !value.contains(['[', ']', '{', '}'])
        && !(in_flow && value.contains([',', ':', '#']))
}

/// `value` in double quotes (escaped where needed), or in single quotes when
/// it holds a `"` (as many expressions do) and no `'`.
fn quoted(value: &str) -> String {
    let shown = !value
        .chars()
        .any(|c| c == '\n' || c == '\t' || is_unprintable(c));
    if shown && value.contains('"') && !value.contains('\'') {
        return format!("'{value}'");
    }
    let mut out = String::from('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if is_unprintable(c) => {
                let code = u32::from(c);
                if code <= 0xFFFF {
                    out.push_str(&format!("\\u{code:04X}"));
                } else {
                    out.push_str(&format!("\\U{code:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
