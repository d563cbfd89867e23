//! `triage keygen --out PREFIX`: a new Ed25519 key pair, for signed
//! checkpoints (`--checkpoint-key`) and approvals (`triage approve --key`).
//! The formats are described in `triage_audit::sign` and docs/audit.md.

use std::io::Write;
use std::path::PathBuf;

use super::shared::exit;
use triage_audit::sign::Signer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Writes `PREFIX.key` (private, mode 0600) and `PREFIX.pub`; an
    /// existing file is never replaced.
    #[arg(long, value_name = "PREFIX")]
    pub out: PathBuf,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let written = Signer::generate().and_then(|signer| {
        let paths = signer.write_pair(&args.out)?;
        Ok((signer, paths))
    });
    match written {
        Ok((signer, (private, public))) => {
            let _ = writeln!(
                out,
                "private key: {}\npublic key:  {} ({})",
                private.display(),
                public.display(),
                signer.public()
            );
            exit::DECIDED
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::OTHER
        }
    }
}
