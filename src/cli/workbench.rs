//! `triage workbench DIR`: the workbench pages for a policy author, on the
//! draft bundle in DIR, served on loopback only and reloaded on every save.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::serve::{LogFormat, ReviewArgs, init_logs, run_service};
use super::shared::exit;
use triage_service::serve::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The draft policy bundle directory.
    #[arg(env = "TRIAGE_POLICIES", default_value = "policies")]
    pub dir: PathBuf,
    /// A loopback address to listen on; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub review: ReviewArgs,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // No token guards the local mode: it must not be reachable from elsewhere.
    if !args.listen.ip().is_loopback() {
        let _ = writeln!(
            err,
            "error: the workbench listens on loopback only, not on `{}`; use `triage serve --token-file` to share it",
            args.listen
        );
        return exit::OTHER;
    }
    init_logs(LogFormat::Text);
    let mut config = Config::new(&args.dir);
    config.review = args.review.config();
    // Two threads are plenty for one person, and leave the editor its cores.
    config.decision_threads = 2;
    run_service(config, args.listen, 2, out, err, &|addr| {
        format!(
            "workbench on http://{addr}/ (serving `{}`; Ctrl-C stops it)",
            args.dir.display()
        )
    })
}
