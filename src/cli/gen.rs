//! `triage gen tickets`: valid test tickets drawn from the bundle's schema,
//! one JSON object a line, the same for the same seed.

use std::fs::File;
use std::io::{BufWriter, Write};

use super::shared::{PolicyArgs, exit};
use triage_engine::generate::TicketGenerator;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to generate.
    #[arg(value_enum)]
    pub what: What,
    /// How many to write.
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// The random seed: the same seed and bundle give the same tickets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write them (`-` for standard output).
    #[arg(long, default_value = "-")]
    pub output: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// Tickets as JSON Lines, for `triage eval --input`.
    Tickets,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let bundle = match super::shared::load(&args.policy.policies, err) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    let mut file;
    let mut stdout;
    let writer: &mut dyn Write = if args.output == "-" {
        stdout = BufWriter::with_capacity(1 << 16, out);
        &mut stdout
    } else {
        match File::create(&args.output) {
            Ok(f) => {
                file = BufWriter::with_capacity(1 << 16, f);
                &mut file
            }
            Err(error) => {
                let _ = writeln!(err, "error: cannot write `{}`: {error}", args.output);
                return exit::OTHER;
            }
        }
    };
    let mut generator = TicketGenerator::new(&bundle, args.seed);
    for _ in 0..args.count {
        let ticket = match generator.next_ticket() {
            Ok(ticket) => ticket,
            Err(error) => {
                let _ = writeln!(err, "error: {error}");
                return exit::OTHER;
            }
        };
        if let Err(error) = writeln!(writer, "{ticket}") {
            let _ = writeln!(err, "error: cannot write `{}`: {error}", args.output);
            return exit::OTHER;
        }
    }
    match writer.flush() {
        Ok(()) => exit::DECIDED,
        Err(error) => {
            let _ = writeln!(err, "error: cannot write `{}`: {error}", args.output);
            exit::OTHER
        }
    }
}
