//! A YAML file as a tree that keeps what its reader sees beside its data:
//! each scalar's style and line, each comment and each blank line. Built from
//! the parser's events and spans; what the formatter does not handle (tags,
//! anchors, aliases, several documents, comments inside `[…]` or `{…}`) is
//! refused here, before anything is written.

use std::collections::BTreeMap;

use granit_parser::{Event, Parser, Placement, ScalarStyle, StructureStyle};

use super::error::FormatError;

/// A comment on a line of its own: its text after `#`.
#[derive(Debug, Clone)]
pub(super) struct Comment {
    pub text: String,
    /// A blank line comes right before it.
    pub blank_before: bool,
}

/// A scalar, with how it was written.
#[derive(Debug, Clone)]
pub(super) struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    /// The line it starts on.
    pub line: usize,
    /// It spans more than one line (a plain or quoted scalar folded by YAML).
    pub multiline: bool,
}

/// A node: a scalar, a list or a mapping (`flow` when written `[…]`/`{…}`).
#[derive(Debug, Clone)]
pub(super) enum Node {
    Scalar(Scalar),
    Seq { flow: bool, items: Vec<Item> },
    Map { flow: bool, entries: Vec<Entry> },
}

/// A list item and the comments written above it.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub above: Vec<Comment>,
    pub blank_before: bool,
    pub node: Node,
}

/// A mapping entry and the comments written above it.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub above: Vec<Comment>,
    pub blank_before: bool,
    pub key: Scalar,
    pub value: Node,
}

/// One YAML document.
#[derive(Debug, Clone)]
pub(super) struct Document {
    /// Written with `---`.
    pub explicit_start: bool,
    pub root: Option<Node>,
    /// Comments after the last node.
    pub trailing: Vec<Comment>,
    /// Comments at the end of a line, by line.
    pub right: BTreeMap<usize, String>,
}

/// What an open collection has gathered so far.
enum Frame {
    Seq {
        flow: bool,
        meta: Meta,
        items: Vec<Item>,
    },
    Map {
        flow: bool,
        meta: Meta,
        entries: Vec<Entry>,
        key: Option<(Scalar, Meta)>,
    },
}

/// The comments above a node and whether a blank line precedes it.
#[derive(Default)]
struct Meta {
    above: Vec<Comment>,
    blank_before: bool,
}

struct Builder<'a> {
    lines: Vec<&'a str>,
    stack: Vec<Frame>,
    pending: Vec<Comment>,
    documents: usize,
    doc: Document,
    /// Every comment the parser reported, to prove none is dropped.
    seen: Vec<String>,
}

/// Parses `text` into its document, or says why the formatter will not.
pub(super) fn parse(text: &str) -> Result<Document, FormatError> {
    let mut builder = Builder {
        lines: text.lines().collect(),
        stack: Vec::new(),
        pending: Vec::new(),
        documents: 0,
        seen: Vec::new(),
        doc: Document {
            explicit_start: false,
            root: None,
            trailing: Vec::new(),
            right: BTreeMap::new(),
        },
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|error| {
            let mark = error.marker();
            FormatError::at(
                mark.line(),
                mark.col() + 1,
                format!("this is not valid YAML ({})", error.info()),
            )
        })?;
        // A tag is reported where it is written, not where its node starts.
        let col = span.tag_start.map_or(span.start.col(), |tag| tag.col());
        builder.event(event, span.start.line(), span.end.line(), col)?;
    }
    builder.doc.trailing = std::mem::take(&mut builder.pending);
    builder.seen.sort();
    if comments(&builder.doc) != builder.seen {
        return Err(FormatError::at(
            0,
            0,
            "a comment sits where the formatter cannot keep it".into(),
        ));
    }
    Ok(builder.doc)
}

impl Builder<'_> {
    /// Whether the line before `line` (1-based) is blank.
    fn blank_before(&self, line: usize) -> bool {
        line >= 2
            && self
                .lines
                .get(line - 2)
                .is_some_and(|text| text.trim().is_empty())
    }

    fn meta(&mut self, line: usize) -> Meta {
        Meta {
            above: std::mem::take(&mut self.pending),
            blank_before: self.blank_before(line),
        }
    }

    fn in_flow(&self) -> bool {
        self.stack.iter().any(|frame| match frame {
            Frame::Seq { flow, .. } | Frame::Map { flow, .. } => *flow,
        })
    }

    fn event(
        &mut self,
        event: Event<'_>,
        line: usize,
        end_line: usize,
        col: usize,
    ) -> Result<(), FormatError> {
        let refuse = |what: &str| {
            Err(FormatError::at(
                line,
                col + 1,
                format!(
                    "{what}: the formatter does not rewrite it; if this is an expression or a text, put it in quotes"
                ),
            ))
        };
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(explicit, _) => {
                self.documents += 1;
                if self.documents > 1 {
                    return refuse("a second YAML document in the file");
                }
                self.doc.explicit_start = explicit;
            }
            Event::Comment(text, placement) => {
                self.seen.push(text.to_string());
                if placement == Placement::Right {
                    self.doc.right.insert(line, text.into_owned());
                } else if self.in_flow() {
                    return refuse("a comment inside a `[…]` or `{…}` list");
                } else {
                    let blank_before = self.blank_before(line);
                    self.pending.push(Comment {
                        text: text.into_owned(),
                        blank_before,
                    });
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                if tag.is_some() {
                    return refuse("a YAML tag (`!`)");
                }
                if anchor != 0 {
                    return refuse("a YAML anchor (`&`)");
                }
                let scalar = Scalar {
                    value: value.into_owned(),
                    style,
                    line,
                    multiline: end_line > line
                        && matches!(
                            style,
                            ScalarStyle::Plain
                                | ScalarStyle::SingleQuoted
                                | ScalarStyle::DoubleQuoted
                        ),
                };
                self.scalar(scalar)?;
            }
            Event::SequenceStart(style, anchor, tag) => {
                self.open(line, col, style, anchor, tag.is_some(), false)?;
            }
            Event::MappingStart(style, anchor, tag) => {
                self.open(line, col, style, anchor, tag.is_some(), true)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            _ => return refuse("YAML the formatter does not know (an alias `*`?)"),
        }
        Ok(())
    }

    fn open(
        &mut self,
        line: usize,
        col: usize,
        style: StructureStyle,
        anchor: usize,
        tagged: bool,
        mapping: bool,
    ) -> Result<(), FormatError> {
        if anchor != 0 || tagged {
            return Err(FormatError::at(
                line,
                col + 1,
                "a YAML anchor (`&`) or tag (`!`) on a list or mapping: the formatter does not rewrite it".into(),
            ));
        }
        let flow = style == StructureStyle::Flow;
        let meta = self.meta(line);
        self.stack.push(if mapping {
            Frame::Map {
                flow,
                meta,
                entries: Vec::new(),
                key: None,
            }
        } else {
            Frame::Seq {
                flow,
                meta,
                items: Vec::new(),
            }
        });
        Ok(())
    }

    fn scalar(&mut self, scalar: Scalar) -> Result<(), FormatError> {
        if matches!(self.stack.last(), Some(Frame::Map { key: None, .. })) {
            let meta = self.meta(scalar.line);
            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                *key = Some((scalar, meta));
            }
            return Ok(());
        }
        let meta = if matches!(self.stack.last(), Some(Frame::Seq { .. })) {
            self.meta(scalar.line)
        } else {
            Meta::default()
        };
        self.place(Node::Scalar(scalar), meta)
    }

    fn close(&mut self) -> Result<(), FormatError> {
        let Some(frame) = self.stack.pop() else {
            return Err(FormatError::at(0, 0, "unbalanced YAML events".into()));
        };
        let (node, meta) = match frame {
            Frame::Seq { flow, meta, items } => (Node::Seq { flow, items }, meta),
            Frame::Map {
                flow,
                meta,
                entries,
                ..
            } => (Node::Map { flow, entries }, meta),
        };
        self.place(node, meta)
    }

    /// Puts a finished node where it belongs: the root, a list item, a
    /// mapping's value (a mapping's key is always a scalar).
    fn place(&mut self, mut node: Node, mut meta: Meta) -> Result<(), FormatError> {
        match self.stack.last_mut() {
            None => {
                give_first_child(&mut node, &mut meta.above);
                self.pending.append(&mut meta.above);
                self.doc.root = Some(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(Item {
                above: meta.above,
                blank_before: meta.blank_before,
                node,
            }),
            Some(Frame::Map { key, entries, .. }) => {
                let Some((key, key_meta)) = key.take() else {
                    return Err(FormatError::at(
                        0,
                        0,
                        "a mapping key that is a list or a mapping".into(),
                    ));
                };
                // Comments between a key and its collection go to the first child.
                if !meta.above.is_empty() {
                    give_first_child(&mut node, &mut meta.above);
                    self.pending.append(&mut meta.above);
                }
                entries.push(Entry {
                    above: key_meta.above,
                    blank_before: key_meta.blank_before,
                    key,
                    value: node,
                });
            }
        }
        Ok(())
    }
}

/// Moves `above` onto the first child of `node`, if it has one.
fn give_first_child(node: &mut Node, above: &mut Vec<Comment>) {
    let first = match node {
        Node::Seq { items, .. } => items.first_mut().map(|item| &mut item.above),
        Node::Map { entries, .. } => entries.first_mut().map(|entry| &mut entry.above),
        Node::Scalar(_) => None,
    };
    if let Some(first) = first {
        let mut moved = std::mem::take(above);
        moved.append(first);
        *first = moved;
    }
}

/// Every comment's text, sorted.
pub(super) fn comments(doc: &Document) -> Vec<String> {
    fn walk(node: &Node, out: &mut Vec<String>) {
        match node {
            Node::Scalar(_) => {}
            Node::Seq { items, .. } => {
                for item in items {
                    out.extend(item.above.iter().map(|c| c.text.clone()));
                    walk(&item.node, out);
                }
            }
            Node::Map { entries, .. } => {
                for entry in entries {
                    out.extend(entry.above.iter().map(|c| c.text.clone()));
                    walk(&entry.value, out);
                }
            }
        }
    }
    let mut out: Vec<String> = doc.trailing.iter().map(|c| c.text.clone()).collect();
    out.extend(doc.right.values().cloned());
    if let Some(root) = &doc.root {
        walk(root, &mut out);
    }
    out.sort();
    out
}
