//! The store's tables, created and migrated by the binary itself: each
//! migration runs once, in order, in one transaction that also records the
//! schema's new version, under a lock so that replicas starting together
//! migrate once.
//!
//! Version 1: `records` (one row a record: its writer, its `seq`, its
//! canonical line), `bundles` (the archive: a bundle's files by digest),
//! `settings` (the masking salt; the store's configuration).

use postgres::Client;

use super::failure;
use crate::AuditError;

/// The migrations, in order; the schema's version is how many have run.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE triage.records (
        writer text NOT NULL,
        seq bigint NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (writer, seq)
    );
    CREATE TABLE triage.bundles (digest text PRIMARY KEY, body text NOT NULL);
    CREATE TABLE triage.settings (key text PRIMARY KEY, value bytea NOT NULL);
"];

/// Any number, the same in every process: the lock migrations run under.
const MIGRATION_LOCK: i64 = 0x7472_6961_6765;

/// Brings the store's schema to the newest version this binary knows, and
/// refuses a store migrated by a newer one.
pub(super) fn migrate(client: &mut Client, url: &str) -> Result<(), AuditError> {
    let mut tx = client.transaction().map_err(failure(url))?;
    // Locked first: two processes creating the schema at once would collide.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(failure(url))?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS triage;
         CREATE TABLE IF NOT EXISTS triage.schema_version (version integer NOT NULL);",
    )
    .map_err(failure(url))?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM triage.schema_version",
            &[],
        )
        .map_err(failure(url))?;
    let version = usize::try_from(row.get::<_, i32>(0)).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(AuditError::Store {
            store: super::redacted(url),
            detail: format!(
                "the schema is at version {version}, newer than this binary's {}",
                MIGRATIONS.len()
            ),
        });
    }
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let next = i32::try_from(done + 1).unwrap_or(i32::MAX);
        tx.batch_execute(migration).map_err(failure(url))?;
        tx.execute("DELETE FROM triage.schema_version", &[])
            .and_then(|_| tx.execute("INSERT INTO triage.schema_version VALUES ($1)", &[&next]))
            .map_err(failure(url))?;
    }
    tx.commit().map_err(failure(url))
}

/// The store's masking secret, made from OS randomness by the first writer.
pub(super) fn salt(client: &mut Client, url: &str) -> Result<Vec<u8>, AuditError> {
    let mut fresh = vec![0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| AuditError::Store {
        store: super::redacted(url),
        detail: format!("cannot make a salt: {e}"),
    })?;
    client
        .execute(
            "INSERT INTO triage.settings VALUES ('salt', $1) ON CONFLICT DO NOTHING",
            &[&fresh],
        )
        .map_err(failure(url))?;
    let row = client
        .query_one("SELECT value FROM triage.settings WHERE key = 'salt'", &[])
        .map_err(failure(url))?;
    Ok(row.get(0))
}
