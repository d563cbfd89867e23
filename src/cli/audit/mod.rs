//! `triage audit`: the auditor's tools for decision logs, one file each.

use std::io::Write;

use clap::Subcommand;

pub mod repair;
pub mod replay;
pub mod report;
pub mod show;
pub mod source;
pub mod transfer;
pub mod verify;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every record's hash and the chain across the log's files.
    Verify(verify::Args),
    /// Decide every logged ticket again and compare.
    Replay(replay::Args),
    /// The records of a ticket or a decision, for a person.
    Show(show::Args),
    /// Decisions by outcome, vehicle, rule, action, role, policy and day.
    Report(report::Args),
    /// Cut torn records out (saved beside the log) so writing can go on.
    Repair(repair::Args),
    /// Write a store's records (every writer) to a JSON Lines log file.
    Export(transfer::ExportArgs),
    /// Load a JSON Lines log file's records into a store.
    Import(transfer::ImportArgs),
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match &args.command {
        AuditCommand::Verify(args) => verify::run(args, out, err),
        AuditCommand::Replay(args) => replay::run(args, out, err),
        AuditCommand::Show(args) => show::run(args, out, err),
        AuditCommand::Report(args) => report::run(args, out, err),
        AuditCommand::Repair(args) => repair::run(args, out, err),
        AuditCommand::Export(args) => transfer::export(args, out, err),
        AuditCommand::Import(args) => transfer::import(args, out, err),
    }
}
