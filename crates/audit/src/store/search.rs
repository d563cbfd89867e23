//! A store's records read in place, for the service's workbench to search:
//! every writer's, in the order they were written.

use super::schema::connect;
use super::url::{failure, redacted};
use crate::{AuditError, Record};

/// Every record of the store at `url`, ordered by the time it was written
/// (then writer and `seq`), and the rows that are not records, each named
/// `URL#writer:seq`.
pub fn records(url: &str) -> Result<(Vec<Record>, Vec<String>), AuditError> {
    let mut client = connect(url)?;
    let rows = client
        .query("SELECT writer, seq, line FROM triage.records", &[])
        .map_err(failure(url))?;
    let mut records = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for row in rows {
        let (writer, seq, line): (&str, i64, &str) = (row.get(0), row.get(1), row.get(2));
        match serde_json::from_str::<Record>(line) {
            Ok(record) => records.push(record),
            Err(e) => problems.push(format!(
                "{}#{writer}:{seq}: not a decision record: {e}",
                redacted(url)
            )),
        }
    }
    records.sort_by(|a, b| (&a.at, &a.writer, a.seq).cmp(&(&b.at, &b.writer, b.seq)));
    Ok((records, problems))
}
