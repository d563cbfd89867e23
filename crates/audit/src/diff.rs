//! `diff`: the impact of a policy change on real tickets. Every ticket is
//! decided by both bundles; decisions whose verdict differs are counted by
//! transition (outcome/vehicle and path step before → after; a rejection
//! with its reason), with the rules responsible and the first few ticket ids
//! of each. The input is streamed in chunks and
//! each chunk decided on every core; the result does not depend on the
//! number of threads (chunks are merged in input order).

use std::collections::BTreeMap;
use std::io::BufRead;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::verdict::Verdict;
use triage_engine::{Bundle, Decision, PolicyRef, Rejection};

const CHUNK: usize = 8192;

#[derive(Debug, Serialize)]
pub struct Impact {
    pub base: PolicyRef,
    pub head: PolicyRef,
    pub tickets: u64,
    pub changed: u64,
    /// Lines that hold no ticket (not JSON), with the first few line numbers.
    pub unreadable: u64,
    pub unreadable_lines: Vec<u64>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub before: String,
    pub after: String,
    pub count: u64,
    /// `rule before → rule after` and how many tickets took that way.
    pub rules: Vec<RuleChange>,
    /// The first ticket ids (or line numbers) in input order.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleChange {
    pub before: String,
    pub after: String,
    pub count: u64,
}

/// What the tickets read so far came to: how many changed, and each
/// transition with the rule changes behind it. Merged across threads.
#[derive(Default)]
struct ImpactCounts {
    tickets: u64,
    changed: u64,
    unreadable: u64,
    unreadable_lines: Vec<u64>,
    transitions: BTreeMap<(String, String), Entry>,
}

#[derive(Default)]
struct Entry {
    count: u64,
    rules: BTreeMap<(String, String), u64>,
    examples: Vec<String>,
}

impl ImpactCounts {
    fn merge(mut self, other: ImpactCounts, examples: usize) -> ImpactCounts {
        self.tickets += other.tickets;
        self.changed += other.changed;
        self.unreadable += other.unreadable;
        self.unreadable_lines.extend(other.unreadable_lines);
        self.unreadable_lines.truncate(examples);
        for (key, theirs) in other.transitions {
            let mine = self.transitions.entry(key).or_default();
            mine.count += theirs.count;
            for (rules, n) in theirs.rules {
                *mine.rules.entry(rules).or_default() += n;
            }
            mine.examples.extend(theirs.examples);
            mine.examples.truncate(examples);
        }
        self
    }
}

/// The ticket on a line: a bare ticket, or the `ticket` of a decision record,
/// read as every ticket is ([`triage_engine::parse_ticket`]: a key named
/// twice makes the line unreadable).
fn ticket_of(line: &str) -> Option<Value> {
    let value = triage_engine::parse_ticket(line.as_bytes()).ok()?;
    if value.get("schema").and_then(Value::as_str) == Some(super::SCHEMA) {
        return value.get("ticket").cloned().filter(|t| !t.is_null());
    }
    Some(value)
}

/// One line's part of the impact; `line` is `None` when it was no text
/// or too long to read (see [`crate::read::text_line`]): unreadable.
fn one(
    base: &Bundle,
    head: &Bundle,
    number: u64,
    line: Option<&str>,
    examples: usize,
) -> ImpactCounts {
    let mut tally = ImpactCounts::default();
    let Some(ticket) = line.and_then(ticket_of) else {
        tally.unreadable = 1;
        if examples > 0 {
            tally.unreadable_lines.push(number);
        }
        return tally;
    };
    tally.tickets = 1;
    let before = base.decide(&ticket);
    let after = head.decide(&ticket);
    let (b, a) = (Verdict::of(before.as_ref()), Verdict::of(after.as_ref()));
    if b != a {
        tally.changed = 1;
        let id = match (&before, &after) {
            (Ok(d), _) | (_, Ok(d)) => Some(d.ticket_id.to_string()),
            (Err(r), _) => r.ticket_id.as_deref().map(str::to_owned),
        };
        let labels = (label(&b, before.as_ref()), label(&a, after.as_ref()));
        let entry = tally.transitions.entry(labels).or_default();
        entry.count = 1;
        entry.rules.insert((b.rule, a.rule), 1);
        if examples > 0 {
            entry
                .examples
                .push(id.unwrap_or_else(|| format!("line {number}")));
        }
    }
    tally
}

/// A side of a transition as its table shows it: the verdict's label with
/// the path step that chose the vehicle (`escalate via x (step y)`), or the
/// rejection with its reason (`invalid ticket: issue.type: …`).
fn label(verdict: &Verdict, result: Result<&Decision, &Rejection>) -> String {
    match result {
        Ok(d) => match (&d.path, &d.path_step) {
            (_, Some(step)) => format!("{} (step {step})", verdict.label),
            (Some(_), None) => format!("{} (fallback)", verdict.label),
            (None, None) => verdict.label.clone(),
        },
        Err(r) => r.reason(),
    }
}

/// Lines by number: their text, or `None` for one unreadable.
type Chunk = Vec<(u64, Option<String>)>;

/// The next [`CHUNK`] lines of `input` that are not blank, numbered on from
/// `number`; empty at the end.
fn read_chunk(input: &mut impl BufRead, number: &mut u64) -> std::io::Result<Chunk> {
    let mut chunk = Vec::with_capacity(CHUNK);
    while chunk.len() < CHUNK {
        let Some(line) = crate::read::text_line(input)? else {
            break;
        };
        *number += 1;
        if line.as_deref().is_none_or(|l| !l.trim().is_empty()) {
            chunk.push((*number, line));
        }
    }
    Ok(chunk)
}

/// Decides every ticket of `input` (JSON lines) with `base` and `head`.
pub fn impact(
    base: &Bundle,
    head: &Bundle,
    input: impl BufRead + Send,
    examples: usize,
) -> std::io::Result<Impact> {
    // One thread reads and splits lines while the others decide the chunk
    // before: reading is serial, deciding is not.
    // A line is kept up to the log readers' cap: a file of tickets may be
    // large, or damaged, and is read without holding more than that of it.
    let (send, chunks) = std::sync::mpsc::sync_channel::<std::io::Result<Chunk>>(2);
    let total = std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut input = input;
            let mut number = 0u64;
            loop {
                let chunk = match read_chunk(&mut input, &mut number) {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        let _ = send.send(Err(e));
                        return;
                    }
                };
                if chunk.is_empty() || send.send(Ok(chunk)).is_err() {
                    return;
                }
            }
        });
        let mut total = ImpactCounts::default();
        for chunk in chunks {
            let part = chunk?
                .par_iter()
                .map(|(n, line)| one(base, head, *n, line.as_deref(), examples))
                .reduce(ImpactCounts::default, |a, b| a.merge(b, examples));
            total = total.merge(part, examples);
        }
        Ok::<ImpactCounts, std::io::Error>(total)
    })?;
    let mut transitions: Vec<Transition> = total
        .transitions
        .into_iter()
        .map(|((before, after), e)| {
            let mut rules: Vec<RuleChange> = e
                .rules
                .into_iter()
                .map(|((before, after), count)| RuleChange {
                    before,
                    after,
                    count,
                })
                .collect();
            rules.sort_by_key(|x| std::cmp::Reverse(x.count));
            Transition {
                before,
                after,
                count: e.count,
                rules,
                examples: e.examples,
            }
        })
        .collect();
    transitions.sort_by_key(|x| std::cmp::Reverse(x.count));
    Ok(Impact {
        base: base.policy().clone(),
        head: head.policy().clone(),
        tickets: total.tickets,
        changed: total.changed,
        unreadable: total.unreadable,
        unreadable_lines: total.unreadable_lines,
        transitions,
    })
}
