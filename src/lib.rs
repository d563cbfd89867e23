//! The `triage` command line, as a library so that tests run each subcommand
//! in-process: `cli` has one file and one function per subcommand, each
//! taking its arguments and writers and returning the exit code.
//!
//! The crates below it, lowest first:
//!
//! | crate            | what it does                                                  |
//! |------------------|---------------------------------------------------------------|
//! | `triage-engine`  | load, validate, compile, evaluate; the decision; the catalog; suites, the exact analysis (check, plan, table), ticket generation, JSON Schemas |
//! | `triage-audit`   | the hash-chained decision log, archive and masking; the recorder (decide, record, answer); verify, repair, replay, report, diff |
//! | `triage-service` | the HTTP service and batch mode                               |
//! | `triage` (this)  | the command line                                              |

pub mod cli;
