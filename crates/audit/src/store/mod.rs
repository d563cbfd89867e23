//! The PostgreSQL decision store: the records of many writers (service
//! replicas, batch runs) in one database, each writer with a hash chain of
//! its own named by its writer id, so that writers never wait for one
//! another. A record is the same canonical line a file log holds (with its
//! `writer`), so every tool that reads files reads a store exported to one.
//!
//! `url` names a store, `schema` connects and creates or migrates the
//! tables, `writer` appends with grouped commits, `transfer` exports a store
//! to the JSON Lines format and `import` loads one back, `search` reads its
//! records in place; `pack` keeps the lines a writer commits together in
//! one row, compressed with a dictionary trained on the store's records,
//! and unpacks them for every reader.

mod import;
mod pack;
mod schema;
mod search;
mod transfer;
mod url;
mod writer;

pub use import::import;
pub use search::records;
pub use transfer::{Exported, export};
pub use url::{is_url, redacted};
pub use writer::StoreWriter;
