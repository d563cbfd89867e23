//! `triage test`: run the policy test suites beside a bundle, with coverage.

use std::io::Write;
use std::path::PathBuf;

use super::shared::exit;
use triage_engine::suite::{self, SuiteReport};
use triage_engine::{Bundle, Diagnostics, printable};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy bundle directory; suites are read from its `tests/`.
    #[arg(env = "TRIAGE_POLICIES", default_value = "policies")]
    pub dir: PathBuf,
    /// `text` for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write a JUnit XML report to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Fail when rules, path steps and fallbacks exercised fall below this percentage.
    #[arg(long)]
    pub min_coverage: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub const EXIT_CODES: &str = "Exit codes:\n  0  every case passed (and coverage is at least --min-coverage)\n  1  a case failed, coverage is too low, or a file cannot be written\n  3  the bundle or a suite file is invalid";

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let bundle = match Bundle::load(&args.dir) {
        Ok(bundle) => bundle,
        Err(error) => {
            let _ = write!(err, "{}", error.render_plain());
            return exit::INVALID_POLICY;
        }
    };
    let cases = match suite::load_suites(&args.dir) {
        Ok(cases) => cases,
        Err(error) => {
            let _ = write!(err, "{}", error.render_plain());
            return exit::INVALID_POLICY;
        }
    };
    if let Err(error) = suite::check_references(&bundle, &cases) {
        let _ = write!(err, "{}", error.render_plain());
        return exit::INVALID_POLICY;
    }
    let report = suite::run(&bundle, &cases);
    let _ = match args.format {
        Format::Text => write!(out, "{}", text(&report)),
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    };
    if let Some(path) = &args.junit
        && let Err(error) = std::fs::write(path, junit(&report))
    {
        let _ = writeln!(err, "error: cannot write `{}`: {error}", path.display());
        return exit::OTHER;
    }
    let too_low = args
        .min_coverage
        .is_some_and(|min| report.coverage.percent + 1e-9 < min);
    if too_low {
        let _ = writeln!(
            err,
            "error: coverage {:.1}% is below the minimum of {:.1}%",
            report.coverage.percent,
            args.min_coverage.unwrap_or_default()
        );
    }
    if report.failed > 0 || too_low {
        exit::OTHER
    } else {
        exit::DECIDED
    }
}

fn text(report: &SuiteReport) -> String {
    let mut s = String::new();
    let mut suite = "";
    for case in &report.cases {
        if case.suite != suite {
            suite = &case.suite;
            s += &format!("{}\n", printable(suite));
        }
        if case.passed {
            s += &format!("  ok    {}\n", printable(&case.name));
            continue;
        }
        s += &format!(
            "  FAIL  {} ({})\n",
            printable(&case.name),
            printable(&case.location)
        );
        // What a case expected and got may quote its ticket's values.
        for m in &case.mismatches {
            s += &format!(
                "        {:<10} expected {}, got {}\n",
                format!("{}:", m.what),
                printable(&m.expected),
                printable(&m.actual)
            );
        }
        for line in super::eval::trace_text(&case.trace).lines() {
            s += &format!("      {line}\n");
        }
    }
    let c = &report.coverage;
    s += &format!(
        "\ncoverage: {} of {} rules, path steps and fallbacks exercised ({:.1}%)\n",
        c.covered, c.total, c.percent
    );
    for item in &c.items {
        let mark = if item.cases == 0 {
            "  <- not exercised"
        } else {
            ""
        };
        s += &format!(
            "  {:<9} {:<40} {:>3} {}{mark}\n",
            item.kind,
            item.id,
            item.cases,
            if item.cases == 1 { "case" } else { "cases" }
        );
    }
    s += &format!("\n{} passed, {} failed\n", report.passed, report.failed);
    s
}

/// A JUnit XML report: one test suite per suite file, one test case per case.
fn junit(report: &SuiteReport) -> String {
    let mut suites: Vec<(&str, Vec<&suite::CaseResult>)> = Vec::new();
    for case in &report.cases {
        match suites.iter_mut().find(|(name, _)| *name == case.suite) {
            Some((_, cases)) => cases.push(case),
            None => suites.push((&case.suite, vec![case])),
        }
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml += &format!(
        "<testsuites name=\"triage\" tests=\"{}\" failures=\"{}\">\n",
        report.cases.len(),
        report.failed
    );
    for (name, cases) in suites {
        let failures = cases.iter().filter(|c| !c.passed).count();
        xml += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
            triage_audit::escape(name),
            cases.len()
        );
        for case in cases {
            xml += &format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                triage_audit::escape(name),
                triage_audit::escape(&case.name)
            );
            if case.passed {
                xml += "/>\n";
                continue;
            }
            let detail: Vec<String> = case
                .mismatches
                .iter()
                .map(|m| format!("{}: expected {}, got {}", m.what, m.expected, m.actual))
                .collect();
            xml += &format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                triage_audit::escape(detail.first().map_or("", String::as_str)),
                triage_audit::escape(&detail.join("\n"))
            );
        }
        xml += "  </testsuite>\n";
    }
    xml += "</testsuites>\n";
    xml
}
