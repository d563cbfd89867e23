//! `triage approve BASE_DIR HEAD_DIR --key PREFIX.key`: signs the head
//! bundle's digest with its plan against the base and its suite results,
//! and writes `HEAD_DIR/approval.json`, which `serve --require-approval`
//! asks for. A bundle whose suites fail is not approved.

use std::io::Write;
use std::path::PathBuf;

use super::shared::{exit, load};
use triage_audit::approval::{self, Evidence};
use triage_audit::sign::Signer;
use triage_engine::suite;
use triage_engine::{Bundle, Diagnostics};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle to approve (HEAD_DIR, its suites read from its `tests/`)
    /// and the one its plan is computed against (BASE_DIR).
    #[command(flatten)]
    pub bundles: super::shared::BaseHead,
    /// The approver's private key (`triage keygen`).
    #[arg(long, value_name = "PREFIX.key")]
    pub key: PathBuf,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0  the approval was written
  1  a suite case failed (nothing is written), or I/O and key errors
  3  an invalid policy bundle or suite file";

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let signer = match Signer::read(&args.key) {
        Ok(signer) => signer,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return exit::OTHER;
        }
    };
    let (base, head) = match (load(&args.bundles.base, err), load(&args.bundles.head, err)) {
        (Ok(base), Ok(head)) => (base, head),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let evidence = match evidence(&base, &head, args, err) {
        Ok(evidence) => evidence,
        Err(code) => return code,
    };
    let document = approval::sign(head.policy(), base.policy(), &evidence, &signer);
    match approval::write(&args.bundles.head, &document) {
        Ok(path) => {
            let _ = writeln!(
                out,
                "approved {} (`{}`) as {}: {}",
                head.policy().digest,
                head.policy().version,
                approval::id(&document),
                path.display()
            );
            exit::DECIDED
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}

/// The plan from `base` to `head` and `head`'s suite report, or the exit
/// code when the suites do not load or a case fails.
fn evidence(
    base: &Bundle,
    head: &Bundle,
    args: &Args,
    err: &mut dyn Write,
) -> Result<Evidence, u8> {
    let cases = suite::load_suites(&args.bundles.head)
        .and_then(|cases| suite::check_references(head, &cases).map(|()| cases))
        .map_err(|error| {
            let _ = write!(err, "{}", error.render_plain());
            exit::INVALID_POLICY
        })?;
    let report = suite::run(head, &cases);
    if report.failed > 0 {
        let _ = writeln!(
            err,
            "error: {} of {} suite cases fail in `{}`: not approved (see `triage test`)",
            report.failed,
            report.cases.len(),
            args.bundles.head.display()
        );
        return Err(exit::OTHER);
    }
    let plan = serde_json::to_value(base.plan(head, None));
    match plan.and_then(|plan| Ok((plan, serde_json::to_value(&report)?))) {
        Ok((plan, suite)) => Ok(Evidence { plan, suite }),
        Err(e) => {
            let _ = writeln!(err, "error: cannot encode the evidence: {e}");
            Err(exit::OTHER)
        }
    }
}
