//! The policy files as written: serde structs mirroring the YAML, with the
//! source location of every name and expression kept for diagnostics.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::{Code, Loc, Problem, byte_offset, lowercase_first, plain_type_names};

pub(crate) type Text = Spanned<String>;

/// `bundle.yaml`: what the bundle is called and which files it consists of.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub name: Text,
    pub version: Text,
    #[serde(default)]
    pub description: Option<String>,
    pub files: Vec<Text>,
    #[serde(default)]
    pub limits: Limits,
}

/// Sandbox limits for every expression of the bundle; unset ones keep their
/// defaults, and each has a range (`load::limits`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limits {
    pub max_operations: Option<Spanned<u64>>,
    pub max_expression_depth: Option<Spanned<u64>>,
    pub max_string_size: Option<Spanned<u64>>,
    pub max_array_size: Option<Spanned<u64>>,
    pub max_map_size: Option<Spanned<u64>>,
}

/// One policy file: any of the sections, each merged with the same section of
/// the other files (`rules` are appended in manifest order).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    #[serde(default)]
    pub ticket: Option<Spanned<TicketSchema>>,
    #[serde(default)]
    pub roles: Entries<Described>,
    #[serde(default)]
    pub actions: Entries<Action>,
    #[serde(default)]
    pub outcomes: Entries<Outcome>,
    #[serde(default)]
    pub vehicles: Entries<Vehicle>,
    #[serde(default)]
    pub sets: Entries<Vec<Text>>,
    #[serde(default)]
    pub conditions: Entries<Text>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub paths: Entries<EscalationPath>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketSchema {
    /// The field that identifies a ticket in decisions.
    pub id_field: Text,
    /// The field that holds the requester's role.
    pub role_field: Text,
    pub fields: Entries<Field>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Field {
    #[serde(rename = "type")]
    pub kind: Text,
    #[serde(default)]
    pub values: Option<Vec<Text>>,
    /// Named sets whose members together are the allowed values.
    #[serde(default)]
    pub values_from: Option<Vec<Text>>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub description: Option<String>,
    /// Replaced by a salted hash in decision logs (free text, personal data).
    #[serde(default)]
    pub mask: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Constraint {
    pub id: Text,
    /// Must be true for a valid ticket.
    pub check: Text,
    /// The field the problem is reported against.
    pub field: Text,
    /// What was expected, with `{field.path}` placeholders.
    pub expected: Text,
    /// The problem, with `{field.path}` placeholders.
    pub message: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Described {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Action {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub roles: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Outcome {
    pub title: String,
    pub description: String,
    /// An escalating outcome needs an escalation path to pick a vehicle.
    #[serde(default)]
    pub escalates: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Vehicle {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub fee: Option<String>,
    #[serde(default)]
    pub covers: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub id: Text,
    /// No `when` (or `when: true`) makes the rule a catch-all.
    #[serde(default)]
    pub when: Option<Text>,
    pub outcome: Text,
    pub action: Spanned<ActionRef>,
    #[serde(default)]
    pub path: Option<Text>,
    pub rationale: String,
}

/// An action, fixed or chosen by the value of an enum field.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ActionRef {
    Fixed(String),
    ByField(ActionByField),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionByField {
    pub by: String,
    pub cases: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalationPath {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub fallback: Option<Fallback>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
    pub id: Text,
    pub vehicle: Text,
    #[serde(default)]
    pub when: Option<Text>,
    pub rationale: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fallback {
    pub outcome: Text,
    pub action: Spanned<ActionRef>,
    pub rationale: String,
}

/// The free texts of a declaration (titles, descriptions, fees, rationales),
/// each with what to call it: the linker checks each for hidden characters.
pub(crate) trait Prose {
    /// Each text the declaration gives, with its key.
    fn prose(&self) -> Vec<(&'static str, &str)>;
}

/// The texts among `texts` that are given.
fn given<'a>(texts: &[(&'static str, Option<&'a str>)]) -> Vec<(&'static str, &'a str)> {
    texts.iter().filter_map(|&(k, t)| Some((k, t?))).collect()
}

impl Prose for Described {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        given(&[
            ("title", Some(&self.title)),
            ("description", self.description.as_deref()),
        ])
    }
}

impl Prose for Action {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        given(&[
            ("title", Some(&self.title)),
            ("description", self.description.as_deref()),
        ])
    }
}

impl Prose for Outcome {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        given(&[
            ("title", Some(&self.title)),
            ("description", Some(&self.description)),
        ])
    }
}

impl Prose for Vehicle {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        given(&[
            ("title", Some(&self.title)),
            ("description", Some(&self.description)),
            ("fee", self.fee.as_deref()),
            ("covers", self.covers.as_deref()),
        ])
    }
}

impl Prose for EscalationPath {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        given(&[
            ("title", Some(&self.title)),
            ("description", self.description.as_deref()),
        ])
    }
}

impl Prose for Rule {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        vec![("rationale", &self.rationale)]
    }
}

impl Prose for Step {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        vec![("rationale", &self.rationale)]
    }
}

impl Prose for Fallback {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        vec![("fallback rationale", &self.rationale)]
    }
}

impl Prose for Field {
    fn prose(&self) -> Vec<(&'static str, &str)> {
        given(&[("description", self.description.as_deref())])
    }
}

/// A YAML mapping kept in source order, keys with their locations.
#[derive(Debug)]
pub(crate) struct Entries<V>(pub Vec<(Text, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

/// Parses one YAML document, turning a parse error into a located problem.
pub(crate) fn parse_yaml<T: for<'de> Deserialize<'de>>(
    file: &str,
    text: &str,
) -> Result<T, Problem> {
    serde_saphyr::from_str(text).map_err(|error| {
        let message = error.without_snippet().to_string();
        // The location is reported by the problem itself, not in its message.
        let message = match message.rsplit_once(" at line ") {
            Some((head, place))
                if place
                    .chars()
                    .all(|c| c.is_ascii_digit() || ", column".contains(c)) =>
            {
                head.to_owned()
            }
            _ => message,
        };
        let location = error.location().map(|at| loc(file, text, &at));
        let (message, help) = plain(&message);
        let problem = Problem::error(Code::Yaml, message, location);
        match help {
            Some(help) => problem.with_help(help),
            None => problem,
        }
    })
}

/// The place of a YAML node, with the byte span to underline.
pub(crate) fn loc(file: &str, text: &str, at: &Location) -> Loc {
    let line = usize::try_from(at.line()).unwrap_or(0);
    let column = usize::try_from(at.column()).unwrap_or(0);
    let span = at.span();
    let offset = span
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
        .unwrap_or_else(|| byte_offset(text, line, column));
    let len = span
        .byte_len()
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(0);
    Loc {
        file: file.into(),
        line,
        column,
        offset,
        len,
    }
}

/// The parser's message in this project's words, with a hint where one helps.
fn plain(message: &str) -> (String, Option<&'static str>) {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return (
            format!("duplicate key `{key}`"),
            Some("a key may appear once in a mapping; remove or rename one"),
        );
    }
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        // The parser's budget: what a file may hold, so no file can take the
        // loader's time, memory or stack.
        let what = breach.split([' ', '{']).next().unwrap_or(breach);
        let message = match what {
            "Depth" => "the YAML nests deeper than 64 levels".to_owned(),
            "Nodes" => "the file holds more than 250000 YAML nodes".to_owned(),
            "Events" => "the file is longer than the YAML parser reads (1000000 events)".to_owned(),
            "Aliases" | "Anchors" | "AliasAnchorRatio" => {
                "the file uses more YAML aliases than the parser expands".to_owned()
            }
            _ => format!("the file is past a limit of the YAML parser ({breach})"),
        };
        return (message, Some("split the file, or flatten what it nests"));
    }
    if message == "recursion limit exceeded" {
        return (
            "the YAML nests too deeply".to_owned(),
            Some("split the file, or flatten what it nests"),
        );
    }
    if message.starts_with("multiple YAML documents detected") {
        return (
            "a policy file is one YAML document, and this one holds several".to_owned(),
            Some("remove the `---` line that starts the second"),
        );
    }
    if message.starts_with("data did not match any variant of untagged enum") {
        // The one untagged enum is an action reference.
        return (
            "expected an action: its id, or a mapping with `by` and `cases`".to_owned(),
            None,
        );
    }
    if let Some(plain) = plain_syntax(message) {
        return plain;
    }
    match message {
        "expected sequence start" => (
            "expected a list".to_owned(),
            Some("write a list as `[a, b]` or as lines starting with `- `"),
        ),
        "expected mapping start" => (
            "expected a mapping".to_owned(),
            Some("write a mapping as `key: value` lines or `{ key: value }`"),
        ),
        "expected string scalar" => ("expected a single value".to_owned(), None),
        _ => (lowercase_first(&plain_type_names(message)), None),
    }
}

/// The syntax errors an analyst makes most, in plain words with the fix.
fn plain_syntax(message: &str) -> Option<(String, Option<&'static str>)> {
    let (text, help) = match message {
        "mapping values are not allowed in this context" => (
            "YAML reads this `: ` as the start of another key, inside a value",
            concat!(
                "a text with `: ` in it (a colon and a space) must be quoted: ",
                "put the text in quotes, as in `rationale: \"Scope: ...\"`"
            ),
        ),
        "invalid trailing content after double-quoted scalar" => (
            "text follows the closing quote of a quoted value",
            concat!(
                "a value that starts with `\"` ends at the next `\"`: put the whole text in ",
                "quotes, and write each quote inside it as `\\\"` (or quote it with `'`)"
            ),
        ),
        "invalid trailing content after single-quoted scalar" => (
            "text follows the closing quote of a quoted value",
            concat!(
                "a value that starts with `'` ends at the next `'`: put the whole text in ",
                "quotes, and write each `'` inside it as `''` (or quote it with `\"`)"
            ),
        ),
        "cannot deserialize null into string; use Option<String>"
        | "invalid char: cannot deserialize null; use Option<char>" => (
            "this value is empty",
            "write the text after the colon, on the same line",
        ),
        "tab cannot be used as indentation"
        | "tabs disallowed within this context (block indentation)"
        | "tabs disallowed in this context" => (
            "a tab where YAML allows only spaces",
            "indent with spaces: YAML does not accept tabs in indentation",
        ),
        _ => return None,
    };
    Some((text.to_owned(), Some(help)))
}
