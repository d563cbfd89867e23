//! Connecting to a store, and its tables, created and migrated by the
//! binary itself: each migration runs once, in order, in one transaction
//! that also records the schema's new version, with the version table
//! locked so that replicas starting together migrate once.
//!
//! Version 1: `records` (one row a record: its writer, its `seq`, its
//! canonical line), `bundles` (the archive: a bundle's files by digest),
//! `settings` (the masking salt; the store's configuration), `writers` (one
//! row a writer id, locked by the live process writing as it).
//!
//! Version 2: `checkpoints` (one row a signed checkpoint of a writer's
//! chain: its writer, the `seq` it signs, the signed document).
//!
//! Version 3: the records' lines compressed with lz4 instead of pglz, when
//! the server has it. A line (about 3 KB) is compressed as it is stored,
//! and pglz was a third of the server's CPU per record; lz4 costs a
//! fraction of it and compresses these lines nearly as well. Rows stored
//! before keep their compression: both read alike.
//!
//! Version 4: `dictionaries` (zstd dictionaries trained on the store's own
//! records, by id and digest), and a record kept either plain (`line`) or
//! packed with one of them (`dictionary`, `packed`): see `pack`. Rows
//! stored before stay plain; the check holds for rows written from then on
//! (`NOT VALID`: a large store is not scanned, under lock, to migrate).
//!
//! Version 5: a packed row holds the records a writer committed together,
//! `seq` to `last`, as one frame (`last` empty: the one record at `seq`),
//! and the server keeps packed rows uncompressed. Rows stored before hold
//! one record each and read as they did.

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use super::url::{failure, redacted};
use crate::AuditError;

/// A connection to the store at `url`, its schema created or migrated.
pub(crate) fn connect(url: &str) -> Result<Client, AuditError> {
    let mut client = Client::connect(url, NoTls).map_err(failure(url))?;
    migrate(&mut client, url)?;
    Ok(client)
}

/// A read-only transaction on `client` that sees one snapshot of the store
/// throughout (repeatable read): its readers see every table as of one
/// moment, whatever writers do meanwhile.
pub(crate) fn snapshot<'c>(
    client: &'c mut Client,
    url: &str,
) -> Result<postgres::Transaction<'c>, AuditError> {
    client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(failure(url))
}

/// The migrations, in order; the schema's version is how many have run.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE triage.records (
        writer text NOT NULL,
        seq bigint NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (writer, seq)
    );
    CREATE TABLE triage.bundles (digest text PRIMARY KEY, body text NOT NULL);
    CREATE TABLE triage.settings (key text PRIMARY KEY, value bytea NOT NULL);
    CREATE TABLE triage.writers (writer text PRIMARY KEY);
",
    "
    CREATE TABLE triage.checkpoints (
        writer text NOT NULL,
        seq bigint NOT NULL,
        document text NOT NULL,
        PRIMARY KEY (writer, seq)
    );
",
    // A server built without lz4 keeps its default (pglz).
    "
    DO $$
    BEGIN
        ALTER TABLE triage.records ALTER COLUMN line SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported THEN NULL;
    END $$;
",
    "
    CREATE TABLE triage.dictionaries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        digest text NOT NULL UNIQUE,
        body bytea NOT NULL
    );
    ALTER TABLE triage.records
        ALTER COLUMN line DROP NOT NULL,
        ADD COLUMN dictionary bigint,
        ADD COLUMN packed bytea,
        ADD CONSTRAINT records_one_form CHECK (
            (line IS NULL) = (packed IS NOT NULL) AND (packed IS NULL) = (dictionary IS NULL)
        ) NOT VALID;
",
    // Packed rows are stored as they are: compressing a zstd frame again
    // only spends the server's CPU.
    "
    ALTER TABLE triage.records
        ADD COLUMN last bigint,
        ALTER COLUMN packed SET STORAGE EXTERNAL,
        ADD CONSTRAINT records_group CHECK (
            last IS NULL OR (packed IS NOT NULL AND last > seq)
        ) NOT VALID;
",
];

/// Tries to migrate this many times: processes creating the schema at the
/// same moment collide once, then find it made.
const ATTEMPTS: usize = 3;

/// Brings the store's schema to the newest version this binary knows, and
/// refuses a store migrated by a newer one.
fn migrate(client: &mut Client, url: &str) -> Result<(), AuditError> {
    let mut attempt = 1;
    loop {
        match migrate_once(client) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(version)) => {
                return Err(AuditError::Store {
                    store: redacted(url),
                    detail: format!(
                        "the schema is at version {version}, newer than this binary's {}",
                        MIGRATIONS.len()
                    ),
                });
            }
            Err(error) if attempt < ATTEMPTS && collided(&error) => attempt += 1,
            Err(error) => return Err(failure(url)(error)),
        }
    }
}

/// One attempt: `Ok(Err(version))` when the store is newer than this binary.
fn migrate_once(client: &mut Client) -> Result<Result<(), usize>, postgres::Error> {
    let mut tx = client.transaction()?;
    // Asked first so that a made store gives no notice of things skipped.
    let made: bool = tx
        .query_one(
            "SELECT to_regclass('triage.schema_version') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !made {
        tx.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS triage;
             CREATE TABLE IF NOT EXISTS triage.schema_version (version integer NOT NULL);",
        )?;
    }
    tx.batch_execute("LOCK TABLE triage.schema_version IN EXCLUSIVE MODE")?;
    let row = tx.query_one(
        "SELECT coalesce(max(version), 0) FROM triage.schema_version",
        &[],
    )?;
    let version = usize::try_from(row.get::<_, i32>(0)).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Ok(Err(version));
    }
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let next = i32::try_from(done + 1).unwrap_or(i32::MAX);
        tx.batch_execute(migration)?;
        tx.execute("DELETE FROM triage.schema_version", &[])?;
        tx.execute("INSERT INTO triage.schema_version VALUES ($1)", &[&next])?;
    }
    tx.commit().map(Ok)
}

/// Whether `error` is another process creating the schema at the same time.
fn collided(error: &postgres::Error) -> bool {
    [
        SqlState::UNIQUE_VIOLATION,
        SqlState::DUPLICATE_SCHEMA,
        SqlState::DUPLICATE_TABLE,
    ]
    .iter()
    .any(|state| error.code() == Some(state))
}

/// The store's masking secret, made from OS randomness by the first writer.
pub(super) fn salt(client: &mut Client, url: &str) -> Result<Vec<u8>, AuditError> {
    let mut fresh = vec![0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| AuditError::Store {
        store: redacted(url),
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
