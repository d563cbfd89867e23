//! triage-service: decisions for other programs, on top of the engine and
//! the audit trail. `serve` is the HTTP service (routes, hot reload, metrics,
//! limits); `batch` decides JSON Lines on every core, in input order.

pub mod batch;
pub mod serve;
