//! A store to the JSON Lines record format: `export` writes every writer's
//! records (ordered by writer, then `seq`) to one file, with the archived
//! bundles beside it as a file log keeps them, and the signed checkpoints
//! in its `.checkpoints` file, each line naming its writer
//! (`{"checkpoint": …, "writer": …}`). `import` loads such a file back.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::Value;

use super::pack::{COLUMNS, Unpacker, claimed_by};
use super::schema::{connect, snapshot};
use super::url::failure;
use crate::{Archive, AuditError, canonical, checkpoint};

/// Rows fetched from the server at a time: a packed row may hold about
/// 1 MB of lines (70 records pack to about 15 KB), and an export holds a
/// chunk in memory.
const CHUNK: i32 = 256;

/// What an export wrote: how many records of each writer, in file order.
#[derive(Debug, Default)]
pub struct Exported {
    pub writers: Vec<(String, u64)>,
    /// Each writer's signed checkpoints, in `seq` order, from the same
    /// snapshot: for `audit verify --trusted-key`.
    pub checkpoints: BTreeMap<String, Vec<Value>>,
    /// The rows that could not be read (`writer:seq: why`), each written
    /// in its place as lines that are not records (one a record it
    /// claims), which `verify` reports.
    pub unreadable: Vec<String>,
}

impl Exported {
    pub fn records(&self) -> u64 {
        self.writers.iter().map(|(_, n)| n).sum()
    }

    /// The writer and the row of that writer (1-based) at `line` of the file.
    pub fn locate(&self, line: usize) -> Option<(&str, u64)> {
        let mut line = u64::try_from(line).ok()?;
        for (writer, count) in &self.writers {
            if line <= *count {
                return Some((writer, line));
            }
            line -= count;
        }
        None
    }
}

/// The line written in place of a row that cannot be read: not a record,
/// so that reading the file finds the damage where the row was.
fn unreadable(why: &str) -> String {
    let line = serde_json::json!({ "unreadable": why });
    String::from_utf8_lossy(&canonical::encode(&line)).into_owned()
}

/// Writes every record of the store at `url` to `path` (replaced), in one
/// snapshot of the store, and its archived bundles to `path`'s archive.
pub fn export(url: &str, path: &Path) -> Result<Exported, AuditError> {
    let mut client = connect(url)?;
    let mut tx = snapshot(&mut client, url)?;
    let file = std::fs::File::create(path).map_err(AuditError::io("create", path))?;
    let mut out = BufWriter::new(file);
    let mut exported = Exported::default();
    let mut unpacker = Unpacker::load(&mut tx).map_err(failure(url))?;
    let select = format!("SELECT writer, seq, {COLUMNS} FROM triage.records ORDER BY writer, seq");
    let portal = tx.bind(&select, &[]).map_err(failure(url))?;
    loop {
        let rows = tx.query_portal(&portal, CHUNK).map_err(failure(url))?;
        for row in &rows {
            let (writer, seq): (String, i64) = (row.get(0), row.get(1));
            let count = export_row(&mut out, &mut unpacker, row, (&writer, seq), &mut exported)
                .map_err(AuditError::io("write", path))?;
            match exported.writers.last_mut() {
                Some((last, written)) if *last == writer => *written += count,
                _ => exported.writers.push((writer, count)),
            }
        }
        if rows.len() < usize::try_from(CHUNK).unwrap_or(0) {
            break;
        }
    }
    out.flush().map_err(AuditError::io("write", path))?;
    export_bundles(&mut tx, url, path)?;
    exported.checkpoints = export_checkpoints(&mut tx, url)?;
    write_checkpoints(&exported.checkpoints, path)?;
    Ok(exported)
}

/// Writes the lines of `row`, of `writer` from `seq`, to `out`: the lines
/// it holds, or as many lines that are not records as it claims to hold
/// (one, when that is not a number a row may hold), its damage noted in
/// `exported`. Returns how many lines it wrote.
fn export_row(
    out: &mut impl Write,
    unpacker: &mut Unpacker,
    row: &postgres::Row,
    (writer, seq): (&str, i64),
    exported: &mut Exported,
) -> std::io::Result<u64> {
    let mut count = 0;
    match unpacker.lines(row, 2, seq) {
        Ok(lines) => {
            for line in lines.iter() {
                writeln!(out, "{line}")?;
                count += 1;
            }
        }
        Err(why) => {
            exported.unreadable.push(format!("{writer}:{seq}: {why}"));
            let line = unreadable(&why);
            for _ in 0..claimed_by(row, 2, seq) {
                writeln!(out, "{line}")?;
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Writes `checkpoints` to the checkpoints file of the log at `path`
/// (replaced), so that `audit verify --trusted-key` of the export still
/// shows a cut tail.
fn write_checkpoints(
    checkpoints: &BTreeMap<String, Vec<Value>>,
    path: &Path,
) -> Result<(), AuditError> {
    let file = checkpoint::file_of(path);
    let mut text = Vec::new();
    for (writer, documents) in checkpoints {
        for document in documents {
            let line = serde_json::json!({ "checkpoint": document, "writer": writer });
            text.extend(canonical::encode(&line));
            text.push(b'\n');
        }
    }
    std::fs::write(&file, text).map_err(AuditError::io("write", &file))
}

/// The store's checkpoints by writer. A document that is not JSON is kept
/// as a string, for verify to call malformed.
fn export_checkpoints(
    tx: &mut postgres::Transaction<'_>,
    url: &str,
) -> Result<BTreeMap<String, Vec<Value>>, AuditError> {
    let rows = tx
        .query(
            "SELECT writer, document FROM triage.checkpoints ORDER BY writer, seq",
            &[],
        )
        .map_err(failure(url))?;
    let mut checkpoints: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in rows {
        let (writer, document): (String, &str) = (row.get(0), row.get(1));
        let document = serde_json::from_str(document).unwrap_or_else(|_| document.into());
        checkpoints.entry(writer).or_default().push(document);
    }
    Ok(checkpoints)
}

/// The store's archived bundles, into the archive beside `path`.
fn export_bundles(
    tx: &mut postgres::Transaction<'_>,
    url: &str,
    path: &Path,
) -> Result<(), AuditError> {
    let mut archive = Archive::of(path);
    let rows = tx
        .query(
            "SELECT digest, body FROM triage.bundles ORDER BY digest",
            &[],
        )
        .map_err(failure(url))?;
    for row in rows {
        let (digest, body): (&str, &str) = (row.get(0), row.get(1));
        let bundle = crate::archive::decode(digest, body.as_bytes(), "the store's bundle")?;
        archive.store(&bundle)?;
    }
    Ok(())
}
