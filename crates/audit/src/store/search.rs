//! A store's records read in place, for the service's workbench to search:
//! every writer's, in the order they were written.

use super::pack::{COLUMNS, Unpacker};
use super::schema::{connect, snapshot};
use super::url::{failure, redacted};
use crate::{AuditError, Record};

/// Every record of the store at `url`, ordered by the time it was written
/// (then writer and `seq`), and the rows that are not records, each named
/// `URL#writer:seq`.
pub fn records(url: &str) -> Result<(Vec<Record>, Vec<String>), AuditError> {
    let mut client = connect(url)?;
    let mut tx = snapshot(&mut client, url)?;
    let mut unpacker = Unpacker::load(&mut tx).map_err(failure(url))?;
    let rows = tx
        .query(
            &format!("SELECT writer, seq, {COLUMNS} FROM triage.records"),
            &[],
        )
        .map_err(failure(url))?;
    let mut records = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for row in &rows {
        let (writer, seq): (&str, i64) = (row.get(0), row.get(1));
        let read = unpacker.line(row, 2).and_then(|line| {
            serde_json::from_str::<Record>(&line).map_err(|e| format!("not a decision record: {e}"))
        });
        match read {
            Ok(record) => records.push(record),
            Err(why) => problems.push(format!("{}#{writer}:{seq}: {why}", redacted(url))),
        }
    }
    records.sort_by(|a, b| (&a.at, &a.writer, a.seq).cmp(&(&b.at, &b.writer, b.seq)));
    Ok((records, problems))
}
