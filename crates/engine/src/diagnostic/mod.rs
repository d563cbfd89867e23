//! Problems found in a policy bundle, each tied to a place in a file.
//!
//! The loader collects every problem it can find before it gives up, so a
//! compliance analyst fixes a bundle in one pass rather than one error a run.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report};

mod codes;
mod printable;
mod words;
pub use codes::Code;
pub use printable::{is_unprintable, printable, printable_keeping_lines};
use serde::Serialize;
pub(crate) use words::plain_type_names;

/// A place in a policy file: 1-based line and column, plus the byte span that
/// a rendered diagnostic underlines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Loc {
    /// The file's name as the manifest lists it (or its path, for a file on disk).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the text in the file.
    #[serde(skip)]
    pub offset: usize,
    /// Length in bytes of the text a rendered diagnostic underlines.
    #[serde(skip)]
    pub len: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Whether a problem stops the bundle from loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The bundle cannot be used until it is fixed.
    Error,
    /// Worth a look; the bundle still loads (`check --deny-warnings` fails on it).
    Warning,
}

/// One thing wrong (or suspicious) in a bundle.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, machine-readable kind, such as `unknown-reference`.
    pub code: Code,
    /// One lowercase line, user values in backticks.
    pub message: String,
    /// What to do about it, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where it is; absent for problems with no place in a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Loc>,
}

impl Problem {
    /// An error with its code, message and place.
    pub fn error(code: Code, message: impl Into<String>, location: Option<Loc>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
            location,
        }
    }

    /// A warning of kind `code` at `location`.
    pub fn warning(code: Code, message: impl Into<String>, location: Option<Loc>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, message, location)
        }
    }

    /// The same problem with a hint on what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.location {
            Some(loc) => write!(f, "{loc}: {severity}: {}", self.message)?,
            None => write!(f, "{severity}: {}", self.message)?,
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// A bundle that cannot be used, with every problem found in it.
#[derive(Debug, thiserror::Error)]
#[error("invalid policy bundle: {}", summary(.problems))]
pub struct BundleError {
    /// Every problem found, errors and warnings.
    pub problems: Vec<Problem>,
    /// The text of each file, so problems can be rendered with a snippet.
    pub(crate) sources: Vec<(Arc<str>, Arc<str>)>,
}

fn summary(problems: &[Problem]) -> String {
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    match errors {
        1 => "1 error".to_owned(),
        n => format!("{n} errors"),
    }
}

impl BundleError {
    /// A bundle error from its problems and the files they point into.
    pub fn new(problems: Vec<Problem>, sources: Vec<(Arc<str>, Arc<str>)>) -> Self {
        BundleError { problems, sources }
    }
}

/// A test suite that cannot be run, with every problem found in its files.
/// A suite's problems are the author's tests, not the policy: they are
/// reported as such, apart from the bundle's.
#[derive(Debug, thiserror::Error)]
#[error("invalid test suite: {}", summary(.problems))]
pub struct SuiteError {
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
    /// The text of each suite file, so problems can be rendered with a snippet.
    pub(crate) sources: Vec<(Arc<str>, Arc<str>)>,
}

impl SuiteError {
    pub(crate) fn new(problems: Vec<Problem>, sources: Vec<(Arc<str>, Arc<str>)>) -> Self {
        SuiteError { problems, sources }
    }
}

/// Problems together with the files they point into, rendered for people
/// with the offending text underlined.
pub trait Diagnostics {
    /// Every problem, errors and warnings.
    fn problems(&self) -> &[Problem];

    /// Each file's display name and text.
    fn sources(&self) -> &[(Arc<str>, Arc<str>)];

    /// Each problem as a miette report with the offending text underlined.
    fn reports(&self) -> Vec<Report> {
        let problems = self.problems().iter();
        problems.map(|p| report(p, self.sources())).collect()
    }

    /// Every problem rendered for a terminal without colours, each with its
    /// snippet, the way `triage check` prints them.
    fn render_plain(&self) -> String {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100);
        let mut out = String::new();
        for report in self.reports() {
            if handler.render_report(&mut out, report.as_ref()).is_err() {
                out.push_str(&report.to_string());
            }
            out.push('\n');
        }
        out
    }

    /// Each error (not warning) as a report.
    fn error_reports(&self) -> Vec<Report> {
        let errors = self.problems().iter();
        let errors = errors.filter(|p| p.severity == Severity::Error);
        errors.map(|p| report(p, self.sources())).collect()
    }
}

impl Diagnostics for BundleError {
    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    fn sources(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.sources
    }
}

impl Diagnostics for SuiteError {
    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    fn sources(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.sources
    }
}

fn report(problem: &Problem, sources: &[(Arc<str>, Arc<str>)]) -> Report {
    let mut diagnostic = MietteDiagnostic::new(problem.message.clone())
        .with_code(format!("triage::{}", problem.code))
        .with_severity(match problem.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        });
    if let Some(help) = &problem.help {
        diagnostic = diagnostic.with_help(help.clone());
    }
    let Some(loc) = &problem.location else {
        return Report::new(diagnostic);
    };
    diagnostic = diagnostic.with_label(LabeledSpan::new_primary_with_span(
        Some("here".to_owned()),
        (loc.offset, loc.len.max(1)),
    ));
    match sources.iter().find(|(name, _)| *name == loc.file) {
        Some((name, text)) => {
            Report::new(diagnostic).with_source_code(NamedSource::new(name, shown_source(text)))
        }
        None => Report::new(diagnostic),
    }
}

/// A file's text as a snippet shows it: shared, not copied, and with each
/// hidden character (`is_hidden`) replaced by a visible one of the same
/// length in bytes, so that a snippet neither reorders the terminal line it
/// is printed on nor shifts what it underlines.
fn shown_source(text: &Arc<str>) -> Arc<str> {
    if !text.chars().any(is_hidden) {
        return text.clone();
    }
    let shown: String = text
        .chars()
        .map(|c| match (is_hidden(c), c.len_utf8()) {
            (false, _) => c,
            (true, 1) => '?',
            (true, 2) => '\u{BF}',
            (true, _) => '\u{FFFD}',
        })
        .collect();
    shown.into()
}

/// Turns a 1-based line and column (in characters) into a byte offset.
pub(crate) fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, content) in text.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            let within: usize = content
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return offset + within;
        }
        offset += content.len();
    }
    text.len()
}

/// `byte_offset`, found from a known place (`from`, a byte offset on line
/// `from_line`) rather than from the start of the file: a bundle's many
/// problems then cost what lies between, not each the whole file. `line`
/// must not be before `from_line`.
pub(crate) fn byte_offset_from(
    text: &str,
    from: usize,
    from_line: usize,
    line: usize,
    column: usize,
) -> usize {
    let mut start = text
        .get(..from)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |newline| newline + 1);
    for _ in from_line..line {
        match text.get(start..).and_then(|rest| rest.find('\n')) {
            Some(newline) => start += newline + 1,
            None => return text.len(),
        }
    }
    let rest = text.get(start..).unwrap_or_default();
    let line_text = rest.split_inclusive('\n').next().unwrap_or_default();
    let within: usize = line_text
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    start + within
}

/// Whether `c` may not appear in a policy's text: a control character other
/// than a tab or a line break, a bidirectional control, a zero-width
/// character, or a line or paragraph separator. Each is invisible, or
/// reorders the text around it, so a policy holding one would not read as
/// it runs.
pub(crate) fn is_hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// What a hidden character is, for a message: `U+202E (a bidirectional
/// control)`.
pub(crate) fn describe_hidden(c: char) -> String {
    let what = match c {
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => "a bidirectional control",
        '\u{2028}' | '\u{2029}' => "a line separator",
        c if c.is_control() => "a control character",
        _ => "a zero-width character",
    };
    format!("U+{:04X} ({what})", u32::from(c))
}

/// `text` as a message may show it: hidden characters (see `is_hidden`)
/// written as `\u{…}` escapes, and cut after `max` characters.
pub(crate) fn shortened(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if is_hidden(c) || c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A message from a library in this project's style: it starts lowercase.
pub(crate) fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The closest candidate to `word`, when one is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

thread_local! {
    /// The character comparisons `closest` may still make on this thread:
    /// `None` outside `with_suggestion_budget`, where they are not bounded.
    static BUDGET: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Runs `work` with every suggestion it asks for (`did you mean …?`) drawn
/// from one budget of `comparisons` character comparisons: a bundle with
/// tens of thousands of names and as many mistakes gets hints for the first
/// ones and a plain message for the rest, rather than a load that compares
/// every name with every other for minutes. The same input spends the
/// budget the same way, so the same hints come back.
pub(crate) fn with_suggestion_budget<T>(comparisons: u64, work: impl FnOnce() -> T) -> T {
    let previous = BUDGET.replace(Some(comparisons));
    let result = work();
    BUDGET.set(previous);
    result
}

/// Takes what comparing `a` with `b` costs from the budget; `false` when
/// the budget cannot pay for it (it is then spent).
fn spend(a: &str, b: &str) -> bool {
    BUDGET.with(|budget| match budget.get() {
        None => true,
        Some(left) => {
            let cost = (a.len() as u64 + 1).saturating_mul(b.len() as u64 + 1);
            budget.set(Some(left.saturating_sub(cost)));
            left >= cost
        }
    })
}

/// The candidate nearest to `word` by edit distance, within a third of its
/// length; `None` also when the suggestion budget runs out.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if !spend(word, candidate) {
            return None;
        }
        let distance = edit_distance(word, candidate);
        let limit = (word.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["password_reset", "how_to", "configuration"];
        assert_eq!(
            did_you_mean("passwrd_reset", names).as_deref(),
            Some("did you mean `password_reset`?")
        );
        assert_eq!(did_you_mean("pricing", names), None);
    }

    #[test]
    fn byte_offsets_count_characters() {
        let text = "a: 1\nbé: 2\n";
        assert_eq!(byte_offset(text, 2, 1), 5);
        assert_eq!(byte_offset(text, 2, 3), 8);
    }

    #[test]
    fn byte_offsets_from_a_known_place_are_the_same() {
        let text = "a: 1\nbé: |\n  x ==\n  \"é\"\nc: 2";
        for (from_line, from) in [(1, 0), (2, 5), (2, 9), (3, 13)] {
            for line in from_line..=5 {
                for column in 1..6 {
                    assert_eq!(
                        byte_offset_from(text, from, from_line, line, column),
                        byte_offset(text, line, column),
                        "from {from_line}:{from} to {line}:{column}"
                    );
                }
            }
        }
    }
}
