//! `triage check`: load and validate a bundle, report every problem, and
//! prove exactly, over the whole ticket space, that every valid ticket gets a
//! decision without an error and that every rule, path step and fallback
//! decides some ticket; then, for each rule, which earlier rules take tickets
//! it also matches.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::shared::{compact, exit, percent, plural};
use triage_engine::analysis::{Analysis, Class, Finding};
use triage_engine::{Bundle, BundleError, Diagnostics, Severity};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy bundle directory.
    #[arg(env = "TRIAGE_POLICIES", default_value = "policies")]
    pub dir: PathBuf,
    /// `human`: each problem with its snippet; `json`: one object for CI bots.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Fail (exit 3) on warnings too, "not proven" included.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Accepted for compatibility and ignored: the check is always exact now.
    #[arg(long, hide = true)]
    pub exhaustive: bool,
    /// Accepted for compatibility and ignored: nothing is enumerated or sampled.
    #[arg(long, hide = true)]
    pub max_tickets: Option<u64>,
    /// Accepted for compatibility and ignored: nothing is enumerated or sampled.
    #[arg(long, hide = true)]
    pub samples: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
}

pub fn run(args: &Args, out: &mut dyn Write, _err: &mut dyn Write) -> u8 {
    let result = Bundle::load(&args.dir);
    let analysis = result.as_ref().ok().map(Bundle::analyse);
    let (mut errors, mut warnings) = match &result {
        Ok(bundle) => (0, bundle.warnings().len()),
        Err(error) => count(error),
    };
    if let Some(analysis) = &analysis {
        let (e, w) = counted(analysis);
        errors += e;
        warnings += w;
    }
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    let _ = match args.error_format {
        ErrorFormat::Human => write!(
            out,
            "{}",
            human(&result, analysis.as_ref(), errors, warnings)
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
                "analysis": analysis,
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

/// The analysis's errors and warnings: each finding by its kind, and "not
/// proven" (whatever stands in the way) as one warning.
fn counted(analysis: &Analysis) -> (usize, usize) {
    let errors = analysis
        .findings
        .iter()
        .filter(|f| f.kind.is_error())
        .count();
    let warnings = analysis.findings.len() - errors;
    let unproven = usize::from(!analysis.proven);
    (errors, warnings + unproven)
}

fn human(
    result: &Result<Bundle, BundleError>,
    analysis: Option<&Analysis>,
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
    if let Some(analysis) = analysis {
        s += &proof(analysis);
        s += &precedence(analysis);
    }
    s += &format!(
        "{}, {}\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    s
}

/// The proof: what it covers, then "proven", or each finding and each
/// expression that stands in the way.
fn proof(a: &Analysis) -> String {
    let fields: Vec<String> = a
        .fields
        .iter()
        .map(|(path, cells)| format!("{path} ({cells})"))
        .collect();
    let mut s = format!(
        "\nproof over every valid ticket, each field split into the cells the rules tell apart: {}\n",
        match fields.is_empty() {
            true => "no field".to_owned(),
            false => fields.join(", "),
        }
    );
    let errors = a.findings.iter().any(|f| f.kind.is_error());
    if a.proven && a.findings.is_empty() {
        s += "  proven: every valid ticket gets a decision without an error; every rule, path step and fallback decides some ticket\n";
    } else if a.proven && !errors {
        s += "  proven: every valid ticket gets a decision without an error\n";
    }
    for finding in &a.findings {
        s += &described(finding);
    }
    if !a.proven {
        for reason in &a.not_proven {
            let _ = writeln!(s, "  not proven: {reason}");
        }
        for o in &a.opaque {
            let _ = writeln!(s, "    {}: `{}`: {}", o.location, o.expression, o.reason);
        }
    }
    s
}

fn described(f: &Finding) -> String {
    let severity = match f.kind.is_error() {
        true => "error",
        false => "warning",
    };
    let mut s = match f.location.is_empty() {
        true => format!("  {severity}: {}\n", f.message),
        false => format!("  {severity}: {} ({})\n", f.message, f.location),
    };
    if let Some(class) = &f.class {
        s += &class_lines(class, "    ");
    }
    if !f.taken_by.is_empty() {
        let mut rules: Vec<String> = f.taken_by.iter().map(|r| format!("`{r}`")).collect();
        if f.taken_by_more {
            rules.push("… and more".to_owned());
        }
        let _ = writeln!(s, "    taken by: {}", rules.join(", "));
    }
    s
}

fn class_lines(class: &Class, indent: &str) -> String {
    format!(
        "{indent}tickets: {} ({} of the valid tickets)\n{indent}e.g. {}\n",
        class.class,
        percent(class.share),
        compact(&class.witness)
    )
}

/// For each rule, the earlier rules that take tickets it also matches (the
/// witnesses are in the JSON output).
fn precedence(a: &Analysis) -> String {
    if a.precedence.is_empty() {
        return String::new();
    }
    let mut s =
        "\nprecedence: earlier rules that take tickets a later rule also matches\n".to_owned();
    for p in &a.precedence {
        let _ = writeln!(
            s,
            "  rule `{}` ({}) — tickets it also matches are taken first by:",
            p.rule, p.location
        );
        for t in &p.taken {
            let _ = writeln!(
                s,
                "    `{}` ({}): {} ({})",
                t.by,
                t.location,
                t.class.class,
                percent(t.class.share)
            );
        }
        if p.more {
            let _ = writeln!(s, "    … and more earlier rules");
        }
    }
    s
}
