//! The PostgreSQL decision store against a real server, started by
//! `scripts/postgres.sh` (which `.ci/run` calls): the URL comes in
//! `TRIAGE_TEST_POSTGRES`. Each test works in a database of its own.
//!
//! Tampering with a row (edit, delete, reorder, insert) is caught by `audit
//! verify` read straight from the store; two replicas write to one store
//! under load, one is killed mid-load and restarted, and every answered
//! decision is in the store exactly once, on chains that verify. Rows
//! packed with the store's dictionary read, verify and show tampering as
//! plain ones do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::{Client, NoTls};
use serde_json::Value;

use crate::common::binary;
use crate::serve_support::{POLICIES, Process, example};

/// A database of its own on the test server, dropped at the end; `None`
/// (the test skips, loudly) when no server was started outside CI.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn new(test: &str) -> Option<Database> {
        let Ok(admin) = std::env::var("TRIAGE_TEST_POSTGRES") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must start PostgreSQL (scripts/postgres.sh start)"
            );
            eprintln!("SKIPPED: no PostgreSQL (eval \"$(bash scripts/postgres.sh start)\")");
            return None;
        };
        let name = format!("{test}_{}", std::process::id());
        let mut client = Client::connect(&admin, NoTls).unwrap();
        // One statement at a time: a multi-statement string runs as one transaction.
        let drop = format!("DROP DATABASE IF EXISTS {name}");
        client.batch_execute(&drop).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        Some(Database { admin, name, url })
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }

    /// `sql` on the store, as someone tampering with it would run it.
    fn run(&self, sql: &str) {
        self.client().batch_execute(sql).unwrap();
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.admin, NoTls) {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = client.batch_execute(&sql);
        }
    }
}

/// A ticket with an id of its own.
fn ticket(id: &str) -> Value {
    let mut ticket = example();
    ticket["id"] = Value::String(id.to_owned());
    ticket
}

/// Decides `count` tickets with `triage eval` as `writer`, into the store.
fn eval_into(db: &Database, writer: &str, count: usize) {
    eval_with(db, writer, count, &[]);
}

/// `eval_into` with `extra` arguments.
fn eval_with(db: &Database, writer: &str, count: usize, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tickets.jsonl");
    let lines: Vec<String> = (0..count)
        .map(|i| ticket(&format!("{writer}-{i}")).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("out.jsonl");
    let mut args = vec![
        "eval",
        "--policies",
        POLICIES,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--decision-log",
        &db.url,
        "--writer-id",
        writer,
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = binary(&args);
    assert_eq!(code, 0, "{err}");
}

/// `triage audit verify URL`: exit code and output.
fn verify(db: &Database) -> (i32, String) {
    let (code, out, err) = binary(&["audit", "verify", &db.url]);
    (code, out + err.as_str())
}

#[test]
fn every_kind_of_tampering_with_a_row_is_caught_by_verify() {
    let Some(db) = Database::new("tamper") else {
        return;
    };
    eval_into(&db, "a", 4);
    eval_into(&db, "b", 2);
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 6 records of 2 writer(s)"), "{out}");
    assert!(out.contains("writer a: 4 records"), "{out}");

    let restore = keep(&db);
    let tampering = [
        (
            "edited",
            "UPDATE triage.records SET line = replace(line, '\"a-1\"', '\"a-9\"') \
             WHERE writer = 'a' AND seq = 2",
        ),
        (
            "deleted",
            "DELETE FROM triage.records WHERE writer = 'a' AND seq = 2",
        ),
        (
            "reordered",
            "UPDATE triage.records SET seq = -seq WHERE writer = 'a' AND seq IN (2, 3); \
             UPDATE triage.records SET seq = 5 + seq WHERE writer = 'a' AND seq < 0",
        ),
        (
            "inserted",
            "INSERT INTO triage.records SELECT writer, 9, line FROM kept \
             WHERE writer = 'a' AND seq = 1",
        ),
    ];
    for (damage, sql) in tampering {
        db.run(sql);
        let (code, out) = verify(&db);
        assert_eq!(code, 1, "{damage} not caught: {out}");
        assert!(out.contains("#a:"), "{damage}: the writer is named: {out}");
        assert!(out.contains(&format!(": {damage}: ")), "{damage}: {out}");
        db.run(restore);
    }
    assert_eq!(verify(&db).0, 0);
}

#[test]
fn a_store_exported_and_imported_again_reads_the_same() {
    let Some(db) = Database::new("transfer") else {
        return;
    };
    eval_into(&db, "a", 3);
    eval_into(&db, "b", 2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.jsonl");
    let (code, out, err) = binary(&[
        "audit",
        "export",
        &db.url,
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("exported 5 records of 2 writer(s)"), "{out}");
    let (code, out, _) = binary(&["audit", "verify", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = binary(&["audit", "replay", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    db.run("DELETE FROM triage.records; DELETE FROM triage.bundles");
    let (code, _, err) = binary(&["audit", "import", file.to_str().unwrap(), &db.url]);
    assert_eq!(code, 0, "{err}");
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 5 records"), "{out}");
    let (code, out, err) = binary(&["audit", "replay", &db.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 identical"), "{out}");
    // The other readers take the store's URL where they take a log.
    let (code, out, err) = binary(&["audit", "show", &db.url, "--ticket", "b-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{}#b:2)", db.url)), "{out}");
    let (code, out, err) = binary(&["audit", "report", &db.url, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["log"], Value::String(db.url.clone()));
    assert!(out.contains("intact: 5 records"), "{out}");
    let (code, out, err) = binary(&[
        "diff",
        "--base",
        POLICIES,
        "--head",
        POLICIES,
        "--tickets",
        &db.url,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5 tickets, 0 decisions change"), "{out}");
    let (code, out, _) = binary(&["audit", "repair", &db.url]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to repair"), "{out}");
    // A store migrated by a newer binary is refused, not written to.
    db.run("UPDATE triage.schema_version SET version = 99");
    let (code, _, err) = binary(&["audit", "verify", &db.url]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the schema is at version 99, newer than this binary's 5"),
        "{err}"
    );
    // A store of version 2, its records in it, is migrated: its lines
    // compressed with lz4 from then on, and kept plain or packed.
    let compression = || -> String {
        let sql = "SELECT attcompression::text FROM pg_attribute \
                   WHERE attrelid = 'triage.records'::regclass AND attname = 'line'";
        db.client().query_one(sql, &[]).unwrap().get(0)
    };
    assert_eq!(compression(), "l");
    db.run(
        "DROP TABLE triage.dictionaries; \
         ALTER TABLE triage.records DROP CONSTRAINT records_one_form, \
             DROP CONSTRAINT records_group, DROP COLUMN last, \
             DROP COLUMN dictionary, DROP COLUMN packed, ALTER COLUMN line SET NOT NULL; \
         ALTER TABLE triage.records ALTER COLUMN line SET COMPRESSION pglz; \
         UPDATE triage.schema_version SET version = 2",
    );
    assert_eq!(verify(&db).0, 0);
    assert_eq!(compression(), "l");
    let version: i32 = db
        .client()
        .query_one("SELECT version FROM triage.schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 5);
    // A row of neither form, or of both, is refused from then on.
    let refused = db.client().batch_execute(
        "INSERT INTO triage.records (writer, seq, line, dictionary, packed) \
         VALUES ('c', 1, '{}', 1, '\\x00')",
    );
    let refused = refused.unwrap_err();
    let refused = refused.as_db_error().unwrap().message();
    assert!(refused.contains("records_one_form"), "{refused}");
    // So is a group that is plain, or ends before it starts.
    for row in ["'c', 1, 2, '{}', NULL, NULL", "'c', 2, 1, NULL, 1, '\\x00'"] {
        let refused = db.client().batch_execute(&format!(
            "INSERT INTO triage.records (writer, seq, last, line, dictionary, packed) \
             VALUES ({row})"
        ));
        let refused = refused.unwrap_err();
        let refused = refused.as_db_error().unwrap().message();
        assert!(refused.contains("records_group"), "{refused}");
    }
    // A second import of the same records is refused whole.
    import_refused(
        &db,
        file.to_str().unwrap(),
        "line 1 is damaged (the store already holds a record of writer `a` at seq 3, \
         among the records 1 to 3 read from here)",
    );
}

/// How many of the store's records are packed, and how many plain.
fn forms(db: &Database) -> (i64, i64) {
    let sql = "SELECT coalesce(sum(coalesce(last, seq) - seq + 1) \
                   FILTER (WHERE packed IS NOT NULL), 0)::bigint, count(line) \
               FROM triage.records";
    let row = db.client().query_one(sql, &[]).unwrap();
    (row.get(0), row.get(1))
}

/// The `seq`s of `writer`'s records, as the workbench reads them.
fn seqs_of(db: &Database, writer: &str) -> Vec<u64> {
    let records = records(db).into_iter();
    let of_writer = records.filter(|r| r.writer.as_deref() == Some(writer));
    of_writer.map(|r| r.seq).collect()
}

/// The store exported to a file in a fresh directory (kept while the
/// directory is), and the file's path.
fn exported(db: &Database) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.jsonl");
    let output = file.to_str().unwrap().to_owned();
    let (code, _, err) = binary(&["audit", "export", &db.url, "--output", &output]);
    assert_eq!(code, 0, "{err}");
    (dir, output)
}

/// `audit import` of `file` into the store, refused as `said`.
fn import_refused(db: &Database, file: &str, said: &str) {
    let (code, _, err) = binary(&["audit", "import", file, &db.url]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(said), "{err}");
}

/// Keeps a copy of the store's records aside (table `kept`); returns the
/// SQL that puts them back as they were.
fn keep(db: &Database) -> &'static str {
    db.run("CREATE TABLE kept AS SELECT * FROM triage.records");
    "DELETE FROM triage.records; INSERT INTO triage.records SELECT * FROM kept"
}

/// Each of `writer`'s rows: its `seq`, and its `last` for a group.
fn rows_of(db: &Database, writer: &str) -> Vec<(i64, Option<i64>)> {
    let sql = "SELECT seq, last FROM triage.records WHERE writer = $1 ORDER BY seq";
    let rows = db.client().query(sql, &[&writer]).unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

#[test]
fn once_the_store_has_a_dictionary_its_rows_are_packed_and_read_alike() {
    let Some(db) = Database::new("packed") else {
        return;
    };
    // The first writer keeps its lines plain and trains a dictionary on
    // them, stored by the time it closes.
    eval_into(&db, "a", 1_000);
    assert_eq!(forms(&db), (0, 1_000));
    let dictionaries = "SELECT count(*) FROM triage.dictionaries";
    let count: i64 = db.client().query_one(dictionaries, &[]).unwrap().get(0);
    assert_eq!(count, 1);
    // The next writer packs from its first record, to a fraction of the bytes.
    eval_into(&db, "b", 5);
    assert_eq!(forms(&db), (5, 1_000));
    let sizes = "SELECT avg(octet_length(packed)) / (SELECT avg(octet_length(line)) \
                 FROM triage.records)::float8 FROM triage.records";
    let ratio: f64 = db.client().query_one(sizes, &[]).unwrap().get(0);
    assert!(ratio < 0.25, "packed to {ratio} of a line");
    // A writer reloads its head from a packed row and chains on.
    eval_into(&db, "b", 2);
    assert_eq!(forms(&db), (7, 1_000));
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 1007 records of 2 writer(s)"), "{out}");
    assert_eq!(seqs_of(&db, "b"), [1, 2, 3, 4, 5, 6, 7]);
    let (code, out, err) = binary(&["audit", "replay", &db.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1007 identical"), "{out}");
    // A store whose rows must stay readable in SQL keeps them plain.
    db.run("INSERT INTO triage.settings VALUES ('rows', 'plain')");
    eval_into(&db, "c", 3);
    assert_eq!(forms(&db), (7, 1_003));
    db.run("DELETE FROM triage.settings WHERE key = 'rows'");
    // A packed row edited is caught as an edited line is.
    let restore = keep(&db);
    let edit =
        |sql: &str| format!("UPDATE triage.records SET {sql} WHERE writer = 'b' AND seq = 3");
    for damage in [
        "packed = overlay(packed placing '\\x00' from 20 for 1)",
        "packed = substring(packed from 1 for 40)",
        "packed = (SELECT packed FROM kept WHERE writer = 'b' AND seq = 4)",
    ] {
        db.run(&edit(damage));
        let (code, out) = verify(&db);
        assert_eq!(code, 1, "{damage} not caught: {out}");
        assert!(out.contains("#b:3: "), "{damage}: the row is named: {out}");
        db.run(restore);
    }
    db.run("DROP TABLE kept");
    // Exported and imported again into the store with its dictionary,
    // every record is packed, the plain ones too, each writer's in groups
    // (a's 2.2 MB of lines in rows of about 1 MB).
    let (_dir, output) = exported(&db);
    let output = output.as_str();
    db.run("DELETE FROM triage.records");
    let (code, _, err) = binary(&["audit", "import", output, &db.url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(forms(&db), (1_010, 0));
    assert_eq!(rows_of(&db, "b"), [(1, Some(7))]);
    assert_eq!(rows_of(&db, "c"), [(1, Some(3))]);
    let rows = rows_of(&db, "a").len();
    assert!((3..=4).contains(&rows), "a's records in {rows} rows");
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 1010 records of 3 writer(s)"), "{out}");

    // Without its dictionary, a packed row is unreadable, and said so.
    db.run("DELETE FROM triage.dictionaries");
    let (code, out) = verify(&db);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("#a:1: "), "{out}");
    let why = "#a:1: packed with dictionary 1, which the store does not hold\n";
    assert!(out.contains(why), "{out}");
    let (code, out, err) = binary(&["audit", "export", &db.url, "--output", output]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("exported 1010 records"), "{out}");
    let unreadable = format!(
        "error: {}#b:1: packed with dictionary 1, which the store does not hold; \
         written in its place as lines that are not records",
        db.url
    );
    assert!(err.contains(&unreadable), "{err}");
    // One error a row, each row's records written as lines that are not.
    assert_eq!(err.lines().count(), rows + 2, "{err}");
    let (read, problems) = triage_audit::store::records(&db.url).unwrap();
    assert_eq!((read.len(), problems.len()), (0, rows + 2));
}

#[test]
fn records_committed_together_share_one_packed_row_and_damage_to_it_is_caught() {
    let Some(db) = Database::new("groups") else {
        return;
    };
    eval_into(&db, "a", 1_000);
    // A batch is recorded in one commit: with a dictionary in the store,
    // its twenty records go in one packed row, and a lone one in its own.
    let server = serve(&db, "b");
    let batch: Vec<Value> = (0..20).map(|i| ticket(&format!("b-{i}"))).collect();
    let response = request(
        server.addr,
        "POST /v1/decisions/batch",
        &Value::Array(batch).to_string(),
    );
    assert!(response.unwrap().starts_with("HTTP/1.1 200"));
    assert_eq!(post(server.addr, &ticket("b-20").to_string()), Some(200));
    drop(server);
    let rows = || rows_of(&db, "b");
    assert_eq!(rows(), [(1, Some(20)), (21, None)]);
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 1021 records of 2 writer(s)"), "{out}");
    assert_eq!(seqs_of(&db, "b"), (1..=21).collect::<Vec<u64>>());

    // A group row damaged, cut, stretched or taken away is caught, and the
    // row is named.
    let restore = keep(&db);
    let edit =
        |sql: &str| format!("UPDATE triage.records SET {sql} WHERE writer = 'b' AND seq = 1");
    for (damage, said) in [
        (
            edit("packed = overlay(packed placing '\\x00' from 30 for 1)"),
            "#b:1: ",
        ),
        (
            edit("last = 19"),
            "#b:1: its packed group holds 20 line(s) for the 19 records 1 to 19",
        ),
        (
            edit("last = 5000"),
            "#b:1: the row claims the records 1 to 5000, which no group holds",
        ),
        (edit("seq = 2"), "#b:"),
        (
            "DELETE FROM triage.records WHERE writer = 'b' AND seq = 1".to_owned(),
            "#b:",
        ),
    ] {
        db.run(&damage);
        let (code, out) = verify(&db);
        assert_eq!(code, 1, "{damage} not caught: {out}");
        assert!(out.contains(said), "{damage}: {out}");
        db.run(restore);
    }
    // An import of records a group row already holds is refused whole.
    let (_dir, output) = exported(&db);
    let output = output.as_str();
    db.run("DELETE FROM triage.records WHERE writer = 'a' OR seq = 21");
    import_refused(
        &db,
        output,
        "line 1001 is damaged (the store already holds a record of writer `b` at seq 1, \
         among the records 1 to 21 read from here)",
    );
    assert_eq!(rows_of(&db, "a"), []);
    db.run(restore);
    // A writer reloads its head from a group row and chains on.
    db.run("DELETE FROM triage.records WHERE writer = 'b' AND seq = 21");
    let server = serve(&db, "b");
    assert_eq!(post(server.addr, &ticket("b-again").to_string()), Some(200));
    drop(server);
    assert_eq!(rows(), [(1, Some(20)), (21, None)]);
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 1021 records of 2 writer(s)"), "{out}");
}

/// `triage serve` writing to the store as `writer`, both given in the
/// environment as the Kubernetes manifests give them; retried while the
/// writer id is still held by a killed process's connection.
fn serve(db: &Database, writer: &str) -> Process {
    serve_with(db, writer, Path::new(POLICIES), &["--no-watch"])
}

/// `serve` of the bundle at `policies` with `extra` arguments.
fn serve_with(db: &Database, writer: &str, policies: &Path, extra: &[&str]) -> Process {
    let env = [
        ("TRIAGE_DECISION_LOG", db.url.as_str()),
        ("TRIAGE_WRITER_ID", writer),
    ];
    for _ in 0..50 {
        if let Some(process) = Process::try_start(policies, extra, &env) {
            return process;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("serve as writer `{writer}` did not start");
}

/// Posts one ticket; the status, or `None` when the connection failed
/// (the server was killed).
fn post(addr: SocketAddr, body: &str) -> Option<u16> {
    let response = request(addr, "POST /v1/decisions", body)?;
    response.split(' ').nth(1)?.parse().ok()
}

/// The whole response to `line` (method and path) with `body`, or `None`
/// when the connection failed.
fn request(addr: SocketAddr, line: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let head = format!(
        "{line} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// The store's records, read as the workbench reads them (plain or
/// packed), none of them unreadable.
fn records(db: &Database) -> Vec<triage_audit::Record> {
    let (records, problems) = triage_audit::store::records(&db.url).unwrap();
    assert_eq!(problems, Vec::<String>::new());
    records
}

/// The ticket ids in the store's records, each with how often it is there.
fn recorded(db: &Database) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for record in records(db) {
        let id = record.ticket["id"].as_str().unwrap().to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[test]
fn two_replicas_one_killed_mid_load_lose_no_answered_decision() {
    let Some(db) = Database::new("replicas") else {
        return;
    };
    let replicas = Arc::new(Mutex::new(vec![serve(&db, "a"), serve(&db, "b")]));
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (replicas, stop, answered) = (
                Arc::clone(&replicas),
                Arc::clone(&stop),
                Arc::clone(&answered),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("load-{c}-{n}");
                    let addr = replicas.lock().unwrap()[n % 2].addr;
                    if post(addr, &ticket(&id).to_string()) == Some(200) {
                        answered.lock().unwrap().push(id);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    let answered_count = || answered.lock().unwrap().len();
    let wait_for = |count: usize| {
        while answered_count() < count {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(200);
    // Killed mid-load: no shutdown, requests in flight.
    replicas.lock().unwrap()[0].signal("KILL");
    let before = answered_count();
    wait_for(before + 100);
    let restarted = serve(&db, "a");
    let mut killed = std::mem::replace(&mut replicas.lock().unwrap()[0], restarted);
    assert!(!killed.wait(Duration::from_secs(10)).success());
    let before = answered_count();
    wait_for(before + 200);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    replicas.lock().unwrap().clear();

    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("writer a:") && out.contains("writer b:"),
        "{out}"
    );
    let counts = recorded(&db);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "recorded more than once: {twice:?}");
    let answered = answered.lock().unwrap();
    let lost: Vec<_> = answered
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "answered but not recorded: {lost:?}");
    assert!(answered.len() >= 500);
}

#[test]
fn a_writer_that_loses_the_store_answers_503_then_recovers_by_itself() {
    let Some(db) = Database::new("unreachable") else {
        return;
    };
    let server = serve(&db, "a");
    let addr = server.addr;
    assert_eq!(post(addr, &ticket("before").to_string()), Some(200));
    // One live process per writer id.
    let (code, _, err) = binary(&[
        "eval",
        "--policies",
        POLICIES,
        "--decision-log",
        &db.url,
        "--writer-id",
        "a",
        crate::serve_support::EXAMPLE,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("writer `a`") && err.contains("in use by another process"),
        "{err}"
    );
    // The store drops the writer's connection, as a restart or failover does.
    db.run(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    let mut statuses = Vec::new();
    let mut answered = Vec::new();
    for n in 0..200 {
        let id = format!("after-{n}");
        let status = post(addr, &ticket(&id).to_string());
        if status == Some(200) {
            answered.push(id);
            if statuses.contains(&Some(503)) {
                break;
            }
        }
        statuses.push(status);
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    assert!(
        statuses.contains(&Some(503)),
        "the lost store is answered 503: {statuses:?}"
    );
    assert!(!answered.is_empty(), "the writer recovers: {statuses:?}");
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    let counts = recorded(&db);
    for id in answered.iter().chain([&"before".to_owned()]) {
        assert_eq!(counts.get(id), Some(&1), "{id}");
    }
}

/// The status of `GET path`, polled until it is `want` (or 20 s pass); the
/// last response.
fn poll(addr: SocketAddr, path: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        last = request(addr, &format!("GET {path}"), "").unwrap_or_default();
        if last.starts_with(&format!("HTTP/1.1 {want}")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

#[test]
fn a_replica_is_not_ready_while_its_store_is_out_of_reach() {
    let Some(db) = Database::new("readiness") else {
        return;
    };
    let server = serve(&db, "a");
    assert!(poll(server.addr, "/readyz", "200").starts_with("HTTP/1.1 200"));
    // The store only queues a record on the deciding thread: the shipped
    // pack decides in place, as without a log.
    let metrics = request(server.addr, "GET /metrics", "").unwrap();
    assert!(
        metrics.contains("\ntriage_policy_decides_in_place 1\n"),
        "{metrics}"
    );
    // The store goes away while the replica is idle: no decision fails to
    // tell it, yet it leaves the rotation.
    let mut admin = Client::connect(&db.admin, NoTls).unwrap();
    let allow = |on: bool| format!("ALTER DATABASE {} ALLOW_CONNECTIONS {on}", db.name);
    admin.batch_execute(&allow(false)).unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            db.name
        ))
        .unwrap();
    let ready = poll(server.addr, "/readyz", "503");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    assert!(
        ready.contains(r#""decision_log":"the decision store is unreachable: "#),
        "{ready}"
    );
    assert_eq!(post(server.addr, &ticket("away").to_string()), Some(503));
    // Back: ready again, and answering, with no restart.
    admin.batch_execute(&allow(true)).unwrap();
    let ready = poll(server.addr, "/readyz", "200");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert_eq!(post(server.addr, &ticket("back").to_string()), Some(200));
    drop(server);
    assert_eq!(verify(&db).0, 0);
    assert_eq!(recorded(&db).get("back"), Some(&1));
}

/// A key pair written by `triage keygen` into `dir`: (private, public).
fn keygen(dir: &Path, name: &str) -> (String, String) {
    let prefix = dir.join(name);
    let (code, _, err) = binary(&["keygen", "--out", prefix.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let path = |ext| prefix.with_extension(ext).to_str().unwrap().to_owned();
    (path("key"), path("pub"))
}

#[test]
fn a_writers_tail_cut_after_its_checkpoint_is_caught_by_verify() {
    let Some(db) = Database::new("signed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "writer");
    let signed = ["--checkpoint-key", &private, "--checkpoint-every", "2"];
    eval_with(&db, "a", 5, &signed);
    eval_into(&db, "b", 2);
    let check = || binary(&["audit", "verify", &db.url, "--trusted-key", &public]);
    let (code, out, err) = check();
    assert_eq!(code, 0, "{out}{err}");
    // Every 2 records, and the head at close.
    assert!(
        out.contains("writer a: checkpoints: 3 good, signed through record 5\n"),
        "{out}"
    );
    assert!(
        out.contains("writer b: checkpoints: 0 good, signed through record 0; 2 records after it not yet signed"),
        "{out}"
    );
    // Writer a goes on where its checkpoints stopped: the next is at 6.
    eval_with(&db, "a", 1, &signed);
    let seqs = db
        .client()
        .query(
            "SELECT seq FROM triage.checkpoints WHERE writer = 'a' ORDER BY seq",
            &[],
        )
        .unwrap();
    let seqs: Vec<i64> = seqs.iter().map(|row| row.get(0)).collect();
    assert_eq!(seqs, [2, 4, 5, 6]);

    // The newest rows of a's chain deleted: the chain alone still verifies.
    db.run("DELETE FROM triage.records WHERE writer = 'a' AND seq > 3");
    assert_eq!(verify(&db).0, 0);
    let (code, out, _) = check();
    assert_eq!(code, 1, "{out}");
    for (line, seq) in [(2, 4), (3, 5), (4, 6)] {
        let cut = format!(
            "#a.checkpoints:{line}: truncated: the log ends at record 3, before checkpoint {seq}"
        );
        assert!(out.contains(&cut), "{out}");
    }
    assert!(
        out.contains("writer a: checkpoints: 1 good, signed through record 2"),
        "{out}"
    );
    // Every row of a gone: its checkpoints still name it.
    db.run("DELETE FROM triage.records WHERE writer = 'a'");
    let (code, out, _) = check();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("writer a: 0 records"), "{out}");
    assert!(
        out.contains("#a.checkpoints:1: truncated: the log ends at record 0, before checkpoint 2"),
        "{out}"
    );
}

#[test]
fn an_export_carries_the_checkpoints_so_a_cut_tail_still_shows() {
    let Some(db) = Database::new("carried") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "writer");
    eval_with(
        &db,
        "a",
        5,
        &["--checkpoint-key", &private, "--checkpoint-every", "2"],
    );
    eval_into(&db, "b", 1);
    let file = dir.path().join("store.jsonl");
    let path = file.to_str().unwrap();
    let (code, _, err) = binary(&["audit", "export", &db.url, "--output", path]);
    assert_eq!(code, 0, "{err}");
    let check = |log: &str| binary(&["audit", "verify", log, "--trusted-key", &public]);
    let (code, out, err) = check(path);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("writer a: checkpoints: 3 good, signed through record 5\n"),
        "{out}"
    );

    // Imported again, the store holds the same checkpoints.
    db.run("DELETE FROM triage.records; DELETE FROM triage.checkpoints");
    let (code, _, err) = binary(&["audit", "import", path, &db.url]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = check(&db.url);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("writer a: checkpoints: 3 good, signed through record 5\n"),
        "{out}"
    );

    // Writer a's last two records cut off the export: its chain still
    // verifies, its checkpoints do not.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut: Vec<&str> = [&lines[..3], &lines[5..]].concat();
    std::fs::write(&file, cut.join("\n") + "\n").unwrap();
    let (code, out, _) = binary(&["audit", "verify", path]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = check(path);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "store.jsonl.checkpoints:2: truncated: the log ends at record 3, before checkpoint 4"
        ),
        "{out}"
    );
}

#[test]
fn the_records_of_an_approved_bundle_in_the_store_name_its_approval() {
    let Some(db) = Database::new("approved") else {
        return;
    };
    let head = crate::serve_support::policies_copy();
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = keygen(dir.path(), "approver");
    let bundle = head.path().to_str().unwrap();
    let (code, _, err) = binary(&["approve", POLICIES, bundle, "--key", &private]);
    assert_eq!(code, 0, "{err}");
    let approval = std::fs::read_to_string(head.path().join("approval.json")).unwrap();
    let id = triage_audit::approval::id(&serde_json::from_str(&approval).unwrap());
    let extra = ["--no-watch", "--require-approval", &public];
    let server = serve_with(&db, "a", head.path(), &extra);
    for n in 0..2 {
        let body = ticket(&format!("approved-{n}")).to_string();
        assert_eq!(post(server.addr, &body), Some(200));
    }
    // The workbench searches the store as it searches a file log.
    let search = |query: &str| -> Value {
        let line = format!("GET /v1/workbench/decisions?{query}");
        let response = request(server.addr, &line, "").unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    };
    let all = search("");
    assert_eq!(
        (all["total"].as_u64(), all["found"].as_u64()),
        (Some(2), Some(2))
    );
    // Newest first, each with its writer.
    let listed: Vec<(&str, u64)> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["writer"].as_str().unwrap(), r["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, [("a", 2), ("a", 1)]);
    let one = search("ticket_id=approved-1");
    assert_eq!(one["found"], 1);
    assert_eq!(one["records"][0]["ticket_id"], "approved-1");
    let record = request(server.addr, "GET /v1/workbench/decisions/1", "").unwrap();
    assert!(record.contains("triage audit show URL"), "{record}");
    for miss in [
        "outcome=none-such",
        "vehicle=none-such",
        "rule=none-such",
        "from=2999",
        "to=2000",
    ] {
        assert_eq!(search(miss)["found"], 0, "{miss}");
    }
    drop(server);
    let approvals: Vec<Option<String>> = records(&db).into_iter().map(|r| r.approval).collect();
    assert_eq!(approvals, [Some(id.clone()), Some(id)]);
    assert_eq!(verify(&db).0, 0);
}
