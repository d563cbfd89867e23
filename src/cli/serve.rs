//! `triage serve`: the HTTP evaluation service and the workbench pages,
//! until `SIGTERM` or `SIGINT`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::shared::{PolicyArgs, exit};
use triage_service::serve::{self, Config};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub log: super::shared::LogArgs,
    #[command(flatten)]
    pub review: ReviewArgs,
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A file holding the bearer token every `/v1/` route then requires.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = triage_service::serve::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Most tickets in one batch request.
    #[arg(long, default_value_t = triage_service::serve::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Longest a `/v1/` request may take, in milliseconds, body and decision included.
    #[arg(long, default_value_t = triage_service::serve::DEFAULT_TIMEOUT_MS)]
    pub timeout_ms: u64,
    /// Longest a client may take to send a request's headers, in milliseconds
    /// (an idle keep-alive connection is closed after it too).
    #[arg(long, default_value_t = triage_service::serve::DEFAULT_HEADER_TIMEOUT_MS)]
    pub header_timeout_ms: u64,
    /// Longest to wait for open connections on SIGTERM, in milliseconds;
    /// then they are closed and the process exits 0.
    #[arg(long, default_value_t = triage_service::serve::DEFAULT_DRAIN_TIMEOUT_MS)]
    pub drain_timeout_ms: u64,
    /// Most decisions running at once (0: one per core). A decision's
    /// thread is free once its record is handed to the log; its request
    /// waits for the write without a thread.
    #[arg(long, default_value_t = 0)]
    pub decision_threads: usize,
    /// Most `/v1/` requests served at once; more are answered `503`.
    #[arg(long, default_value_t = triage_service::serve::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Do not watch the policy directory (reload with SIGHUP or the API only).
    #[arg(long)]
    pub no_watch: bool,
    /// Log lines as JSON objects or as text for people.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Load (and reload) only a bundle approved (`triage approve`) by one
    /// of these public keys; without a valid approval the previous bundle
    /// keeps serving. Every record names the approval it ran under.
    #[arg(long, value_name = "PUBFILE", num_args = 1..)]
    pub require_approval: Vec<PathBuf>,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// What the workbench's "Review a change" page compares with.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// A bundle directory the workbench's review page compares the serving bundle with.
    #[arg(long, value_name = "DIR")]
    pub base: Option<PathBuf>,
    /// Tickets, one JSON object a line (or decision log records), that the
    /// review page counts in each changed class.
    #[arg(long, value_name = "FILE.jsonl")]
    pub tickets: Option<PathBuf>,
}

impl ReviewArgs {
    pub fn config(&self) -> triage_service::serve::Review {
        triage_service::serve::Review {
            base: self.base.clone(),
            tickets: self.tickets.clone(),
        }
    }
}

/// Blocking threads beyond the decision threads: a bundle reload's.
const BLOCKING_SPARE: usize = 2;

/// How long the runtime waits at exit for work still running on its threads.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    init_logs(args.log_format);
    let token = match &args.token_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Ok(_) => {
                let _ = writeln!(err, "error: the token file `{}` is empty", path.display());
                return exit::OTHER;
            }
            Err(error) => {
                let _ = writeln!(err, "error: cannot read `{}`: {error}", path.display());
                return exit::OTHER;
            }
        },
    };
    let mut config = Config::new(&args.policy.policies);
    config.token = token;
    config.max_body = args.max_body;
    config.max_batch = args.max_batch;
    config.timeout = Duration::from_millis(args.timeout_ms);
    config.header_read_timeout = Duration::from_millis(args.header_timeout_ms);
    config.drain_timeout = Duration::from_millis(args.drain_timeout_ms);
    if args.decision_threads > 0 {
        config.decision_threads = args.decision_threads;
    }
    config.concurrency = args.concurrency;
    config.watch = !args.no_watch;
    config.review = args.review.config();
    if !args.require_approval.is_empty() {
        match triage_audit::sign::Trusted::read(&args.require_approval) {
            Ok(trusted) => config.require_approval = Some(trusted),
            Err(error) => {
                let _ = writeln!(err, "error: {error}");
                return exit::OTHER;
            }
        }
    }
    config.log = match args.log.open(err) {
        Ok(log) => log,
        Err(code) => return code,
    };
    run_service(config, args.listen, args.threads, out, err, &|addr| {
        format!("listening on http://{addr}")
    })
}

/// Runs the service with `config` on `listen` until `SIGTERM` or `SIGINT`,
/// printing the line `announce` makes of the address it listens on (scripts
/// and tests read the port from it).
pub fn run_service(
    config: Config,
    listen: SocketAddr,
    threads: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
    announce: &dyn Fn(SocketAddr) -> String,
) -> u8 {
    let log = config.log.clone();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    // A decision frees its worker as it ends, a moment before its thread is
    // idle again: left to itself the pool starts a new thread for the next
    // decision now and then, and under load kept growing (to three times the
    // decision threads in seconds), each new thread paying for a fresh heap.
    builder.max_blocking_threads(config.decision_threads.max(1) + BLOCKING_SPARE);
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(err, "error: cannot start the runtime: {error}");
            return exit::OTHER;
        }
    };
    let served = runtime.block_on(async {
        let stop = stop_signal().map_err(|e| format!("cannot listen for signals: {e}"))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on `{listen}`: {e}"))?;
        if let Ok(addr) = listener.local_addr() {
            let _ = writeln!(out, "{}", announce(addr));
            let _ = out.flush();
        }
        serve::serve(listener, config, stop)
            .await
            .map_err(|e| format!("the server failed: {e}"))
    });
    // A decision still running after the drain (a slow rule whose request
    // was answered at its deadline) records nothing: it is not waited for.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    // The head is signed (when there is a key) once nothing more is written.
    if let Some(log) = log
        && let Err(error) = log.close()
    {
        let _ = writeln!(err, "error: {error}");
    }
    match served {
        Ok(()) => exit::DECIDED,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            exit::OTHER
        }
    }
}

pub fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second subscriber (tests calling `run` twice) is not an error.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Completes on `SIGTERM` or `SIGINT`. The handlers are installed before
/// this returns, so a signal that arrives as soon as the service answers
/// stops it gracefully rather than killing it.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = ()> + Send> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("stopping: finishing the requests in flight");
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = ()> + Send> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping: finishing the requests in flight");
    })
}
