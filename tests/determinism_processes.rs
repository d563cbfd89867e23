//! Same tickets, same bytes, across processes: the built binary decides the
//! same generated tickets three times, in different orders, with a different
//! time zone, locale, working directory, copy of the pack and worker count;
//! every ticket's output line is byte-identical in the three runs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{arg, bin, generated, jsonl, pack_copy, policies_dir};

/// A seeded Fisher–Yates shuffle of `0..n` (an LCG; no `rand` needed).
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % bound
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, next(i + 1));
    }
    order
}

/// One run of `triage eval --input … --output …` on the tickets in `order`:
/// each ticket's output line (index = ticket), with an error record's
/// `"line":N` (its position in this run's input) checked and taken out.
fn run(
    tickets: &[Value],
    order: &[usize],
    dir: &Path,
    setup: impl FnOnce(&mut Command),
) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let input = dir.join("tickets.jsonl");
    let output = dir.join("decisions.jsonl");
    let lines: Vec<Value> = order.iter().map(|&i| tickets[i].clone()).collect();
    std::fs::write(&input, jsonl(&lines)).unwrap();

    let mut command = Command::new(bin());
    command
        .args(["eval", "--input", arg(&input), "--output", arg(&output)])
        .env_remove("TRIAGE_POLICIES")
        .env_remove("TRIAGE_DECISION_LOG");
    setup(&mut command);
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 2: some generated tickets are invalid (by design); nothing else fails.
    assert_eq!(out.status.code(), Some(2), "{stderr}");

    let text = std::fs::read_to_string(&output).unwrap();
    let written: Vec<&str> = text.lines().collect();
    assert_eq!(written.len(), tickets.len(), "{stderr}");
    let mut by_ticket = vec![String::new(); tickets.len()];
    for (position, (&ticket, line)) in order.iter().zip(written).enumerate() {
        let tag = format!("{{\"line\":{},", position + 1);
        let line = match line.strip_prefix(&tag) {
            Some(rest) => format!("{{{rest}"),
            None => {
                assert!(
                    !line.starts_with("{\"line\""),
                    "line {}: {line}",
                    position + 1
                );
                line.to_string()
            }
        };
        by_ticket[ticket] = line;
    }
    by_ticket
}

#[test]
fn separate_processes_in_any_order_locale_and_worker_count_give_the_same_bytes() {
    let tickets = generated(300, 2026);
    let n = tickets.len();
    let scratch = tempfile::tempdir().unwrap();

    // (1) Plain: input order, the shipped pack.
    let plain = run(
        &tickets,
        &(0..n).collect::<Vec<_>>(),
        &scratch.path().join("plain"),
        |c| {
            c.args(["--policies", arg(&policies_dir())]);
        },
    );

    // (2) Shuffled, one worker, another time zone, locale and working directory.
    let elsewhere = scratch.path().join("elsewhere");
    let shuffled_run = run(&tickets, &shuffled(n, 7), &elsewhere.join("run"), |c| {
        c.args(["--policies", arg(&policies_dir()), "--workers", "1"])
            .current_dir(&elsewhere)
            .env("TZ", "Pacific/Kiritimati")
            .env("LANG", "tr_TR.UTF-8")
            .env("LC_ALL", "tr_TR.UTF-8");
    });

    // (3) Reversed then shuffled again, two workers, a copy of the pack
    // named relative to yet another working directory.
    let copy = scratch.path().join("copy");
    pack_copy(&copy.join("pack"), None);
    let mut order = shuffled(n, 99);
    order.reverse();
    let parallel = run(&tickets, &order, &copy.join("run"), |c| {
        c.args(["--policies", "pack", "--workers", "2"])
            .current_dir(&copy)
            .env("TZ", "America/St_Johns")
            .env("LANG", "C")
            .env("LC_ALL", "C");
    });

    for (i, ticket) in tickets.iter().enumerate() {
        assert_eq!(
            plain[i], shuffled_run[i],
            "ticket {i} (shuffled run): {ticket}"
        );
        assert_eq!(plain[i], parallel[i], "ticket {i} (two workers): {ticket}");
    }

    // Not trivially equal: most lines are decisions, with a trace.
    let decided = plain
        .iter()
        .filter(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            record.get("outcome").is_some() && record.get("error").is_none()
        })
        .count();
    assert!(decided > 100, "only {decided} of {n} tickets decided");
    // And some error records, whose `line` differs between runs.
    assert!(decided < n, "no invalid ticket among {n}");
    assert!(plain.iter().any(|line| line.contains("\"trace\":[{")));
    let outcomes: std::collections::BTreeSet<&str> = plain
        .iter()
        .filter_map(|line| line.split("\"outcome\":\"").nth(1)?.split('"').next())
        .collect();
    assert!(outcomes.len() >= 4, "{outcomes:?}");
}
