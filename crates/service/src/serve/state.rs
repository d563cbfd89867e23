//! The service's state: its configuration, the bundle serving decisions,
//! the last reload failure, metrics and limits.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use serde::Serialize;
use tokio::sync::Semaphore;
use triage_engine::{Bundle, Problem};

use super::metrics;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub policies: PathBuf,
    /// When set, every `/v1/` route needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Most tickets in one batch request.
    pub max_batch: usize,
    /// Longest a `/v1/` request may take, body and decision included.
    pub timeout: Duration,
    /// Longest a client may take to send a request's headers (and longest a
    /// keep-alive connection may stay idle).
    pub header_read_timeout: Duration,
    /// Longest the service waits at shutdown for connections to finish.
    pub drain_timeout: Duration,
    /// Most decisions (single or batch) running at once, each on a thread of
    /// its own; a request waits for one until its deadline.
    pub decision_threads: usize,
    /// Most `/v1/` requests served at once; more get `503`.
    pub concurrency: usize,
    /// Reload when a file in `policies` changes.
    pub watch: bool,
    /// Quiet time after a file change before reloading: editors and config
    /// maps change several files in a burst.
    pub debounce: Duration,
    /// Where every answer is recorded, when set; a decision is sent only once
    /// its record is written.
    pub log: Option<Arc<dyn triage_audit::Journal>>,
    /// What the workbench's review page compares with.
    pub review: Review,
    /// When set, a bundle loads only with an approval (`approval.json` in
    /// its directory) signed by one of these keys; every record names it.
    pub require_approval: Option<triage_audit::sign::Trusted>,
}

/// What the workbench's "Review a change" page offers beside the bundle
/// loaded at start: a base bundle directory, and tickets to count.
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// A bundle directory to compare the serving bundle with, loaded afresh
    /// for each review.
    pub base: Option<PathBuf>,
    /// Tickets, one JSON object a line (or decision log records), counted in
    /// each changed class.
    pub tickets: Option<PathBuf>,
}

/// The defaults of `Config`'s limits, which `triage serve` shows as its own.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
pub const DEFAULT_MAX_BATCH: usize = 1000;
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_CONCURRENCY: usize = 1024;
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_DRAIN_TIMEOUT_MS: u64 = 10_000;

/// One decision thread a core: deciding is CPU work.
fn default_decision_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Config {
    pub fn new(policies: impl Into<PathBuf>) -> Self {
        Config {
            policies: policies.into(),
            token: None,
            max_body: DEFAULT_MAX_BODY,
            max_batch: DEFAULT_MAX_BATCH,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            header_read_timeout: Duration::from_millis(DEFAULT_HEADER_TIMEOUT_MS),
            drain_timeout: Duration::from_millis(DEFAULT_DRAIN_TIMEOUT_MS),
            decision_threads: default_decision_threads(),
            concurrency: DEFAULT_CONCURRENCY,
            watch: true,
            debounce: Duration::from_millis(250),
            log: None,
            review: Review::default(),
            require_approval: None,
        }
    }
}

/// The bundle serving decisions and when it was loaded.
pub(crate) struct Loaded {
    pub bundle: Bundle,
    pub loaded_at: String,
    /// The approval it serves under, when approvals are required.
    pub approval: Option<triage_audit::approval::Approved>,
    /// Its decisions run on the request's own thread (see [`in_place`]).
    pub in_place: bool,
}

/// The most expressions a decision may evaluate for it to run on the
/// request's own thread: at a few tens of nanoseconds each, a decision
/// then holds that thread for well under a millisecond.
const IN_PLACE_MOST: usize = 4096;

/// Whether `bundle` decides on the request's own thread rather than a
/// decision thread: when every expression runs natively and there are not
/// too many, a decision's time is bounded and short, and a hop to another
/// thread and back (two context switches) costs more than the decision.
/// Not with a `log` that writes on the caller's thread (a file log syncs
/// each record): waiting on a disk is for a decision thread, never for the
/// threads that serve connections. Any other bundle decides on a decision
/// thread, within the deadline.
pub(crate) fn in_place(bundle: &Bundle, log: Option<&dyn triage_audit::Journal>) -> bool {
    let bounded = bundle.native_bound().is_some_and(|n| n <= IN_PLACE_MOST);
    bounded && !log.is_some_and(|log| log.writes_in_place())
}

/// Why the last reload failed.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReloadFailure {
    /// `invalid_policy` or `not_approved`: the kind of the API's error.
    #[serde(skip)]
    pub kind: &'static str,
    pub at: String,
    pub message: String,
    pub problems: Vec<Problem>,
}

pub(crate) struct State {
    pub config: Config,
    pub live: ArcSwapOption<Loaded>,
    /// The first bundle that loaded: what the review page compares with
    /// unless a base directory is chosen.
    pub first: std::sync::OnceLock<Arc<Loaded>>,
    pub last_error: Mutex<Option<ReloadFailure>>,
    pub metrics: metrics::Metrics,
    pub permits: Semaphore,
    /// The decision threads free (`Config::decision_threads` of them).
    pub deciders: Arc<Semaphore>,
    /// One reload at a time, so a slow load cannot overwrite a newer one.
    pub reloading: tokio::sync::Mutex<()>,
}

/// Now, as RFC 3339 in UTC.
pub(crate) fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp(secs, since.subsec_nanos())
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
