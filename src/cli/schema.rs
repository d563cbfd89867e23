//! `triage schema`: JSON Schemas for editors and for services that send tickets.

use std::io::Write;

use super::shared::{PolicyArgs, exit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which schema: the policy files, the test suites, or the bundle's tickets.
    #[arg(value_enum)]
    pub which: Which,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// `bundle.yaml` and the policy files (fixed by this version of triage).
    Policy,
    /// The policy test suites in `tests/` (fixed).
    Suite,
    /// The tickets the bundle at `--policies` accepts (derived from its schema).
    Ticket,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let schema = match args.which {
        Which::Policy => triage_engine::jsonschema::policy(),
        Which::Suite => triage_engine::jsonschema::suite(),
        Which::Ticket => match super::shared::load(&args.policy.policies, err) {
            Ok(bundle) => triage_engine::jsonschema::ticket(&bundle.catalog()),
            Err(code) => return code,
        },
    };
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            let _ = writeln!(out, "{text}");
            exit::DECIDED
        }
        Err(error) => {
            let _ = writeln!(err, "error: {error}");
            exit::OTHER
        }
    }
}
