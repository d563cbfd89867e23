//! What the subcommands share: exit codes, the bundle and log options, loading
//! a bundle with its problems printed, and JSON output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use triage_audit::{Journal, store};

use triage_engine::{Bundle, BundleError, Diagnostics};

/// Exit codes, the same for every subcommand.
pub mod exit {
    /// Every ticket was decided.
    pub const DECIDED: u8 = 0;
    /// Anything else went wrong: I/O, usage.
    pub const OTHER: u8 = 1;
    /// At least one ticket was invalid.
    pub const INVALID_TICKET: u8 = 2;
    /// The policy bundle is invalid.
    pub const INVALID_POLICY: u8 = 3;
    /// A rule failed at run time for at least one ticket.
    pub const EVALUATION_ERROR: u8 = 4;
}

/// Where the policy bundle is, shared by every subcommand that needs one.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// The policy bundle directory.
    #[arg(long, env = "TRIAGE_POLICIES", default_value = "policies")]
    pub policies: PathBuf,
}

/// A change from one bundle to another, for the commands that compare two.
#[derive(Debug, clap::Args)]
pub struct BaseHead {
    /// The bundle before the change.
    #[arg(value_name = "BASE_DIR")]
    pub base: PathBuf,
    /// The bundle after the change.
    #[arg(value_name = "HEAD_DIR")]
    pub head: PathBuf,
}

/// The decision log options, shared by every subcommand that decides.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Append a hash-chained record of every decision to this log: a file,
    /// or a PostgreSQL store (`postgres://…`).
    #[arg(long, value_name = "PATH|URL", env = "TRIAGE_DECISION_LOG")]
    pub decision_log: Option<PathBuf>,
    /// This process's chain in a store: each replica or batch run writes
    /// under an id of its own (default: the host name).
    #[arg(long, value_name = "ID", env = "TRIAGE_WRITER_ID")]
    pub writer_id: Option<String>,
    /// `every`: sync to disk after each record; `batch`: every `--log-batch` records.
    #[arg(long, value_enum, default_value_t = LogFlush::Every)]
    pub log_flush: LogFlush,
    /// Records per sync with `--log-flush batch`.
    #[arg(long, default_value_t = 256)]
    pub log_batch: u32,
    /// Start a new segment of the log (keeping the chain) past this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub log_max_bytes: Option<u64>,
    /// Sign the log's head with this private key (`triage keygen`) every
    /// `--checkpoint-every` records and at shutdown, in `<log>.checkpoints`.
    #[arg(long, value_name = "FILE.key", requires = "decision_log")]
    pub checkpoint_key: Option<PathBuf>,
    /// Records between signed checkpoints (0: only at shutdown).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub checkpoint_every: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFlush {
    Every,
    Batch,
}

impl LogArgs {
    /// Whether the log asked for is a store.
    pub fn is_store(&self) -> bool {
        self.decision_log
            .as_deref()
            .and_then(Path::to_str)
            .is_some_and(store::is_url)
    }

    /// Opens the log (a file or a store) if one was asked for, printing why
    /// it cannot be opened.
    pub fn open(&self, err: &mut dyn Write) -> Result<Option<Arc<dyn Journal>>, u8> {
        let Some(path) = &self.decision_log else {
            return Ok(None);
        };
        let fail = |e: triage_audit::AuditError, err: &mut dyn Write| {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        };
        if let Some(url) = path.to_str().filter(|p| store::is_url(p)) {
            let writer = self.writer_id.clone().unwrap_or_else(host_name);
            let opened = self
                .checkpointer()
                .and_then(|signer| store::StoreWriter::open(url, &writer, signer));
            return match opened {
                Ok(writer) => Ok(Some(Arc::new(writer))),
                Err(e) => Err(fail(e, err)),
            };
        }
        let options = triage_audit::LogOptions {
            flush: match self.log_flush {
                LogFlush::Every => triage_audit::Flush::EveryRecord,
                LogFlush::Batch => triage_audit::Flush::Batch(self.log_batch),
            },
            max_bytes: self.log_max_bytes,
        };
        let opened = triage_audit::DecisionLog::open(path, options).and_then(|mut log| {
            if let Some(signer) = self.checkpointer()? {
                log.sign_with(signer)?;
            }
            Ok(log)
        });
        match opened {
            Ok(log) => Ok(Some(Arc::new(Mutex::new(log)))),
            Err(e) => Err(fail(e, err)),
        }
    }

    /// What signs the log's head, when `--checkpoint-key` is given.
    fn checkpointer(
        &self,
    ) -> Result<Option<triage_audit::checkpoint::Checkpointer>, triage_audit::AuditError> {
        let Some(key) = &self.checkpoint_key else {
            return Ok(None);
        };
        let signer = triage_audit::sign::Signer::read(key)?;
        let every = self.checkpoint_every;
        Ok(Some(triage_audit::checkpoint::Checkpointer::new(
            signer, every,
        )))
    }
}

/// The host's name, the default writer id: a pod's name under Kubernetes.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "triage".to_owned())
}

/// Loads the bundle in `dir`, or reports why not and gives the exit code.
pub fn load(dir: &Path, err: &mut dyn Write) -> Result<Bundle, u8> {
    Bundle::load(dir).map_err(|error| {
        report_bundle_error(&error, err);
        exit::INVALID_POLICY
    })
}

pub fn report_bundle_error(error: &BundleError, err: &mut dyn Write) {
    for report in error.error_reports() {
        let _ = writeln!(err, "{report:?}");
    }
    let _ = writeln!(err, "{error}");
}

/// Text or JSON output, for the commands that offer both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

pub fn json<T: serde::Serialize>(value: &T, out: &mut dyn Write) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            let _ = writeln!(out, "{text}");
        }
        Err(e) => {
            let _ = writeln!(out, "{{\"error\":\"cannot serialise: {e}\"}}");
        }
    }
}

/// A share of the ticket space as a percentage: one decimal from 1 %, two
/// significant digits below it, so that a small class does not read as 0 %.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p <= 0.0 {
        return "0%".to_owned();
    }
    if p >= 1.0 {
        return format!("{}%", trim(format!("{p:.1}")));
    }
    let decimals = (1.0 - p.log10().floor()).clamp(1.0, 12.0) as usize;
    format!("{}%", trim(format!("{p:.decimals$}")))
}

fn trim(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A JSON value on one line.
pub fn compact(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// `n word` or `n words` (`n classes` for a word ending in `s`).
pub fn plural(n: usize, word: &str) -> String {
    match (n, word.ends_with('s')) {
        (1, _) => format!("{n} {word}"),
        (_, true) => format!("{n} {word}es"),
        (_, false) => format!("{n} {word}s"),
    }
}

/// A value read from a ticket, for a person: a string as it is, anything
/// else as JSON; either way [`printable`](triage_engine::printable), so no
/// control character in a ticket reaches the terminal.
pub fn show(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => triage_engine::printable(s).into_owned(),
        other => triage_engine::printable(&other.to_string()).into_owned(),
    }
}

/// Text, JSON or Markdown output, for the commands that offer all three
/// (`plan`, `table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextJsonMarkdown {
    Text,
    Json,
    #[value(alias = "md")]
    Markdown,
}
