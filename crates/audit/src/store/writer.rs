//! One writer's chain in the store, with grouped commits.
//!
//! Callers seal their records under a short lock (numbering and chaining
//! them, as the file log does) and queue them; one thread of the writer's
//! own takes everything queued and inserts it with one statement (one
//! commit), while the next records queue behind. A caller returns only once the
//! commit that holds its records is done: the answer never runs ahead of
//! its record, and under load one commit carries many records. The
//! committing thread packs each group's lines (`pack`) before it inserts
//! them, once the store has a dictionary. A caller
//! that waits elsewhere ([`Journal::append_then`]) leaves a [`Waiter`]
//! instead of a blocked thread, which the committing thread answers.
//!
//! A failed commit fails every record queued with or after it (they chain
//! onto it); the writer then reconnects and reloads its chain's head from
//! the store (a commit whose answer was lost may have landed), and answers
//! `unreachable` to new records until it has. Idle, it checks its
//! connections every [`PROBE`], so that it is known not to be ready (and
//! reconnects) while the store is out of reach, not only once a record
//! fails. The writer's id is held by a
//! second connection that keeps the writer's row locked: a second live
//! process with the same id is refused, and a killed one's lock goes with
//! its connection.
//!
//! Given a key, the writer signs its chain's head every so many records and
//! at close ([`crate::checkpoint`]): the signed document goes in the
//! `checkpoints` table after the commit that holds the record it names, so
//! a checkpoint never names a record the store does not hold.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::{Client, Statement};

use postgres::error::SqlState;

use super::pack::{COLUMNS, INSERT_PACKED, INSERT_PLAIN, Packer, Unpacker};
use super::schema::{self, connect};
use super::url::{detail, failure, redacted};
use crate::checkpoint::Checkpointer;
use crate::log::Entry;
use crate::record::{self, GENESIS};
use crate::seal::{Prepared, Sealer};
use crate::{AuditError, Journal, Written, archive, canonical};

/// The longest wait between two attempts to reach the store again.
const MOST_BACKOFF: Duration = Duration::from_secs(2);

/// How long the writer idles before it checks that the store still answers.
const PROBE: Duration = Duration::from_secs(1);

/// What the committing thread does next.
enum Step {
    Commit(Batch),
    /// Reconnect and reload the head: a commit failed or the store was lost.
    Recover,
    /// Nothing queued for a while: check the connections.
    Probe,
}

/// A writer appending to its own chain in the store at a URL.
pub struct StoreWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for StoreWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreWriter")
            .field("store", &self.shared.store)
            .field("writer", &self.shared.writer)
            .finish_non_exhaustive()
    }
}

struct Shared {
    url: String,
    store: String,
    writer: String,
    /// Prepares records on the callers' threads, before the queue is locked.
    sealer: Sealer,
    queue: Mutex<Queue>,
    /// The committing thread waits here for records.
    queued: Condvar,
    /// Callers wait here for their commit.
    committed: Condvar,
}

/// What one commit carries: records, bundles to archive as `(digest, body)`,
/// and the checkpoint of its last record when one is due.
type Batch = (Vec<Row>, Vec<(String, String)>, Option<Signed>);

/// A signed checkpoint of the record `seq`, as the store keeps it.
struct Signed {
    seq: i64,
    document: String,
}

/// A caller of [`Journal::append_then`] waiting for the commit of its
/// last record, `last`.
struct Waiter {
    last: u64,
    ids: Vec<String>,
    then: Written,
}

impl Waiter {
    /// Tells the caller: committed, or (`failed`) why not.
    fn tell(self, shared: &Shared, failed: Option<&str>) {
        let outcome = match failed {
            None => Ok(self.ids),
            Some(why) => Err(shared.fail(format!("commit failed ({why}); nothing was recorded"))),
        };
        (self.then)(outcome);
    }
}

/// A record sealed and waiting for its commit.
struct Row {
    seq: i64,
    line: String,
}

struct Queue {
    /// The chain's head as sealed (queued records included).
    seq: u64,
    prev: String,
    /// The last `seq` committed.
    committed: u64,
    rows: Vec<Row>,
    /// Callers waiting for a commit without a thread, in `seq` order.
    waiters: Vec<Waiter>,
    /// Bundles to archive with the next commit, as `(digest, body)`.
    bundles: Vec<(String, String)>,
    /// Bundles archived, by digest (a few: compared, not hashed).
    archived: BTreeSet<String>,
    /// One entry per failed commit: the last `seq` committed before it, and
    /// why. A caller's records failed when they were not committed by then.
    failures: Vec<(u64, String)>,
    /// Why the writer takes no records until it has reloaded its head.
    stale: Option<String>,
    closing: bool,
    /// The committing thread waits for records: only then must a caller
    /// that queues some wake it (a wake-up is a system call).
    idle: bool,
    /// Callers of [`Journal::append_all`] waiting for a commit: only then
    /// must a commit wake them.
    blocked: usize,
    /// Signs the chain's head, when the writer was given a key.
    checkpoints: Option<Checkpointer>,
}

impl StoreWriter {
    /// Opens the chain of `writer` in the store at `url`, creating or
    /// migrating the schema, and starts its committing thread. Refused
    /// (`WriterBusy`) while another live process writes as `writer`. With
    /// `checkpoints`, signs the head as it says, after the last checkpoint
    /// the store holds for `writer`.
    pub fn open(
        url: &str,
        writer: &str,
        mut checkpoints: Option<Checkpointer>,
    ) -> Result<StoreWriter, AuditError> {
        let (mut connections, (seq, prev)) = reach(url, writer)?;
        let salt = schema::salt(&mut connections.commits, url)?;
        if let Some(checkpointer) = &mut checkpoints {
            checkpointer.resume(last_signed(&mut connections.commits, url, writer)?);
        }
        let shared = Arc::new(Shared {
            url: url.to_owned(),
            store: redacted(url),
            writer: writer.to_owned(),
            sealer: Sealer::new(salt, Some(writer.to_owned())),
            queue: Mutex::new(Queue {
                seq,
                prev,
                committed: seq,
                rows: Vec::new(),
                waiters: Vec::new(),
                bundles: Vec::new(),
                archived: BTreeSet::new(),
                failures: Vec::new(),
                stale: None,
                closing: false,
                idle: false,
                blocked: 0,
                checkpoints,
            }),
            queued: Condvar::new(),
            committed: Condvar::new(),
        });
        let committer = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("store-{writer}"))
            .spawn(move || committer.run(connections))
            .map_err(|e| shared.fail(format!("cannot start the writer thread: {e}")))?;
        Ok(StoreWriter {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The writer id whose chain this appends to.
    pub fn writer(&self) -> &str {
        &self.shared.writer
    }
}

impl Journal for StoreWriter {
    fn append_all(&self, entries: &[Entry<'_>]) -> Result<Vec<String>, AuditError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let shared = &self.shared;
        let prepared = shared.prepare(entries)?;
        let mut queue = shared.lock()?;
        if let Some(why) = &queue.stale {
            return Err(shared.fail(format!("unreachable ({why}); nothing was recorded")));
        }
        let (ids, last) = queue.seal(entries, prepared)?;
        let failures = queue.failures.len();
        shared.wake(&queue);
        loop {
            if let Some((floor, why)) = queue.failures.get(failures) {
                return match *floor >= last {
                    true => Ok(ids),
                    false => {
                        Err(shared.fail(format!("commit failed ({why}); nothing was recorded")))
                    }
                };
            }
            if queue.committed >= last {
                return Ok(ids);
            }
            queue.blocked += 1;
            queue = shared
                .committed
                .wait(queue)
                .map_err(|_| AuditError::Poisoned)?;
            queue.blocked -= 1;
        }
    }

    fn append_then(&self, entries: &[Entry<'_>], then: Written) {
        if entries.is_empty() {
            return then(Ok(Vec::new()));
        }
        let shared = &self.shared;
        let prepared = match shared.prepare(entries) {
            Ok(prepared) => prepared,
            Err(error) => return then(Err(error)),
        };
        let mut queue = match shared.lock() {
            Ok(queue) => queue,
            Err(error) => return then(Err(error)),
        };
        if let Some(why) = &queue.stale {
            let error = shared.fail(format!("unreachable ({why}); nothing was recorded"));
            drop(queue);
            return then(Err(error));
        }
        match queue.seal(entries, prepared) {
            Ok((ids, last)) => {
                queue.waiters.push(Waiter { last, ids, then });
                shared.wake(&queue);
            }
            Err(error) => {
                drop(queue);
                then(Err(error));
            }
        }
    }

    /// `append_then` only seals and queues: the committing thread writes.
    fn writes_in_place(&self) -> bool {
        false
    }

    /// Every record is committed before its caller returns: closing only
    /// stops the committing thread.
    fn close(&self) -> Result<(), AuditError> {
        if let Ok(mut queue) = self.shared.queue.lock() {
            queue.closing = true;
        }
        self.shared.queued.notify_all();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        Ok(())
    }

    fn approved(&self, digest: &str, approval: &str) -> Result<(), AuditError> {
        self.shared.sealer.approved(digest, approval)
    }

    fn file(&self) -> Option<PathBuf> {
        None
    }

    fn store(&self) -> Option<&str> {
        Some(&self.shared.url)
    }

    fn ready(&self) -> Result<(), String> {
        match &self.shared.lock().map_err(|e| e.to_string())?.stale {
            Some(why) => Err(format!("the decision store is unreachable: {why}")),
            None => Ok(()),
        }
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Queue {
    /// The signed checkpoint of the chain's head as sealed.
    fn sign(&self) -> Option<Signed> {
        let document = self.checkpoints.as_ref()?.signed(self.seq, &self.prev);
        let document = String::from_utf8(canonical::encode(&document)).ok()?;
        let seq = i64::try_from(self.seq).ok()?;
        Some(Signed { seq, document })
    }

    /// Seals `entries`, `prepared`, onto the chain's head and queues them;
    /// returns their ids and the last one's `seq`. All or nothing.
    fn seal(
        &mut self,
        entries: &[Entry<'_>],
        prepared: Vec<Prepared>,
    ) -> Result<(Vec<String>, u64), AuditError> {
        let (mut seq, mut prev) = (self.seq, self.prev.clone());
        let mut rows = Vec::with_capacity(entries.len());
        let mut ids = Vec::with_capacity(entries.len());
        let mut bundles = Vec::new();
        for (&(bundle, _, _), record) in entries.iter().zip(prepared) {
            let digest = &*bundle.policy().digest;
            if !self.archived.contains(digest) && !bundles.iter().any(|(d, _)| d == digest) {
                bundles.push((digest.to_owned(), archive::encode(bundle)?));
            }
            let sealed = record.seal(seq + 1, &prev);
            let mut line =
                String::from_utf8(sealed.line).map_err(|e| AuditError::Encode(e.to_string()))?;
            // The row holds the line without its line feed: cut, not copied.
            line.truncate(line.trim_end().len());
            seq += 1;
            rows.push(Row {
                seq: i64::try_from(seq).map_err(|e| AuditError::Encode(e.to_string()))?,
                line,
            });
            ids.push(sealed.id);
            prev = sealed.hash;
        }
        self.archived.extend(bundles.iter().map(|(d, _)| d.clone()));
        self.bundles.extend(bundles);
        self.rows.extend(rows);
        (self.seq, self.prev) = (seq, prev);
        Ok((ids, seq))
    }
}

impl Shared {
    /// The records of `entries` masked and encoded, on the caller's thread:
    /// the queue is locked only to chain them.
    fn prepare(&self, entries: &[Entry<'_>]) -> Result<Vec<Prepared>, AuditError> {
        let prepare =
            |&(bundle, ticket, decided): &Entry<'_>| self.sealer.prepare(bundle, ticket, decided);
        entries.iter().map(prepare).collect()
    }

    /// Wakes the committing thread for records just queued, if it waits.
    fn wake(&self, queue: &Queue) {
        if queue.idle {
            self.queued.notify_one();
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Queue>, AuditError> {
        self.queue.lock().map_err(|_| AuditError::Poisoned)
    }

    fn fail(&self, detail: String) -> AuditError {
        AuditError::Store {
            store: self.store.clone(),
            detail,
        }
    }

    /// The committing thread: takes what is queued, commits it, tells the
    /// callers; after a failure, reconnects before taking more.
    fn run(&self, mut connections: Connections) {
        loop {
            let (rows, bundles, checkpoint) = match self.next() {
                None => {
                    self.close(&mut connections);
                    return;
                }
                Some(Step::Probe) => {
                    self.probe(&mut connections);
                    continue;
                }
                Some(Step::Recover) => match self.recover(connections) {
                    Some(reached) => {
                        connections = reached;
                        continue;
                    }
                    None => return,
                },
                Some(Step::Commit(batch)) => batch,
            };
            let Some(last) = rows.last().map(|row| row.seq) else {
                continue;
            };
            let done = commit(&mut connections, &self.writer, &rows, &bundles);
            let Ok(mut queue) = self.queue.lock() else {
                return;
            };
            let told = match &done {
                Ok(()) => {
                    queue.committed = u64::try_from(last).unwrap_or(0);
                    let committed = queue.committed;
                    let waiting = queue.waiters.iter().take_while(|w| w.last <= committed);
                    let count = waiting.count();
                    (queue.waiters.drain(..count).collect(), None)
                }
                Err(error) => {
                    let why = detail(error);
                    tracing::error!(store = %self.store, "commit failed: {why}");
                    (self.failed(&mut queue, why.clone()), Some(why))
                }
            };
            let blocked = queue.blocked > 0;
            drop(queue);
            if blocked {
                self.committed.notify_all();
            }
            self.tell(told);
            // Signed only once the record it names is committed.
            if let (Ok(()), Some(signed)) = (done, checkpoint) {
                self.keep(&mut connections, &signed);
            }
        }
    }

    /// Tells `waiters` their records are committed, or (with a reason) not.
    fn tell(&self, (waiters, failed): (Vec<Waiter>, Option<String>)) {
        for waiter in waiters {
            waiter.tell(self, failed.as_deref());
        }
    }

    /// Fails every record queued (they chain onto the failed commit) and
    /// takes no more until the writer has reloaded its head. Returns the
    /// waiters to tell, once the queue is unlocked.
    fn failed(&self, queue: &mut Queue, why: String) -> Vec<Waiter> {
        let floor = queue.committed;
        queue.failures.push((floor, why.clone()));
        queue.rows.clear();
        queue.bundles.clear();
        queue.archived.clear();
        queue.stale = Some(why);
        std::mem::take(&mut queue.waiters)
    }

    /// What to do next, waiting for records up to [`PROBE`]; `None` at close.
    fn next(&self) -> Option<Step> {
        let mut queue = self.queue.lock().ok()?;
        if queue.rows.is_empty() && queue.stale.is_none() && !queue.closing {
            queue.idle = true;
            let waited = self.queued.wait_timeout(queue, PROBE).ok()?;
            queue = waited.0;
            queue.idle = false;
            if waited.1.timed_out() && queue.rows.is_empty() && !queue.closing {
                return Some(Step::Probe);
            }
        }
        if queue.stale.is_some() {
            return (!queue.closing).then_some(Step::Recover);
        }
        if queue.rows.is_empty() {
            // Woken with nothing queued: close, or a spurious wake-up.
            return (!queue.closing).then_some(Step::Probe);
        }
        let seq = queue.seq;
        let due = queue.checkpoints.as_ref().is_some_and(|c| c.due(seq));
        let checkpoint = if due { queue.sign() } else { None };
        Some(Step::Commit((
            std::mem::take(&mut queue.rows),
            std::mem::take(&mut queue.bundles),
            checkpoint,
        )))
    }

    /// Checks that both connections still answer; when one does not, the
    /// writer is stale (not ready, new records refused) until it recovers.
    fn probe(&self, connections: &mut Connections) {
        let lost = [&mut connections.commits, &mut connections.claim]
            .into_iter()
            .find_map(|client| client.is_valid(PROBE).err());
        if let Some(error) = lost
            && let Ok(mut queue) = self.queue.lock()
            && queue.stale.is_none()
        {
            let why = detail(&error);
            tracing::error!(store = %self.store, "the store is out of reach: {why}");
            // Records queued meanwhile chain onto a head the writer reloads.
            let waiters = self.failed(&mut queue, why.clone());
            drop(queue);
            self.committed.notify_all();
            self.tell((waiters, Some(why)));
        }
    }

    /// Stores the checkpoint `signed`, its record committed. A failure is
    /// logged, not the records' callers': the next commit signs again.
    fn keep(&self, connections: &mut Connections, signed: &Signed) {
        let kept = connections.commits.execute(
            "INSERT INTO triage.checkpoints VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&self.writer, &signed.seq, &signed.document],
        );
        match kept {
            Ok(_) => {
                if let Ok(mut queue) = self.queue.lock()
                    && let Some(checkpoints) = &mut queue.checkpoints
                {
                    checkpoints.resume(u64::try_from(signed.seq).unwrap_or(0));
                }
            }
            Err(error) => {
                let why = detail(&error);
                tracing::error!(store = %self.store, "cannot store a checkpoint: {why}");
            }
        }
    }

    /// At close (everything queued is committed by now): signs the head
    /// and stores a dictionary still being trained.
    fn close(&self, connections: &mut Connections) {
        self.sign_at_close(connections);
        if let Err(error) = connections.packer.settle(&mut connections.commits) {
            let why = detail(&error);
            tracing::error!(store = %self.store, "cannot store a dictionary: {why}");
        }
    }

    /// Signs the head at close, when records after the last checkpoint
    /// await one.
    fn sign_at_close(&self, connections: &mut Connections) {
        let signed = match self.queue.lock() {
            Ok(queue) if queue.stale.is_none() => {
                let behind = queue.checkpoints.as_ref();
                let behind = behind.is_some_and(|c| c.behind(queue.committed));
                if behind { queue.sign() } else { None }
            }
            _ => None,
        };
        if let Some(signed) = signed {
            self.keep(connections, &signed);
        }
    }

    /// Reconnects, claims the writer id again and reloads the chain's head,
    /// retrying with a growing pause until it can or the writer closes. The
    /// `lost` connections go first: one may still hold the writer's claim.
    fn recover(&self, lost: Connections) -> Option<Connections> {
        drop(lost);
        let mut pause = Duration::from_millis(50);
        loop {
            if self.queue.lock().ok()?.closing {
                return None;
            }
            if let Ok((connections, (seq, prev))) = reach(&self.url, &self.writer) {
                let mut queue = self.queue.lock().ok()?;
                (queue.seq, queue.prev, queue.committed) = (seq, prev, seq);
                queue.stale = None;
                return Some(connections);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(MOST_BACKOFF);
        }
    }
}

/// Archives the new `bundles`, then inserts `rows` of `writer` with one
/// statement, which commits them all or none: packed, a row a group, once
/// the store has a dictionary, else plain, a row each. One round trip for the records (the statements
/// are prepared once): under load, the commit's turns with the server are
/// what the waiting decisions pay for. A bundle (or dictionary) stored
/// without the records that failed after it is harmless.
fn commit(
    connections: &mut Connections,
    writer: &str,
    rows: &[Row],
    bundles: &[(String, String)],
) -> Result<(), postgres::Error> {
    for (digest, body) in bundles {
        connections.commits.execute(
            "INSERT INTO triage.bundles VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[digest, body],
        )?;
    }
    let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
    let lines: Vec<&str> = rows.iter().map(|row| row.line.as_str()).collect();
    let inserts = (&connections.insert, &connections.insert_packed);
    let commits = &mut connections.commits;
    connections
        .packer
        .insert(commits, inserts, writer, &seqs, &lines)
}

/// A live writer's connections: one commits, the other holds the writer's
/// row locked for as long as the process lives.
struct Connections {
    commits: Client,
    /// The records' inserts, plain and packed, prepared on `commits`.
    insert: Statement,
    insert_packed: Statement,
    packer: Packer,
    /// Holds the writer's row locked; probed, never written to.
    claim: Client,
}

/// Claims `writer` in the store at `url` and reads its chain's head.
fn reach(url: &str, writer: &str) -> Result<(Connections, (u64, String)), AuditError> {
    let claim = claim(url, writer)?;
    let mut commits = connect(url)?;
    let head = head(&mut commits, url, writer)?;
    let mut prepare = |sql: &str| commits.prepare(sql).map_err(failure(url));
    let insert = prepare(INSERT_PLAIN)?;
    let insert_packed = prepare(INSERT_PACKED)?;
    let packer = Packer::load(&mut commits).map_err(failure(url))?;
    let connections = Connections {
        commits,
        insert,
        insert_packed,
        packer,
        claim,
    };
    Ok((connections, head))
}

/// A connection holding `writer`'s row locked in a transaction left open,
/// which makes this process the one writer `writer`; the lock goes when the
/// connection does (the process exits or is killed).
fn claim(url: &str, writer: &str) -> Result<Client, AuditError> {
    let mut client = connect(url)?;
    client
        .execute(
            "INSERT INTO triage.writers VALUES ($1) ON CONFLICT DO NOTHING",
            &[&writer],
        )
        .map_err(failure(url))?;
    // Held open for the process's life: a server-wide idle limit must not end it.
    client
        .batch_execute("SET idle_in_transaction_session_timeout = 0")
        .and_then(|()| client.batch_execute("BEGIN"))
        .map_err(failure(url))?;
    let locked = client.query(
        "SELECT writer FROM triage.writers WHERE writer = $1 FOR UPDATE NOWAIT",
        &[&writer],
    );
    match locked {
        Ok(_) => Ok(client),
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Err(AuditError::WriterBusy {
            store: redacted(url),
            writer: writer.to_owned(),
        }),
        Err(e) => Err(failure(url)(e)),
    }
}

/// The `seq` of `writer`'s last checkpoint in the store (0 for none).
fn last_signed(client: &mut Client, url: &str, writer: &str) -> Result<u64, AuditError> {
    let row = client
        .query_one(
            "SELECT coalesce(max(seq), 0) FROM triage.checkpoints WHERE writer = $1",
            &[&writer],
        )
        .map_err(failure(url))?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// The `seq` and `hash` of `writer`'s last record (0 and the genesis value
/// for a new writer), refusing one that does not match its hash.
fn head(client: &mut Client, url: &str, writer: &str) -> Result<(u64, String), AuditError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT seq, {COLUMNS} FROM triage.records WHERE writer = $1 ORDER BY seq DESC LIMIT 1"
            ),
            &[&writer],
        )
        .map_err(failure(url))?;
    let Some(row) = row else {
        return Ok((0, GENESIS.to_owned()));
    };
    let seq: i64 = row.get(0);
    let mut unpacker = Unpacker::load(client).map_err(failure(url))?;
    let lines = unpacker.lines(&row, 1, seq);
    // The row holds the records from `seq` on, as many as it unpacks to.
    let last = lines
        .as_ref()
        .map_or(seq, |lines| seq.saturating_add(lines.count() - 1));
    let line = lines
        .as_ref()
        .map(|lines| lines.iter().last().unwrap_or_default());
    let checked = line.map(|line| serde_json::from_str(line).map(record::check));
    match checked {
        Ok(Ok(checked)) if checked.intact && checked.seq == u64::try_from(last).ok() => {
            Ok((checked.seq.unwrap_or(0), checked.hash))
        }
        _ => Err(AuditError::Store {
            store: redacted(url),
            detail: format!(
                "the last record of writer `{writer}` (seq {last}) is damaged; run `triage audit verify`"
            ),
        }),
    }
}
