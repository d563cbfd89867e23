//! `triage plan BASE_DIR HEAD_DIR`: the exact change between two bundles, as
//! disjoint classes of tickets, each with its decision before and after, a
//! witness, its share of the ticket space and, with `--tickets`, how many of
//! the given tickets fall in it. `--expect` holds the change to a declared
//! one; `--deny-warnings` fails when the version did not change with the
//! decisions, or the change set is not proven.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::shared::TextJsonMarkdown as Format;
use super::shared::{compact, exit, percent, plural};
use triage_engine::analysis::{Change, Outcome, Plan};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub bundles: super::shared::BaseHead,
    /// `text`, `json` (the plan as an object) or `markdown` (a pull-request comment).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Tickets, one JSON object a line (bare tickets or decision log
    /// records): count how many fall in each changed class.
    #[arg(long, value_name = "FILE.jsonl")]
    pub tickets: Option<PathBuf>,
    /// A declared change (YAML): exit 1 unless the computed change equals it.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Exit 1 when decisions change but the version does not, or when the
    /// change set is not proven.
    #[arg(long)]
    pub deny_warnings: bool,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0  the plan was computed (and matches --expect, and has no warning with --deny-warnings)
  1  --expect does not match, a warning with --deny-warnings, or I/O and usage errors
  3  an invalid policy bundle on either side (every problem is printed)";

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let base = super::shared::load(&args.bundles.base, err);
    let head = super::shared::load(&args.bundles.head, err);
    let (base, head) = match (base, head) {
        (Ok(base), Ok(head)) => (base, head),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let expected = match &args.expect {
        Some(path) => match declared(path) {
            Ok(declared) => Some(declared),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return exit::OTHER;
            }
        },
        None => None,
    };
    let tickets = match &args.tickets {
        Some(path) => match triage_audit::read::tickets(path) {
            Ok(tickets) => Some(tickets),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return exit::OTHER;
            }
        },
        None => None,
    };
    let plan = base.plan(&head, tickets.as_deref());
    let _ = match args.format {
        Format::Json => {
            super::shared::json(&plan, out);
            Ok(())
        }
        Format::Text => write!(out, "{}", text(&plan)),
        Format::Markdown => write!(out, "{}", markdown(&plan)),
    };
    let mut failed = false;
    if let Some(expected) = &expected {
        let mismatches = compare(&plan, expected);
        for line in &mismatches {
            let _ = writeln!(err, "{line}");
        }
        match mismatches.is_empty() {
            true => {
                let _ = writeln!(
                    err,
                    "the change is as declared: {}",
                    plural(plan.changes.len(), "changed class")
                );
            }
            false => failed = true,
        }
    }
    if args.deny_warnings {
        for warning in warnings(&plan) {
            let _ = writeln!(err, "error: {warning} (--deny-warnings)");
            failed = true;
        }
    }
    match failed {
        true => exit::OTHER,
        false => exit::DECIDED,
    }
}

/// What the plan warns about: decisions change with the version unchanged,
/// or the change set is not proven.
fn warnings(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if plan.version_unchanged {
        out.push(format!(
            "decisions change but the version did not: both are `{}`",
            plan.head.version
        ));
    }
    if !plan.proven {
        out.push(format!("not proven: {}", plan.not_proven.join("; ")));
    }
    out
}

/// One side of a change, borrowed, as the formats show it.
struct Side<'a> {
    outcome: Option<&'a str>,
    vehicle: Option<&'a str>,
    rule: Option<&'a str>,
    path_step: Option<&'a str>,
    action: Option<&'a str>,
    allowed_roles: Vec<&'a str>,
    rejected: Option<&'a str>,
}

/// A side of a change, borrowed for printing.
fn side(o: &Outcome) -> Side<'_> {
    Side {
        outcome: o.outcome.as_deref(),
        vehicle: o.vehicle.as_deref(),
        rule: o.rule.as_deref(),
        path_step: o.path_step.as_deref(),
        action: o.action.as_deref(),
        allowed_roles: o.allowed_roles.iter().map(|r| &**r).collect(),
        rejected: o.rejected.as_deref(),
    }
}

impl Side<'_> {
    /// `outcome via vehicle (rule `x`, step `y`, action `z` by `r`, `s`)`, or
    /// `rejected: why`.
    fn text(&self) -> String {
        if let Some(why) = self.rejected {
            return format!("rejected: {why}");
        }
        let mut s = self.outcome.unwrap_or("no decision").to_owned();
        if let Some(vehicle) = self.vehicle {
            let _ = write!(s, " via {vehicle}");
        }
        let mut details = Vec::new();
        if let Some(rule) = self.rule {
            details.push(format!("rule `{rule}`"));
        }
        if let Some(step) = self.path_step {
            details.push(format!("step `{step}`"));
        }
        if let Some(action) = self.action {
            let roles: Vec<String> = self
                .allowed_roles
                .iter()
                .map(|r| format!("`{r}`"))
                .collect();
            match roles.is_empty() {
                true => details.push(format!("action `{action}`")),
                false => details.push(format!("action `{action}` by {}", roles.join(", "))),
            }
        }
        if !details.is_empty() {
            let _ = write!(s, " ({})", details.join(", "));
        }
        s
    }
}

fn header(plan: &Plan) -> String {
    format!(
        "{} {} ({}) -> {} {} ({}): {}",
        plan.base.name,
        plan.base.version,
        plan.base.digest,
        plan.head.name,
        plan.head.version,
        plan.head.digest,
        plural(plan.changes.len(), "changed class")
    )
}

fn tickets_text(change: &Change) -> String {
    match change.tickets {
        Some(n) => n.to_string(),
        None => "not counted (no --tickets)".to_owned(),
    }
}

fn text(plan: &Plan) -> String {
    let mut s = header(plan) + "\n";
    if plan.changes.is_empty() && plan.proven {
        s += "no ticket's decision changes\n";
    }
    for change in &plan.changes {
        let _ = write!(
            s,
            "\nclass: {}\n  before:  {}\n  after:   {}\n  share:   {} of the tickets either bundle accepts\n  tickets: {}\n  witness: {}\n",
            change.class,
            side(&change.before).text(),
            side(&change.after).text(),
            percent(change.share),
            tickets_text(change),
            compact(&change.witness)
        );
    }
    if let Some(t) = &plan.tickets {
        let _ = writeln!(
            s,
            "\ntickets: {} given, {} decided differently, {} in no class",
            t.given, t.changed, t.unplaced
        );
    }
    if !plan.proven || !plan.changes.is_empty() {
        s.push('\n');
    }
    s += &not_proven(plan, "");
    if plan.version_unchanged {
        let _ = writeln!(
            s,
            "warning: decisions change but the version did not: both are `{}`",
            plan.head.version
        );
    }
    s
}

/// "not proven" with its reasons and the expressions in the way.
fn not_proven(plan: &Plan, prefix: &str) -> String {
    let mut s = String::new();
    if plan.proven {
        return s;
    }
    for reason in &plan.not_proven {
        let _ = writeln!(s, "{prefix}not proven: {reason}");
    }
    for o in &plan.opaque {
        let _ = writeln!(
            s,
            "{prefix}  {}: `{}`: {}",
            o.location, o.expression, o.reason
        );
    }
    s
}

/// A markdown table cell: no `|` or line break may end it early.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

fn markdown(plan: &Plan) -> String {
    let mut s = format!(
        "## Policy plan: {} {} → {} {}\n\n`{}` → `{}`: **{}**.\n",
        plan.base.name,
        plan.base.version,
        plan.head.name,
        plan.head.version,
        plan.base.digest,
        plan.head.digest,
        plural(plan.changes.len(), "changed class")
    );
    if plan.version_unchanged {
        let _ = writeln!(
            s,
            "\n> **Warning:** decisions change but the version did not: both are `{}`.",
            plan.head.version
        );
    }
    if !plan.proven {
        s.push('\n');
        for line in not_proven(plan, "").lines() {
            let _ = writeln!(s, "> {}", line.trim_start());
        }
    }
    if let Some(t) = &plan.tickets {
        let _ = writeln!(
            s,
            "\nOf {} given tickets, **{}** are decided differently ({} in no class).",
            t.given, t.changed, t.unplaced
        );
    }
    if plan.changes.is_empty() {
        return s;
    }
    s += "\n| # | class | before | after | share | tickets |\n|---:|---|---|---|---:|---:|\n";
    for (i, change) in plan.changes.iter().enumerate() {
        let tickets = change.tickets.map_or("-".to_owned(), |n| n.to_string());
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} |",
            i + 1,
            cell(&change.class),
            cell(&side(&change.before).text()),
            cell(&side(&change.after).text()),
            percent(change.share),
            tickets
        );
    }
    s += "\n<details>\n<summary>Witnesses: one ticket per class, decided as stated by both bundles</summary>\n\n";
    for (i, change) in plan.changes.iter().enumerate() {
        let _ = writeln!(s, "{}. `{}`", i + 1, cell(&compact(&change.witness)));
    }
    s += "\n</details>\n";
    s
}

/// A declared change, as a reviewer writes it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    changes: Vec<DeclaredChange>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclaredChange {
    /// The class, exactly as the plan prints it.
    when: String,
    /// The keys of the decision after the change that must hold.
    #[serde(default)]
    after: BTreeMap<String, Value>,
    /// The keys of the decision before the change that must hold.
    #[serde(default)]
    before: BTreeMap<String, Value>,
}

/// The keys a declared side may hold.
const KEYS: [&str; 7] = [
    "outcome",
    "vehicle",
    "rule",
    "path_step",
    "action",
    "allowed_roles",
    "rejected",
];

fn declared(path: &Path) -> Result<Declared, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let declared: Declared = serde_saphyr::from_str(&text)
        .map_err(|e| format!("`{}` is not a declared change: {e}", path.display()))?;
    for (i, change) in declared.changes.iter().enumerate() {
        for key in change.after.keys().chain(change.before.keys()) {
            if !KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "unknown key `{key}` in declared change {} of `{}`: expected one of {}",
                    i + 1,
                    path.display(),
                    KEYS.map(|k| format!("`{k}`")).join(", ")
                ));
            }
        }
    }
    Ok(declared)
}

/// Whether every key the reviewer wrote holds on `side` (the side as JSON).
fn holds(written: &BTreeMap<String, Value>, side: &Value) -> bool {
    written
        .iter()
        .all(|(key, value)| side.get(key).unwrap_or(&Value::Null) == value)
}

fn matches(change: &Change, declared: &DeclaredChange) -> bool {
    let as_json = |side: Result<Value, serde_json::Error>| side.unwrap_or(Value::Null);
    declared.when == change.class
        && holds(
            &declared.after,
            &as_json(serde_json::to_value(&change.after)),
        )
        && holds(
            &declared.before,
            &as_json(serde_json::to_value(&change.before)),
        )
}

/// The differences between the computed change and the declared one: each
/// computed change must match exactly one declared entry, and each declared
/// entry at least one computed change.
fn compare(plan: &Plan, declared: &Declared) -> Vec<String> {
    let mut used = vec![false; declared.changes.len()];
    let mut out = Vec::new();
    for change in &plan.changes {
        let matching: Vec<usize> = (declared.changes.iter().enumerate())
            .filter(|(_, d)| matches(change, d))
            .map(|(i, _)| i)
            .collect();
        for &i in &matching {
            used[i] = true;
        }
        let described = format!(
            "`{}`: {} -> {}",
            change.class,
            side(&change.before).text(),
            side(&change.after).text()
        );
        match matching.len() {
            1 => {}
            0 => out.push(format!("undeclared change: {described}")),
            n => out.push(format!(
                "change matches {n} declared changes, not one: {described}"
            )),
        }
    }
    for (d, used) in declared.changes.iter().zip(used) {
        if !used {
            out.push(format!(
                "declared change does not happen: when `{}`{}{}",
                d.when,
                written(", before", &d.before),
                written(", after", &d.after)
            ));
        }
    }
    out
}

fn written(label: &str, keys: &BTreeMap<String, Value>) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let each: Vec<String> = keys
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} `{s}`"),
            other => format!("{k} `{other}`"),
        })
        .collect();
    format!("{label} {}", each.join(", "))
}
