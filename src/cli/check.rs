//! `triage check`: load and validate a bundle, report every problem, and
//! optionally explore every combination of the values its conditions read.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::shared::exit;
use triage_engine::{
    Bundle, BundleError, Diagnostics, Exploration, ExploreOptions, Mode, Severity,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy bundle directory.
    #[arg(env = "TRIAGE_POLICIES", default_value = "policies")]
    pub dir: PathBuf,
    /// `human`: each problem with its snippet; `json`: one object for CI bots.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Fail (exit 3) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Decide every combination of the values the conditions read: prove that
    /// every valid ticket gets a decision and list what no ticket reaches.
    #[arg(long)]
    pub exhaustive: bool,
    /// Enumerate only up to this many combinations; sample beyond it.
    #[arg(long, default_value_t = triage_engine::ExploreOptions::default().max_tickets)]
    pub max_tickets: u64,
    /// How many random tickets to decide when enumerating is not possible.
    #[arg(long, default_value_t = triage_engine::ExploreOptions::default().samples)]
    pub samples: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
}

pub fn run(args: &Args, out: &mut dyn Write, _err: &mut dyn Write) -> u8 {
    let result = Bundle::load(&args.dir);
    let exploration = match (&result, args.exhaustive) {
        (Ok(bundle), true) => Some(bundle.explore(ExploreOptions {
            max_tickets: args.max_tickets,
            samples: args.samples,
            ..ExploreOptions::default()
        })),
        _ => None,
    };
    let (errors, warnings) = match &result {
        Ok(bundle) => (
            0,
            bundle.warnings().len() + exploration.as_ref().map_or(0, |e| e.shadowed().count()),
        ),
        Err(error) => count(error),
    };
    let errors = errors + exploration.as_ref().map_or(0, |e| e.errors as usize);
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    let _ = match args.error_format {
        ErrorFormat::Human => write!(
            out,
            "{}",
            human(&result, exploration.as_ref(), errors, warnings)
        ),
        ErrorFormat::Json => {
            let problems = match &result {
                Ok(bundle) => json!(bundle.warnings()),
                Err(error) => json!(error.problems),
            };
            let report = json!({
                "ok": !failed,
                "policy": result.as_ref().ok().map(|b| b.policy()),
                "errors": errors,
                "warnings": warnings,
                "problems": problems,
                "exhaustive": exploration,
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            )
        }
    };
    if failed {
        exit::INVALID_POLICY
    } else {
        exit::DECIDED
    }
}

fn count(error: &BundleError) -> (usize, usize) {
    let errors = error
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    (errors, error.problems.len() - errors)
}

fn human(
    result: &Result<Bundle, BundleError>,
    exploration: Option<&Exploration>,
    errors: usize,
    warnings: usize,
) -> String {
    let mut s = String::new();
    match result {
        Err(error) => s += &error.render_plain(),
        Ok(bundle) => {
            if !bundle.warnings().is_empty() {
                let as_error = BundleError::new(bundle.warnings().to_vec(), bundle.sources());
                s += &as_error.render_plain();
            }
            let p = bundle.policy();
            s += &format!("{} {} {}\n", p.name, p.version, p.digest);
        }
    }
    if let Some(e) = exploration {
        s += &explained(e);
    }
    s += &format!(
        "{errors} {}, {warnings} {}\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    s
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn explained(e: &Exploration) -> String {
    let mut s = String::new();
    let fields: Vec<String> = e
        .fields
        .iter()
        .map(|f| {
            format!(
                "{} ({})",
                f.path,
                f.values
                    .map_or_else(|| "unbounded".to_owned(), |n| n.to_string())
            )
        })
        .collect();
    match e.mode {
        Mode::Exhaustive => {
            s += &format!(
                "\nexhaustive: {} tickets, every combination of {}\n",
                e.tickets,
                fields.join(", ")
            )
        }
        Mode::Sampled => {
            s += &format!(
                "\nsampled: {} random tickets, because {}; fields: {}\n",
                e.tickets,
                e.reason.as_deref().unwrap_or("enumeration is not possible"),
                fields.join(", ")
            )
        }
    }
    s += &format!(
        "  {} valid tickets decided, {} rejected as invalid input, {} evaluation errors\n",
        e.decided, e.invalid, e.errors
    );
    if e.errors == 0 && e.mode == Mode::Exhaustive {
        s += "  proven: every valid ticket gets a decision without an error\n";
    }
    for example in &e.error_examples {
        s += &format!(
            "  error: {} for {}\n",
            example.error.as_deref().unwrap_or_default(),
            fields_text(example)
        );
    }
    s += "  rules and path steps:\n";
    for reach in e.rules.iter().chain(&e.steps) {
        match &reach.example {
            Some(example) => {
                s += &format!(
                    "    {:<40} {:>9} tickets, e.g. {}\n",
                    reach.id,
                    reach.hits,
                    fields_text(example)
                )
            }
            None => {
                s += &format!(
                    "    {:<40} {:>9} tickets: shadowed, no ticket reaches it\n",
                    reach.id, 0
                )
            }
        }
    }
    let shadowed: Vec<&str> = e.shadowed().map(|r| r.id.as_str()).collect();
    if shadowed.is_empty() {
        s += "  nothing is shadowed\n";
    } else {
        s += &format!(
            "  warning: shadowed (no ticket reaches them): {}\n",
            shadowed.join(", ")
        );
    }
    s
}

fn fields_text(example: &triage_engine::Example) -> String {
    example
        .fields
        .iter()
        .map(|(path, value)| match value {
            serde_json::Value::String(s) => format!("{path}={s}"),
            other => format!("{path}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
