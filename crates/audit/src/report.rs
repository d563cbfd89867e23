//! `report`: what a log holds, for auditors: decisions counted by outcome,
//! vehicle, rule, action, requester role, policy version and day; requesters
//! who asked for an action their role may not take; every rejected input.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::{AuditError, Record, read, verify};
use triage_engine::{Decision, Rejection, RejectionKind};

#[derive(Debug, Serialize)]
pub struct LogReport {
    pub log: String,
    /// `intact`, or the first break `verify` found.
    pub integrity: String,
    #[serde(skip)]
    pub intact: bool,
    pub records: u64,
    pub decisions: u64,
    pub invalid_tickets: u64,
    pub evaluation_errors: u64,
    pub tables: Vec<Table>,
    pub outside_role: Vec<OutsideRole>,
    pub rejections: Vec<RejectionRow>,
    /// Lines that are not records (also reported by `integrity`).
    pub unreadable: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Table {
    pub title: String,
    pub rows: Vec<CountRow>,
}

#[derive(Debug, Serialize)]
pub struct CountRow {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct OutsideRole {
    pub role: String,
    pub action: String,
    pub allowed_roles: Vec<String>,
    pub count: u64,
    pub tickets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RejectionRow {
    pub decision_id: String,
    pub at: String,
    pub ticket_id: Option<String>,
    /// `invalid ticket` or `evaluation error`.
    pub kind: String,
    pub detail: String,
}

/// Tickets named per row of `outside_role`: enough to look into, not all.
const EXAMPLES: usize = 10;

/// The tables, in the order the report shows them.
const TITLES: [&str; 7] = [
    "outcome", "vehicle", "rule", "action", "role", "policy", "day",
];
const OUTCOME: usize = 0;
const VEHICLE: usize = 1;
const RULE: usize = 2;
const ACTION: usize = 3;
const ROLE: usize = 4;
const POLICY: usize = 5;
const DAY: usize = 6;

/// Reads the log at `path` (with its rotated segments) and counts what it
/// holds. Its integrity is checked and reported first, but a damaged log is
/// still counted: an auditor wants what can be read.
pub fn report(path: &PathBuf) -> Result<LogReport, AuditError> {
    let check = verify::verify(std::slice::from_ref(path))?;
    let integrity = match &check.broken {
        None => format!("intact: {} records, head {}", check.records, check.head),
        Some(b) => b.to_string(),
    };
    let (records, unreadable) = read::records(&check.files)?;
    let mut report = LogReport {
        log: path.display().to_string(),
        integrity,
        intact: check.broken.is_none(),
        records: records.len() as u64,
        decisions: 0,
        invalid_tickets: 0,
        evaluation_errors: 0,
        tables: Vec::new(),
        outside_role: Vec::new(),
        rejections: Vec::new(),
        unreadable,
    };
    let mut counts = TableCounts::default();
    for (_, _, record) in &records {
        counts.add(
            POLICY,
            &format!("{} {}", record.policy.name, record.policy.version),
        );
        counts.add(DAY, record.at.get(..10).unwrap_or(&record.at));
        match record.result() {
            Some(Ok(decision)) => {
                report.decisions += 1;
                counts.decision(decision);
            }
            Some(Err(rejection)) => {
                let row = rejection_row(&mut report, record, rejection);
                report.rejections.push(row);
            }
            None => {}
        }
    }
    report.tables = tables(counts.by_table);
    report.outside_role = counts.outside.into_values().collect();
    Ok(report)
}

/// The decisions counted so far, table by table, and the requesters who
/// asked for an action outside their role.
struct TableCounts {
    by_table: Vec<BTreeMap<String, u64>>,
    outside: BTreeMap<(String, String), OutsideRole>,
}

impl Default for TableCounts {
    fn default() -> Self {
        TableCounts {
            by_table: vec![BTreeMap::new(); TITLES.len()],
            outside: BTreeMap::new(),
        }
    }
}

impl TableCounts {
    fn add(&mut self, table: usize, key: &str) {
        *self.by_table[table].entry(key.to_owned()).or_default() += 1;
    }

    fn decision(&mut self, d: &Decision) {
        self.add(OUTCOME, &d.outcome);
        self.add(VEHICLE, d.vehicle.as_deref().unwrap_or("(none)"));
        self.add(RULE, &d.rule);
        self.add(ACTION, &d.action);
        self.add(ROLE, &d.requester.role);
        if !d.requester.allowed {
            self.outside_role(d);
        }
    }

    fn outside_role(&mut self, d: &Decision) {
        let entry = self
            .outside
            .entry((d.requester.role.to_string(), d.action.to_string()))
            .or_insert_with(|| OutsideRole {
                role: d.requester.role.to_string(),
                action: d.action.to_string(),
                allowed_roles: d.allowed_roles.iter().map(|r| r.to_string()).collect(),
                count: 0,
                tickets: Vec::new(),
            });
        entry.count += 1;
        if entry.tickets.len() < EXAMPLES {
            entry.tickets.push(d.ticket_id.to_string());
        }
    }
}

/// The row for a rejected input, counted in `report` by kind.
fn rejection_row(report: &mut LogReport, record: &Record, r: &Rejection) -> RejectionRow {
    let (kind, detail) = match &r.error {
        RejectionKind::InvalidTicket { problems } => {
            report.invalid_tickets += 1;
            let detail = problems
                .iter()
                .map(|p| {
                    let field = if p.field.is_empty() {
                        "(ticket)"
                    } else {
                        &p.field
                    };
                    format!("{field}: {}", p.message)
                })
                .collect::<Vec<_>>()
                .join("; ");
            ("invalid ticket", detail)
        }
        RejectionKind::Evaluation(e) => {
            report.evaluation_errors += 1;
            (
                "evaluation error",
                format!("{} `{}` at {}: {}", e.stage, e.id, e.location, e.cause),
            )
        }
    };
    RejectionRow {
        decision_id: record.id.clone(),
        at: record.at.clone(),
        ticket_id: r.ticket_id.as_deref().map(str::to_owned),
        kind: kind.to_owned(),
        detail,
    }
}

/// The counts as tables, each titled, rows sorted as people read them.
fn tables(by_table: Vec<BTreeMap<String, u64>>) -> Vec<Table> {
    TITLES
        .iter()
        .zip(by_table)
        .map(|(title, rows)| {
            let mut rows: Vec<CountRow> = rows
                .into_iter()
                .map(|(key, count)| CountRow { key, count })
                .collect();
            // Days read best in order; everything else by size.
            if *title != "day" {
                rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
            }
            Table {
                title: (*title).to_owned(),
                rows,
            }
        })
        .collect()
}

/// `text` safe in a Markdown table cell (or anywhere in Markdown text):
/// every character that could end the cell or start markup (`|`, a
/// backtick, `<`, `>`, `[`, `]`, `*`, `\`, and `_` where it could start or
/// end emphasis) is escaped with a backslash, and every control character,
/// line breaks included, written as a visible escape
/// ([`triage_engine::printable`]), so no value can start a row of its own.
/// Identifiers such as `no_eligible_vehicle` come out as they went in.
pub fn md(text: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| matches!(c, '|' | '`' | '<' | '>' | '[' | ']' | '*' | '\\' | '_');
    if !text
        .chars()
        .any(|c| special(c) || triage_engine::is_unprintable(c))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        // An underscore between two letters or digits never delimits
        // emphasis (CommonMark's intraword rule).
        let word = |at: Option<usize>| {
            at.and_then(|at| chars.get(at))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let intraword = c == '_' && word(i.checked_sub(1)) && word(Some(i + 1));
        if special(c) && !intraword {
            out.push('\\');
            out.push(c);
        } else {
            let mut buffer = [0; 4];
            out.push_str(&triage_engine::printable(c.encode_utf8(&mut buffer)));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The report as Markdown. Every value read from the log is escaped by
/// [`md`]: a ticket id, a rejected input's detail or a damaged line cannot
/// forge a row or markup.
pub fn markdown(r: &LogReport) -> String {
    let mut s = format!("# Decision log report: `{}`\n\n", r.log);
    let _ = writeln!(s, "- integrity: {}", md(&r.integrity));
    let _ = writeln!(
        s,
        "- records: {} ({} decisions, {} invalid tickets, {} evaluation errors)\n",
        r.records, r.decisions, r.invalid_tickets, r.evaluation_errors
    );
    for table in &r.tables {
        let _ = writeln!(
            s,
            "## By {}\n\n| {} | decisions |\n|---|---:|",
            table.title, table.title
        );
        for row in &table.rows {
            let _ = writeln!(s, "| {} | {} |", md(&row.key), row.count);
        }
        s.push('\n');
    }
    s += "## Requesters acting outside their role\n\n";
    if r.outside_role.is_empty() {
        s += "None.\n\n";
    } else {
        s += "| role | action | allowed roles | count | tickets |\n|---|---|---|---:|---|\n";
        for o in &r.outside_role {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                md(&o.role),
                md(&o.action),
                md(&o.allowed_roles.join(", ")),
                o.count,
                md(&o.tickets.join(", "))
            );
        }
        s.push('\n');
    }
    s += "## Rejected inputs\n\n";
    if r.rejections.is_empty() {
        s += "None.\n";
    } else {
        s += "| decision | at | ticket | kind | detail |\n|---|---|---|---|---|\n";
        for e in &r.rejections {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                md(&e.decision_id),
                md(&e.at),
                md(e.ticket_id.as_deref().unwrap_or("-")),
                e.kind,
                md(&e.detail)
            );
        }
    }
    for line in &r.unreadable {
        let _ = writeln!(s, "\nunreadable: {}", md(line));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::md;

    #[test]
    fn markdown_values_cannot_forge_rows_or_markup() {
        assert_eq!(
            md("T-1\u{1b}[31mRED\n| forged | row |"),
            "T-1\\u{1b}\\[31mRED\\n\\| forged \\| row \\|"
        );
        assert_eq!(
            md("`code` <b> *em* _em_ a\\b"),
            "\\`code\\` \\<b\\> \\*em\\* \\_em\\_ a\\\\b"
        );
    }

    #[test]
    fn identifiers_and_plain_text_come_out_as_they_went_in() {
        for text in [
            "no_eligible_vehicle",
            "T-1101",
            "2026.11.0",
            "csp-support-triage 2026.11.0",
        ] {
            assert_eq!(md(text), text);
        }
    }
}
