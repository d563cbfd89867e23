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
    let mut problem = |writer: &str, seq: i64, why: &str| {
        problems.push(format!("{}#{writer}:{seq}: {why}", redacted(url)));
    };
    for row in &rows {
        let (writer, seq): (&str, i64) = (row.get(0), row.get(1));
        let lines = match unpacker.lines(row, 2, seq) {
            Ok(lines) => lines,
            Err(why) => {
                problem(writer, seq, &why);
                continue;
            }
        };
        for (seq, line) in (seq..).zip(lines.iter()) {
            match serde_json::from_str::<Record>(line) {
                Ok(record) => records.push(record),
                Err(e) => problem(writer, seq, &format!("not a decision record: {e}")),
            }
        }
    }
    records.sort_by(|a, b| (&a.at, &a.writer, a.seq).cmp(&(&b.at, &b.writer, b.seq)));
    Ok((records, problems))
}
