//! The PostgreSQL decision store: the records of many writers (service
//! replicas, batch runs) in one database, each writer with a hash chain of
//! its own named by its writer id, so that writers never wait for one
//! another. A record is the same canonical line a file log holds (with its
//! `writer`), so every tool that reads files reads a store exported to one.
//!
//! `schema` creates and migrates the tables, `writer` appends with grouped
//! commits, `transfer` exports a store to the JSON Lines format and imports
//! one back.

mod schema;
mod transfer;
mod writer;

pub use transfer::{Exported, export, import};
pub use writer::StoreWriter;

use postgres::{Client, NoTls};

use super::AuditError;

/// Whether `location` names a store rather than a log file.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `url` without its password, to name the store in messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// A failure of the store at `url`, worded from the client's error.
pub(crate) fn failure(url: &str) -> impl Fn(postgres::Error) -> AuditError + '_ {
    move |error| AuditError::Store {
        store: redacted(url),
        detail: detail(&error),
    }
}

/// The server's message when there is one (the client's own `db error` says
/// nothing), else the client's.
fn detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    }
}

/// A connection to the store at `url`, its schema created or migrated.
pub(crate) fn connect(url: &str) -> Result<Client, AuditError> {
    let mut client = Client::connect(url, NoTls).map_err(failure(url))?;
    schema::migrate(&mut client, url)?;
    Ok(client)
}
