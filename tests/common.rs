//! Helpers shared by the end-to-end tests: the engine tests' helpers (one
//! file for both), and the ways to run the command line.

use std::path::Path;

use serde_json::Value;

#[allow(
    dead_code,
    reason = "the engine tests use every helper; these tests use most"
)]
#[path = "../crates/engine/tests/common.rs"]
mod engine;
pub use engine::*;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_triage")
}

/// Runs the CLI in-process: exit code, stdout, stderr.
pub fn cli(args: &[&str]) -> (u8, String, String) {
    use clap::Parser;
    let argv = std::iter::once("triage").chain(args.iter().copied());
    let cli = triage::cli::Cli::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = triage::cli::run(cli, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Runs the built binary: exit code, stdout, stderr.
pub fn binary(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Tickets as JSON lines.
pub fn jsonl(tickets: &[Value]) -> String {
    tickets.iter().map(|t| format!("{t}\n")).collect()
}

/// One edit of a policy file: `from` replaced (once) by `to` in `file`.
pub type Edit<'a> = (&'a str, &'a str, &'a str);

/// A copy of the reference pack in `dir` with every edit applied, in order.
pub fn pack_edited(dir: &Path, edits: &[Edit]) {
    pack_copy(dir, None);
    for (file, from, to) in edits {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "`{from}` is not in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
}
