//! The project's shell scripts: every one parses, and the benchmark's
//! memory helpers do what `benches/store.sh` relies on.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::root;

/// The shell scripts the project runs: CI, its set-up scripts and the
/// benchmarks with their shared parts.
fn scripts() -> Vec<PathBuf> {
    let root = root();
    let mut found = vec![root.join(".ci/run")];
    for dir in ["scripts", "benches", "benches/support"] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sh"))
            .collect();
        here.sort();
        found.extend(here);
    }
    found
}

/// Runs `script` with bash, in `dir`, with `env` set; stdout and stderr.
fn bash(script: &str, dir: &Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        output.status.success(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[test]
fn every_script_parses() {
    let scripts = scripts();
    assert!(scripts.len() >= 8, "found only {scripts:?}");
    for script in scripts {
        let (ok, _, err) = bash(&format!("bash -n '{}'", script.display()), &root(), &[]);
        assert!(ok, "{} does not parse:\n{err}", script.display());
    }
}

#[test]
fn memory_state_reads_the_machine() {
    let memory = root().join("benches/support/memory.sh");
    let (ok, out, err) = bash(
        &format!("source '{}'; memory_state", memory.display()),
        &root(),
        &[],
    );
    assert!(ok, "{err}");
    // "24105 MB, 2648 MB free, 20705 MB cached"
    let numbers: Vec<u64> = out
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 3, "{out}");
    assert!(
        numbers[0] > 0 && numbers[1] <= numbers[0] && numbers[2] <= numbers[0],
        "{out}"
    );
    assert!(
        out.ends_with(" MB cached") && out.contains(" MB free, "),
        "{out}"
    );
}

/// Runs `warm_memory ARGS` in an empty scratch directory, with files of at
/// most 1 MB (a `warm_memory` that wrongly wrote its file fails at once
/// instead of filling the machine's memory and disk), and `WARM_MEMORY`
/// set when given. Asserts it succeeded, set no file and left the
/// directory empty.
fn assert_warms_nothing(args: &str, warm_memory: Option<&str>) {
    let work = tempfile::tempdir().unwrap();
    let memory = root().join("benches/support/memory.sh");
    let script = format!(
        "ulimit -f 1024; say() {{ echo \"$*\" >&2; }}; source '{}'; \
         warm_memory {args}; echo \"[$WARM_FILE]\"",
        memory.display()
    );
    let dir = work.path().to_str().unwrap();
    let mut env = vec![("WORK", dir)];
    env.extend(warm_memory.map(|value| ("WARM_MEMORY", value)));
    let (ok, out, err) = bash(&script, work.path(), &env);
    assert!(ok, "{err}");
    assert_eq!(out, "[]\n");
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

#[test]
fn warm_memory_off_writes_nothing() {
    assert_warms_nothing("", Some("0"));
}

#[test]
fn warm_memory_keeps_what_it_is_told_free() {
    // Asked to leave more than the machine has free, it writes nothing.
    assert_warms_nothing("100000000", None);
}
