//! A file log into a store: `import` loads an export (or any intact file
//! log, under a writer id, with its checkpoints) in one transaction, each
//! writer's consecutive records in rows as its commits would put them.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::pack::{GROUP_BYTES, GROUP_LINES, INSERT_PACKED, INSERT_PLAIN, Packer};
use super::schema::connect;
use super::url::failure;
use crate::{Archive, AuditError, canonical, checkpoint, read, verify};

/// Loads the records of the log at `path` (with its segments and archive)
/// into the store at `url`, in one transaction. A record that names no
/// writer goes under `writer`. Refused unless the log verifies, and when the
/// store already holds a record at the same place.
pub fn import(path: &Path, url: &str, writer: Option<&str>) -> Result<u64, AuditError> {
    let checked = verify::verify(&[path.to_path_buf()])?;
    if let Some(broken) = checked.broken {
        return Err(AuditError::Damaged {
            path: broken.file,
            line: broken.line,
            detail: format!("{}: {}; nothing was imported", broken.damage, broken.detail),
        });
    }
    let mut client = connect(url)?;
    let mut tx = client.transaction().map_err(failure(url))?;
    let packer = Packer::load(&mut tx).map_err(failure(url))?;
    let mut importer = Importer {
        tx,
        packer,
        url,
        path,
        writer,
        digests: BTreeSet::new(),
        run: None,
    };
    let mut count = 0;
    let mut failed = Ok(());
    // Each line goes in as it is, so fields this binary does not know survive.
    read::lines(&read::files(&[path.to_path_buf()])?, |line| {
        failed = importer.read(&line);
        count += 1;
        failed.is_ok()
    })?;
    failed?;
    importer.insert()?;
    let Importer {
        mut tx,
        mut packer,
        digests,
        ..
    } = importer;
    packer.settle(&mut tx).map_err(failure(url))?;
    import_bundles(&mut tx, url, path, &digests)?;
    import_checkpoints(&mut tx, url, path, writer)?;
    tx.commit().map_err(failure(url))?;
    Ok(count)
}

/// An import under way, in one transaction: the records read and not yet
/// inserted are one writer's, in `seq` order, and go in together as a
/// writer commits them (packed in groups once the store has a dictionary).
struct Importer<'t, 'a> {
    tx: postgres::Transaction<'t>,
    packer: Packer,
    url: &'a str,
    path: &'a Path,
    /// The writer of records that name none.
    writer: Option<&'a str>,
    /// The bundles the records name.
    digests: BTreeSet<String>,
    run: Option<Run>,
}

/// Consecutive records of one writer, read and not yet inserted: as many
/// as one row may hold, so that an import holds no more than that.
struct Run {
    owner: String,
    seqs: Vec<i64>,
    lines: Vec<String>,
    bytes: usize,
    /// The line of the file its first record was on.
    line: usize,
}

impl Importer<'_, '_> {
    /// Reads the record on `line`: notes its bundle and adds it to the run,
    /// which is inserted first when the record does not follow it.
    fn read(&mut self, line: &read::Line) -> Result<(), AuditError> {
        let (owner, seq, digest) =
            fields(&line.text, self.writer).map_err(|detail| self.damaged(line.number, detail))?;
        let text = String::from_utf8(line.text.clone())
            .map_err(|e| self.damaged(line.number, e.to_string()))?;
        self.digests.insert(digest);
        let follows = self.run.as_ref().is_some_and(|run| {
            run.owner == owner
                && run
                    .seqs
                    .last()
                    .is_some_and(|last| last.checked_add(1) == Some(seq))
                && run.lines.len() < GROUP_LINES
                && run.bytes + text.len() < GROUP_BYTES
        });
        if !follows {
            self.insert()?;
        }
        let run = self.run.get_or_insert_with(|| Run {
            owner,
            seqs: Vec::new(),
            lines: Vec::new(),
            bytes: 0,
            line: line.number,
        });
        run.seqs.push(seq);
        run.bytes += text.len() + 1;
        run.lines.push(text);
        Ok(())
    }

    /// Inserts the run read so far; refused where the store already holds
    /// a record of its writer in its range.
    fn insert(&mut self) -> Result<(), AuditError> {
        let Some(run) = self.run.take() else {
            return Ok(());
        };
        let (Some(&first), Some(&last)) = (run.seqs.first(), run.seqs.last()) else {
            return Ok(());
        };
        // The rows of a writer do not overlap: only the last one to start
        // at or before the run's end can hold a record of it.
        let held = self.tx.query_opt(
            "SELECT seq, last FROM triage.records WHERE writer = $1 AND seq <= $2
             ORDER BY seq DESC LIMIT 1",
            &[&run.owner, &last],
        );
        if let Some(row) = held.map_err(|e| self.refused(run.line, e))? {
            let (seq, end): (i64, Option<i64>) = (row.get(0), row.get(1));
            if end.unwrap_or(seq) >= first {
                let detail = format!(
                    "the store already holds a record of writer `{}` at seq {}, \
                     among the records {first} to {last} read from here",
                    run.owner,
                    seq.max(first)
                );
                return Err(self.damaged(run.line, detail));
            }
        }
        let lines: Vec<&str> = run.lines.iter().map(String::as_str).collect();
        let inserts = (INSERT_PLAIN, INSERT_PACKED);
        let inserted = (self.packer).insert(&mut self.tx, inserts, &run.owner, &run.seqs, &lines);
        inserted.map_err(|e| self.refused(run.line, e))
    }

    /// The server's refusal of the records from `line` on.
    fn refused(&self, line: usize, error: postgres::Error) -> AuditError {
        self.damaged(line, failure(self.url)(error).to_string())
    }

    fn damaged(&self, line: usize, detail: String) -> AuditError {
        AuditError::Damaged {
            path: self.path.to_path_buf(),
            line,
            detail,
        }
    }
}

/// The writer (the record's, or `writer`), `seq` and bundle digest of a
/// record's line; or why it has none.
fn fields(text: &[u8], writer: Option<&str>) -> Result<(String, i64, String), String> {
    let value: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let field = |name: &str| value.get(name).and_then(Value::as_str);
    let owner = field("writer")
        .or(writer)
        .ok_or("the record names no writer: import it with `--writer`")?;
    let seq = value.get("seq").and_then(Value::as_i64).ok_or("no `seq`")?;
    let digest = value
        .pointer("/policy/digest")
        .and_then(Value::as_str)
        .ok_or("no `policy.digest`")?;
    Ok((owner.to_owned(), seq, digest.to_owned()))
}

fn import_bundles(
    tx: &mut postgres::Transaction<'_>,
    url: &str,
    path: &Path,
    digests: &BTreeSet<String>,
) -> Result<(), AuditError> {
    let mut archive = Archive::of(path);
    for digest in digests {
        let body = crate::archive::encode(&archive.load(digest)?)?;
        tx.execute(
            "INSERT INTO triage.bundles VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[digest, &body],
        )
        .map_err(failure(url))?;
    }
    Ok(())
}

/// Loads the checkpoints beside the log at `path`: an export's, each under
/// the writer its line names, or a file log's own, under `writer`. They are
/// carried as they are; `audit verify --trusted-key` judges them.
fn import_checkpoints(
    tx: &mut postgres::Transaction<'_>,
    url: &str,
    path: &Path,
    writer: Option<&str>,
) -> Result<(), AuditError> {
    let file = checkpoint::file_of(path);
    if !file.exists() {
        return Ok(());
    }
    let mut failed = Ok(());
    read::lines(std::slice::from_ref(&file), |line| {
        failed =
            import_checkpoint(tx, url, writer, &line.text).map_err(|detail| AuditError::Damaged {
                path: file.clone(),
                line: line.number,
                detail,
            });
        failed.is_ok()
    })?;
    failed
}

/// Inserts one checkpoint line, or says why it cannot.
fn import_checkpoint(
    tx: &mut postgres::Transaction<'_>,
    url: &str,
    writer: Option<&str>,
    text: &[u8],
) -> Result<(), String> {
    let value: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let (owner, document) = match (value.get("writer"), value.get("checkpoint")) {
        (Some(Value::String(owner)), Some(document)) => (owner.as_str(), document),
        _ => (
            writer.ok_or("the checkpoint names no writer: import it with `--writer`")?,
            &value,
        ),
    };
    let seq = document
        .get("seq")
        .and_then(Value::as_i64)
        .ok_or("no `seq`")?;
    let document = String::from_utf8(canonical::encode(document)).map_err(|e| e.to_string())?;
    tx.execute(
        "INSERT INTO triage.checkpoints (writer, seq, document) VALUES ($1, $2, $3)",
        &[&owner, &seq, &document],
    )
    .map_err(|e| failure(url)(e).to_string())?;
    Ok(())
}
