//! `triage eval`: decide tickets and print the decisions.

use std::io::Write;

use super::input::{self, Item};
use super::shared::{LogArgs, PolicyArgs, exit, show};
use triage_audit::{Answer, AuditError, Recorder, Unreadable};
use triage_engine::{
    Bundle, Catalog, Decision, Rejection, RejectionKind, StepResult, TicketSyntaxError, printable,
    printable_keeping_lines,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ticket files (JSON or YAML); `-` reads standard input. One ticket per
    /// file, or an array of tickets.
    #[arg(default_value = "-")]
    pub files: Vec<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// `json`: one decision object per line; `text`: a short summary for people.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Explain each decision in the text output: the deciding rule and what it
    /// read, the path steps, and why each rule before it did not match.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub log: LogArgs,
    /// Batch mode: decide a JSON Lines file (`-` for standard input), one
    /// ticket a line, on every core; writes one JSON line per input line.
    #[arg(long, conflicts_with_all = ["files", "format", "explain"])]
    pub input: Option<String>,
    /// Where batch mode writes its JSON Lines (`-` for standard output).
    #[arg(long, requires = "input", default_value = "-")]
    pub output: String,
    /// Batch mode worker threads (0: one per core).
    #[arg(long, requires = "input", default_value_t = 0)]
    pub workers: usize,
    /// The most bytes a ticket may take: a file, standard input, or a line of
    /// batch input. A larger one gets an error record, unread past the
    /// limit, and the run goes on.
    #[arg(long, value_name = "BYTES", default_value_t = triage_service::batch::DEFAULT_MAX_TICKET_BYTES)]
    pub max_ticket_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let bundle = match super::shared::load(&args.policy.policies, err) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    // An explanation lists every rule tried, so it comes from a walk of
    // every rule; what is logged and printed otherwise is the indexed decision.
    let explain = args.explain.then(|| (bundle.catalog(), bundle.linear()));
    let log = match args.log.open(err) {
        Ok(log) => log,
        Err(code) => return code,
    };
    if let Some(input) = &args.input {
        let options = triage_service::batch::Options {
            workers: args.workers,
            max_ticket_bytes: args.max_ticket_bytes,
        };
        return super::batch::run(&bundle, input, &args.output, options, log, out, err);
    }
    // A decision is printed only once it is logged: nothing escapes the audit trail.
    let recorder = Recorder::new(&bundle, log.as_deref());
    let mut status = Status::default();
    for name in &args.files {
        let printed = decide_file(
            args,
            &recorder,
            explain.as_ref(),
            name,
            &mut status,
            out,
            err,
        );
        if let Err(error) = printed {
            let _ = writeln!(err, "error: {error}");
            return exit::OTHER;
        }
    }
    status.code()
}

/// Decides, records and prints the tickets in the file `name`. `Err`: a
/// record could not be written, and its decision was not printed.
fn decide_file(
    args: &Args,
    recorder: &Recorder,
    explain: Option<&(Catalog, Bundle)>,
    name: &str,
    status: &mut Status,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), AuditError> {
    let found = format!("the contents of `{name}`");
    let words = Unreadable {
        expected: "a ticket in JSON or YAML",
        found: &found,
        empty: None,
    };
    // Each ticket is answered as it is read; an input that holds no (more)
    // tickets gets its one answer for the rest, in its place.
    let mut failed = None;
    let read = input::read(name, args.max_ticket_bytes, &mut |item| {
        let mut walked = None;
        let result = match item {
            Item::Ticket(ticket) => {
                walked = explain.map(|(_, linear)| linear.decide(&ticket));
                recorder.decide(&ticket)
            }
            Item::NotJson(TicketSyntaxError::TooLarge { index, max }) => {
                let error = TicketSyntaxError::TooLarge { index, max };
                let message = format!(
                    "{error}; raise `--max-ticket-bytes` for larger tickets, \
                     or decide a large batch with `--input`"
                );
                recorder.reject(recorder.unreadable(&words, message))
            }
            Item::NotJson(error) => recorder.reject(recorder.syntax(&error, &words)),
            Item::Malformed(message) => recorder.reject(recorder.unreadable(&words, message)),
        };
        match result {
            Ok(answer) => {
                status.note(&answer);
                let catalog = explain.map(|(catalog, _)| catalog);
                emit(args, catalog, out, &answer, walked.as_ref());
                true
            }
            Err(error) => {
                failed = Some(error);
                false
            }
        }
    });
    if let Some(error) = failed {
        return Err(error);
    }
    if let Err(message) = read {
        let _ = writeln!(err, "error: {}", printable(&message));
        status.io = true;
    }
    Ok(())
}

#[derive(Default)]
struct Status {
    io: bool,
    invalid: bool,
    evaluation: bool,
}

impl Status {
    fn note(&mut self, result: &Answer) {
        match result {
            Ok(_) => {}
            Err(r) if r.is_invalid_ticket() => self.invalid = true,
            Err(_) => self.evaluation = true,
        }
    }

    fn code(&self) -> u8 {
        if self.io {
            exit::OTHER
        } else if self.evaluation {
            exit::EVALUATION_ERROR
        } else if self.invalid {
            exit::INVALID_TICKET
        } else {
            exit::DECIDED
        }
    }
}

/// Prints `result`; with a catalog, explained from `walked`, the same
/// decision reached by a walk of every rule.
fn emit(
    args: &Args,
    catalog: Option<&Catalog>,
    out: &mut dyn Write,
    result: &Answer,
    walked: Option<&Answer>,
) {
    let written = match args.format {
        Format::Json => {
            let line = match result {
                Ok(decision) => serde_json::to_string(decision),
                Err(rejection) => serde_json::to_string(rejection),
            };
            match line {
                Ok(line) => writeln!(out, "{line}"),
                Err(error) => writeln!(out, "{{\"error\":\"cannot serialise: {error}\"}}"),
            }
        }
        Format::Text => match result {
            Ok(decision) => match catalog {
                Some(catalog) => writeln!(
                    out,
                    "{}\n{}",
                    text(decision),
                    super::explain::explain(
                        match walked {
                            Some(Ok(walked)) => walked,
                            _ => decision,
                        },
                        catalog
                    )
                ),
                None => writeln!(out, "{}", text(decision)),
            },
            Err(rejection) => writeln!(out, "{}", rejection_text(rejection)),
        },
    };
    // A closed pipe (`triage eval … | head`) is not an error worth reporting.
    let _ = written;
}

/// A decision for a person: what, who and why. Nothing in it reaches the
/// terminal as a control character, whether the ticket supplied it or a
/// decision log it was read back from was edited: every value is written
/// [`printable`], and the policy's sentences keep only their line breaks.
pub fn text(decision: &Decision) -> String {
    let p = |text: &str| printable(text).into_owned();
    let mut s = format!("{}: {}", p(&decision.ticket_id), p(&decision.outcome));
    if let Some(vehicle) = &decision.vehicle {
        s += &format!(" via {}", p(vehicle));
    }
    s += &format!("\n  rule:      {}", p(&decision.rule));
    if let Some(path) = &decision.path {
        let step = decision.path_step.as_deref().unwrap_or("fallback");
        s += &format!("\n  path:      {} (step {})", p(path), p(step));
    }
    let may = if decision.requester.allowed {
        "may take it"
    } else {
        "may not take it"
    };
    s += &format!(
        "\n  action:    {} ({} {may}; allowed: {})",
        p(&decision.action),
        p(&decision.requester.role),
        p(&decision.allowed_roles.join(", "))
    );
    for (i, sentence) in decision.rationale.iter().enumerate() {
        let label = if i == 0 { "why:" } else { "" };
        s += &format!("\n  {label:<10} {}", printable_keeping_lines(sentence));
    }
    let policy = &decision.policy;
    s += &format!(
        "\n  policy:    {} {} {}",
        p(&policy.name),
        p(&policy.version),
        p(&policy.digest)
    );
    s
}

pub(crate) fn trace_text(trace: &[triage_engine::TraceStep]) -> String {
    let mut s = String::from("  trace:");
    for step in trace {
        if let Some(excluded) = &step.excluded {
            s += &format!("\n    excluded     {}", excluded_text(step, excluded));
            continue;
        }
        let mark = match step.result {
            StepResult::Matched => "matched    ",
            StepResult::NotMatched => "not matched",
            StepResult::Error => "error      ",
        };
        let id = match &step.path {
            Some(path) => format!("{path}/{}", step.id),
            None => step.id.to_string(),
        };
        let reads: Vec<String> = step
            .reads
            .iter()
            .map(|(k, v)| format!("{} = {}", printable(k), show(v)))
            .collect();
        s += &format!("\n    {mark}  {}", printable(&id));
        if !reads.is_empty() {
            s += &format!("  [{}]", reads.join(", "));
        }
    }
    s
}

/// "9,998 rules on `customer.id` do not apply to `C-123` (`first` to
/// `last`)": the rules the index left out, by the field that left them out.
fn excluded_text(step: &triage_engine::TraceStep, excluded: &triage_engine::Excluded) -> String {
    let each: Vec<String> = excluded
        .by
        .iter()
        .map(|(field, count)| {
            let value = step.reads.get(field).map_or_else(|| "null".into(), show);
            let (rules, verb) = if count == 1 {
                ("rule", "does")
            } else {
                ("rules", "do")
            };
            let (field, value) = (printable(field), printable(&value));
            format!(
                "{} {rules} on `{field}` {verb} not apply to `{value}`",
                thousands(count)
            )
        })
        .collect();
    format!(
        "{} ({} to {})",
        each.join(", "),
        printable(&step.id),
        printable(&excluded.last)
    )
}

/// `n` with a comma between each group of three digits.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut s = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}

pub(crate) fn rejection_text(rejection: &Rejection) -> String {
    let id = rejection.ticket_id.as_deref().unwrap_or("(no id)");
    // The error writes what the ticket supplied printable itself.
    let mut s = format!("{}: {}", printable(id), rejection.error);
    if matches!(rejection.error, RejectionKind::Evaluation(_)) && !rejection.trace.is_empty() {
        s += &format!("\n{}", trace_text(&rejection.trace));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_the_index_left_out_are_told_by_field_and_value() {
        let step: triage_engine::TraceStep = serde_json::from_value(serde_json::json!({
            "kind": "excluded", "id": "o_1", "result": "not_matched",
            "reads": { "category": "technical", "customer.id": "C-123" },
            "excluded": { "rules": 9999, "last": "o_9999", "by": { "category": 1, "customer.id": 9998 } }
        }))
        .unwrap();
        assert_eq!(
            trace_text(&[step]),
            "  trace:\n    excluded     1 rule on `category` does not apply to `technical`, \
             9,998 rules on `customer.id` do not apply to `C-123` (o_1 to o_9999)"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
