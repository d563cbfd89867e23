//! `triage table DIR`: the decision table. For each rule (and each path step
//! of a rule that escalates), the disjoint classes of tickets it decides, in
//! the order the bundle tries them.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use super::shared::TextJsonMarkdown as Format;
use super::shared::{exit, percent, plural};
use triage_engine::analysis::{Row, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy bundle directory.
    #[arg(env = "TRIAGE_POLICIES", default_value = "policies")]
    pub dir: PathBuf,
    /// `text`, `json` (with a witness ticket per class) or `markdown`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0  the table was printed (see \"not proven\" when an expression cannot be analysed)
  1  I/O and usage errors
  3  an invalid policy bundle (every problem is printed)";

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let bundle = match super::shared::load(&args.dir, err) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    let table = bundle.table();
    let _ = match args.format {
        Format::Json => {
            super::shared::json(&table, out);
            Ok(())
        }
        Format::Text => write!(out, "{}", text(&table)),
        Format::Markdown => write!(out, "{}", markdown(&table)),
    };
    exit::DECIDED
}

/// `outcome via vehicle, action `a``.
fn decision(row: &Row) -> String {
    match &row.vehicle {
        Some(vehicle) => format!("{} via {vehicle}, action `{}`", row.outcome, row.action),
        None => format!("{}, action `{}`", row.outcome, row.action),
    }
}

fn not_proven(table: &Table) -> String {
    let mut s = String::new();
    if table.proven {
        return s;
    }
    match table.opaque.is_empty() {
        true => s += "not proven: the analysis cannot split this bundle's ticket space\n",
        false => s += "not proven: these expressions are outside what the analysis models\n",
    }
    for o in &table.opaque {
        let _ = writeln!(s, "  {}: `{}`: {}", o.location, o.expression, o.reason);
    }
    s
}

fn text(table: &Table) -> String {
    let p = &table.policy;
    let mut s = format!(
        "{} {} {}: {}\n",
        p.name,
        p.version,
        p.digest,
        plural(table.rows.len(), "row")
    );
    s += &not_proven(table);
    let mut last: Option<&str> = None;
    for row in &table.rows {
        if last != Some(&*row.rule) {
            let _ = writeln!(s, "\nrule `{}` ({})", row.rule, row.location);
            last = Some(&row.rule);
        }
        let step = match &row.path_step {
            Some(step) if &**step == "fallback" => "fallback: ".to_owned(),
            Some(step) => format!("step `{step}`: "),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "  {step}{} — {} of the valid tickets",
            decision(row),
            percent(row.share)
        );
        for class in &row.classes {
            let _ = writeln!(s, "    {} ({})", class.class, percent(class.share));
        }
        if row.more > 0 {
            let _ = writeln!(s, "    … and {}", plural(row.more, "more class"));
        }
    }
    s
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

fn markdown(table: &Table) -> String {
    let p = &table.policy;
    let mut s = format!(
        "## Decision table: {} {}\n\n`{}`: **{}**, in the order the bundle tries them.\n",
        p.name,
        p.version,
        p.digest,
        plural(table.rows.len(), "row")
    );
    if !table.proven {
        s.push('\n');
        for line in not_proven(table).lines() {
            let _ = writeln!(s, "> {}", line.trim_start());
        }
    }
    if table.rows.is_empty() {
        return s;
    }
    s += "\n| rule | step | decision | classes of tickets | share |\n|---|---|---|---|---:|\n";
    for row in &table.rows {
        let mut classes: Vec<String> = row
            .classes
            .iter()
            .map(|c| format!("`{}` ({})", cell(&c.class), percent(c.share)))
            .collect();
        if row.more > 0 {
            classes.push(format!("… and {}", plural(row.more, "more class")));
        }
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            row.rule,
            row.path_step
                .as_deref()
                .map_or(String::new(), |step| format!("`{step}`")),
            cell(&decision(row)),
            classes.join("<br>"),
            percent(row.share)
        );
    }
    s
}
