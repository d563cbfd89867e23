//! The report as one self-contained HTML page: inline CSS, charts as inline
//! SVG, no scripts and nothing fetched.

use std::fmt::Write;

use super::report::{LogReport, Table};

/// `text` safe inside HTML or XML text and attribute values: markup
/// characters as entities, and control characters other than line breaks
/// and tabs (which XML does not allow and a terminal would obey) as visible
/// escapes ([`triage_engine::printable_keeping_lines`]).
pub fn esc(text: &str) -> String {
    triage_engine::printable_keeping_lines(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of a table's rows.
fn chart(table: &Table) -> String {
    let bar_height = 22;
    let label_width = 260;
    let bar_width = 420.0;
    let height = bar_height * table.rows.len().max(1) + 10;
    let max = table.rows.iter().map(|r| r.count).max().unwrap_or(1).max(1) as f64;
    let mut s = format!(
        r#"<svg class="chart" data-table="{}" xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" role="img" aria-label="decisions by {}">"#,
        esc(&table.title),
        label_width + 480,
        esc(&table.title)
    );
    for (i, row) in table.rows.iter().enumerate() {
        let y = i * bar_height + 5;
        let width = (row.count as f64 / max * bar_width).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{label_width}" y="{y}" width="{width:.1}" height="{}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{}">{}</text>"#,
            label_width - 6,
            y + 15,
            esc(&row.key),
            bar_height - 6,
            COLOURS[i % COLOURS.len()],
            esc(&row.key),
            row.count,
            label_width as f64 + width + 4.0,
            y + 15,
            row.count
        );
    }
    s + "</svg>"
}

const COLOURS: [&str; 6] = [
    "#2b6cb0", "#2f855a", "#b7791f", "#c53030", "#6b46c1", "#319795",
];

pub fn html(r: &LogReport) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Decision log report</title><style>\
         body{font-family:sans-serif;margin:2em;max-width:1100px;color:#1a202c}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #cbd5e0;padding:.25em .6em;text-align:left}\
         svg text{font-size:12px;font-family:sans-serif}.broken{color:#c53030}.intact{color:#2f855a}\
         </style></head><body>\n",
    );
    let _ = write!(
        s,
        "<h1>Decision log report</h1><p>Log: <code>{}</code></p>",
        esc(&r.log)
    );
    let class = if r.intact { "intact" } else { "broken" };
    let _ = writeln!(
        s,
        "<p class=\"{class}\">Integrity: {}</p><p>{} records: {} decisions, {} invalid tickets, {} evaluation errors.</p>",
        esc(&r.integrity),
        r.records,
        r.decisions,
        r.invalid_tickets,
        r.evaluation_errors
    );
    for table in &r.tables {
        let _ = write!(s, "<h2>By {}</h2>\n{}\n", esc(&table.title), chart(table));
    }
    s += "<h2>Requesters acting outside their role</h2>\n";
    if r.outside_role.is_empty() {
        s += "<p>None.</p>\n";
    } else {
        s += "<table><tr><th>role</th><th>action</th><th>allowed roles</th><th>count</th><th>tickets</th></tr>\n";
        for o in &r.outside_role {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&o.role),
                esc(&o.action),
                esc(&o.allowed_roles.join(", ")),
                o.count,
                esc(&o.tickets.join(", "))
            );
        }
        s += "</table>\n";
    }
    s += "<h2>Rejected inputs</h2>\n";
    if r.rejections.is_empty() {
        s += "<p>None.</p>\n";
    } else {
        s += "<table><tr><th>decision</th><th>at</th><th>ticket</th><th>kind</th><th>detail</th></tr>\n";
        for e in &r.rejections {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.decision_id),
                esc(&e.at),
                esc(e.ticket_id.as_deref().unwrap_or("-")),
                esc(&e.kind),
                esc(&e.detail)
            );
        }
        s += "</table>\n";
    }
    s + "</body></html>\n"
}
