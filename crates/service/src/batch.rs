//! Streaming batch evaluation of JSON Lines: one reader, a worker a core, one
//! writer that restores input order. Lines travel in numbered chunks through
//! bounded channels, so memory depends on the chunk size and the number of
//! workers, never on the size of the input: a line longer than a ticket may
//! be is skipped as it is read, never kept, and answered with an error
//! record like any other bad line.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use triage_audit::{Drafted, Journal, Pending, Recorder, Unreadable};
use triage_engine::{Bundle, Decision, Rejection};

/// Lines a worker takes at once: large enough that channel traffic is noise,
/// small enough that the reorder buffer stays small.
const CHUNK: usize = 256;

/// The bytes of the lines of one chunk, past which it is sent even if it has
/// fewer than [`CHUNK`] lines, so that long lines cannot fill memory.
const CHUNK_BYTES: usize = 4 << 20;

/// The most bytes a ticket may take by default, on a line of batch input
/// and in a file or standard input for `triage eval`: the same as the
/// service's default body limit.
pub const DEFAULT_MAX_TICKET_BYTES: usize = crate::serve::DEFAULT_MAX_BODY;

#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads; 0 means one per available core.
    pub workers: usize,
    /// The most bytes a line may hold (its line end aside); a longer line is
    /// answered with an error record without being kept in memory.
    pub max_ticket_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: 0,
            max_ticket_bytes: DEFAULT_MAX_TICKET_BYTES,
        }
    }
}

/// Each line's result, kept for the decision log.
type Kept = Vec<ToRecord>;

/// One line's result to record: a decision the short way drafted, or a
/// result of the long way.
enum ToRecord {
    Drafted(Drafted),
    Pending(Pending),
}

/// How batch mode words the rejection of a line that is not JSON.
const LINE: Unreadable<'static> = Unreadable {
    expected: "a ticket as one JSON object on one line",
    found: "a line that is not JSON",
    empty: Some("the line is empty"),
};

/// What a run decided, for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub lines: u64,
    pub decided: u64,
    /// Lines that were not a ticket the schema accepts (malformed included).
    pub invalid: u64,
    /// Of `invalid`, lines that were not JSON at all.
    pub malformed: u64,
    pub evaluation_errors: u64,
    pub by_outcome: BTreeMap<String, u64>,
    /// Decisions by vehicle; `none` for decisions without one.
    pub by_vehicle: BTreeMap<String, u64>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Summary {
    /// Decisions (and rejections) per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.lines as f64 / secs
        } else {
            0.0
        }
    }

    fn add(&mut self, other: &Summary) {
        self.lines += other.lines;
        self.decided += other.decided;
        self.invalid += other.invalid;
        self.malformed += other.malformed;
        self.evaluation_errors += other.evaluation_errors;
        for (k, v) in &other.by_outcome {
            *self.by_outcome.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.by_vehicle {
            *self.by_vehicle.entry(k.clone()).or_default() += v;
        }
    }
}

/// An error record: the rejection, with the 1-based input line it is about.
#[derive(Serialize)]
struct LineError<'a> {
    line: u64,
    #[serde(flatten)]
    rejection: &'a Rejection,
}

/// One line of input, as the reader hands it on.
enum Line {
    /// The line's bytes, its line end included.
    Text(Vec<u8>),
    /// A line longer than a ticket may be: how many bytes it held before its
    /// line end. They were read past, not kept.
    TooLong(u64),
}

struct Chunk {
    seq: u64,
    first_line: u64,
    lines: Vec<Line>,
    bytes: u64,
}

struct Done {
    seq: u64,
    text: Vec<u8>,
    summary: Summary,
    bytes: u64,
    kept: Kept,
}

/// Decides every line of `input` and writes one line per input line to
/// `output`, in input order. `progress` hears the lines and bytes done so far.
/// Only I/O errors stop a run; a bad line becomes an error record. With a
/// decision log, each line's record is appended, in input order, before the
/// line is written.
pub fn run(
    bundle: &Bundle,
    input: &mut (dyn BufRead + Send),
    output: &mut dyn Write,
    options: &Options,
    progress: &mut dyn FnMut(u64, u64),
    log: Option<&dyn Journal>,
) -> io::Result<Summary> {
    // The workers decide; this recorder, in the writer, records.
    let recorder = Recorder::new(bundle, log);
    let keep = recorder.is_recording();
    let started = Instant::now();
    let workers = match options.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let (work_tx, work_rx) = sync_channel::<Chunk>(workers * 2);
    // Output buffers go back to the workers once written, so a run of a
    // million lines does not ask the system for fresh pages all along.
    let pool = Pool::default();
    let (done_tx, done_rx) = sync_channel::<Done>(workers * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));

    let mut summary = std::thread::scope(|scope| {
        let max = options.max_ticket_bytes;
        let reader = scope.spawn(move || read(input, &work_tx, max));
        for _ in 0..workers {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            // With a log, each worker compiles its own copy, in parallel
            // with the others, so that the ids a `Decision` clones are
            // counted per thread. Without one, valid tickets are written
            // straight from the bundle, cloning nothing, and a copy would
            // only cost its compilation (seconds, for a bundle of 100,000
            // rules).
            let copy = keep.then(|| bundle.thread_copy());
            let pool = &pool;
            scope.spawn(move || {
                let bundle = copy.as_ref().unwrap_or(bundle);
                work(bundle, &rx, &tx, pool, keep, max)
            });
        }
        // Only the workers hold the queues' other ends now, so if they stop
        // (the writer gave up) the reader's next send fails instead of blocking.
        drop(work_rx);
        drop(done_tx);
        let mut record = |kept: Kept| -> io::Result<()> {
            for result in kept {
                // The worker serialised the answer already; once recorded,
                // the writer sends it.
                let recorded = match result {
                    ToRecord::Drafted(drafted) => recorder.record_drafted(drafted).map(drop),
                    ToRecord::Pending(pending) => recorder.record(pending).map(drop),
                };
                recorded.map_err(io::Error::other)?;
            }
            Ok(())
        };
        let written = write(output, &done_rx, &pool, progress, &mut record);
        // Unblock the reader if the writer gave up early.
        drop(done_rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reader thread failed")));
        let summary = written?;
        read?;
        Ok::<Summary, io::Error>(summary)
    })?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn read(input: &mut (dyn BufRead + Send), tx: &SyncSender<Chunk>, max: usize) -> io::Result<()> {
    let mut seq = 0;
    let mut line_no = 1;
    loop {
        let mut lines = Vec::with_capacity(CHUNK);
        let (mut bytes, mut kept) = (0, 0);
        while lines.len() < CHUNK && kept < CHUNK_BYTES {
            let Some((line, n)) = next_line(input, max)? else {
                break;
            };
            bytes += n;
            if let Line::Text(text) = &line {
                kept += text.len();
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(());
        }
        let count = lines.len() as u64;
        let chunk = Chunk {
            seq,
            first_line: line_no,
            lines,
            bytes,
        };
        if tx.send(chunk).is_err() {
            // The writer stopped (an output error): it reports why.
            return Ok(());
        }
        seq += 1;
        line_no += count;
    }
}

/// The next line of `input` and the bytes it took, or `None` at the end. A
/// line is kept only up to `max` bytes and its line end (`\r\n` at most);
/// the rest of a longer one is read past in the reader's own buffer, up to
/// its line feed, and only counted.
fn next_line(input: &mut dyn BufRead, max: usize) -> io::Result<Option<(Line, u64)>> {
    let limit = max.saturating_add(2);
    // Room for a usual ticket, so that reading one does not grow it.
    let mut text = Vec::with_capacity(limit.min(1024));
    let n = (&mut *input)
        .take(limit as u64)
        .read_until(b'\n', &mut text)?;
    if n == 0 {
        return Ok(None);
    }
    let ended = text.last() == Some(&b'\n') || n < limit;
    if ended {
        let length = trim(&text).len();
        let line = if length > max {
            Line::TooLong(length as u64)
        } else {
            Line::Text(text)
        };
        return Ok(Some((line, n as u64)));
    }
    let (rest, ended) = triage_audit::read::read_past_line(input)?;
    let length = n as u64 + rest;
    Ok(Some((Line::TooLong(length), length + u64::from(ended))))
}

fn work(
    bundle: &Bundle,
    rx: &Mutex<Receiver<Chunk>>,
    tx: &SyncSender<Done>,
    pool: &Pool,
    keep: bool,
    max: usize,
) {
    // No log here: the writer records each kept result before writing it.
    let recorder = Recorder::new(bundle, None);
    loop {
        let chunk = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(chunk) => chunk,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let mut text = pool.take(chunk.lines.len() * 1024);
        let mut summary = Summary::default();
        let mut counts = OutcomeCounts::default();
        let mut kept = Vec::new();
        for (i, line) in chunk.lines.iter().enumerate() {
            let line_no = chunk.first_line + i as u64;
            if let (false, Line::Text(line)) = (keep, line)
                && decided_straight(bundle, trim(line), &mut text, &mut summary, &mut counts)
            {
                continue;
            }
            if let (true, Line::Text(line)) = (keep, line)
                && let Some(drafted) = recorder.draft(trim(line))
            {
                answer_drafted(&drafted, &mut text, &mut summary, &mut counts);
                kept.push(ToRecord::Drafted(drafted));
                continue;
            }
            let pending = match line {
                Line::Text(line) => recorder.decide_json_unrecorded(trim(line), &LINE),
                Line::TooLong(length) => {
                    recorder.reject_unrecorded(too_long(&recorder, *length, max))
                }
            };
            answer_line(&pending, line_no, &mut text, &mut summary, &mut counts);
            if keep {
                kept.push(ToRecord::Pending(pending));
            }
        }
        counts.into_summary(&mut summary);
        let done = Done {
            seq: chunk.seq,
            text,
            summary,
            bytes: chunk.bytes,
            kept,
        };
        if tx.send(done).is_err() {
            return;
        }
    }
}

/// Decides `line` the short way ([`Bundle::write_decision`]) when nothing
/// is to be recorded, and counts it; `false` for a line that must go the
/// long way.
fn decided_straight(
    bundle: &Bundle,
    line: &[u8],
    out: &mut Vec<u8>,
    summary: &mut Summary,
    counts: &mut OutcomeCounts,
) -> bool {
    let Some(written) = bundle.write_decision(line, out) else {
        return false;
    };
    decided(out, summary, counts, (written.outcome, written.vehicle));
    true
}

/// Writes the answer to a line the short way drafted for the log (to be
/// written once the writer has recorded it), and counts it.
fn answer_drafted(
    drafted: &Drafted,
    out: &mut Vec<u8>,
    summary: &mut Summary,
    counts: &mut OutcomeCounts,
) {
    out.extend_from_slice(drafted.json());
    decided(out, summary, counts, drafted.outcome());
}

/// Ends the line of a decision written to `out`, and counts it by its
/// outcome and vehicle.
fn decided(
    out: &mut Vec<u8>,
    summary: &mut Summary,
    counts: &mut OutcomeCounts,
    (outcome, vehicle): (&Arc<str>, Option<&Arc<str>>),
) {
    out.push(b'\n');
    summary.lines += 1;
    summary.decided += 1;
    counts.count(outcome, vehicle);
}

/// Counts by outcome and vehicle keyed by the decision's shared strings, so
/// the hot loop does not allocate a key per line.
#[derive(Default)]
struct OutcomeCounts {
    outcomes: HashMap<Arc<str>, u64>,
    vehicles: HashMap<Arc<str>, u64>,
    /// Decisions without a vehicle.
    no_vehicle: u64,
}

impl OutcomeCounts {
    fn count(&mut self, outcome: &Arc<str>, vehicle: Option<&Arc<str>>) {
        fn add(map: &mut HashMap<Arc<str>, u64>, key: &Arc<str>) {
            // Looked up by reference: a key is cloned once, when first seen.
            match map.get_mut(key) {
                Some(n) => *n += 1,
                None => drop(map.insert(key.clone(), 1)),
            }
        }
        add(&mut self.outcomes, outcome);
        match vehicle {
            Some(vehicle) => add(&mut self.vehicles, vehicle),
            None => self.no_vehicle += 1,
        }
    }

    fn into_summary(self, summary: &mut Summary) {
        for (k, v) in self.outcomes {
            *summary.by_outcome.entry(k.to_string()).or_default() += v;
        }
        let none = (self.no_vehicle > 0).then(|| (Arc::from("none"), self.no_vehicle));
        for (k, v) in self.vehicles.into_iter().chain(none) {
            *summary.by_vehicle.entry(k.to_string()).or_default() += v;
        }
    }
}

/// The rejection of a line of `length` bytes, longer than the `max` a ticket may take.
fn too_long(recorder: &Recorder, length: u64, max: usize) -> Rejection {
    let found = format!("a line of {length} bytes");
    let words = Unreadable {
        found: &found,
        ..LINE
    };
    let message = format!(
        "the line is longer than the {max} bytes a ticket may take, so it was skipped, not kept; \
         raise `--max-ticket-bytes` if it is a ticket"
    );
    recorder.unreadable(&words, message)
}

/// Writes the answer to one line into `out` (to be written once the writer
/// has recorded the result), and counts it.
fn answer_line(
    pending: &Pending,
    line_no: u64,
    out: &mut Vec<u8>,
    summary: &mut Summary,
    counts: &mut OutcomeCounts,
) {
    summary.lines += 1;
    if pending.ticket().is_none() {
        summary.malformed += 1;
    }
    let written = match pending.result() {
        Ok(decision) => {
            count(decision, summary, counts);
            serde_json::to_writer(&mut *out, decision)
        }
        Err(rejection) => {
            if rejection.is_invalid_ticket() {
                summary.invalid += 1;
            } else {
                summary.evaluation_errors += 1;
            }
            let record = LineError {
                line: line_no,
                rejection,
            };
            serde_json::to_writer(&mut *out, &record)
        }
    };
    if let Err(error) = written {
        // Serialising our own types into memory cannot fail in practice; if it
        // ever does, the line still gets its one output line.
        let message = serde_json::json!({ "line": line_no, "error": error.to_string() });
        out.extend_from_slice(message.to_string().as_bytes());
    }
    out.push(b'\n');
}

fn count(decision: &Decision, summary: &mut Summary, counts: &mut OutcomeCounts) {
    summary.decided += 1;
    counts.count(&decision.outcome, decision.vehicle.as_ref());
}

/// Output buffers, kept for reuse once written.
#[derive(Default)]
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    /// An empty buffer of at least `capacity` bytes.
    fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buffer = self
            .0
            .lock()
            .ok()
            .and_then(|mut kept| kept.pop())
            .unwrap_or_default();
        buffer.reserve(capacity);
        buffer
    }

    /// Keeps `buffer` for reuse; a few are enough for the chunks in flight.
    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut kept) = self.0.lock()
            && kept.len() < 16
        {
            kept.push(buffer);
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &line[..end]
}

fn write(
    output: &mut dyn Write,
    rx: &Receiver<Done>,
    pool: &Pool,
    progress: &mut dyn FnMut(u64, u64),
    record: &mut dyn FnMut(Kept) -> io::Result<()>,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut bytes = 0;
    for done in rx {
        pending.insert(done.seq, done);
        while let Some(done) = pending.remove(&next) {
            // Logged before written: no answer escapes the audit trail.
            record(done.kept)?;
            output.write_all(&done.text)?;
            pool.give(done.text);
            summary.add(&done.summary);
            bytes += done.bytes;
            next += 1;
            progress(summary.lines, bytes);
        }
    }
    output.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line `next_line` reads with a cap of `max`: its kept bytes, or
    /// the length of one too long; and the bytes it took.
    fn lines(input: &[u8], max: usize) -> Vec<(Result<Vec<u8>, u64>, u64)> {
        // A small buffer, so that long lines span many refills.
        let mut input = io::BufReader::with_capacity(4, input);
        let mut out = Vec::new();
        while let Some((line, n)) = next_line(&mut input, max).unwrap() {
            let line = match line {
                Line::Text(text) => Ok(text),
                Line::TooLong(length) => Err(length),
            };
            out.push((line, n));
        }
        out
    }

    #[test]
    fn a_line_is_kept_up_to_the_cap_and_skipped_past_it() {
        let input = b"12345\n1234\r\n123456\n\n123456789012\n12345";
        assert_eq!(
            lines(input, 5),
            [
                (Ok(b"12345\n".to_vec()), 6),
                (Ok(b"1234\r\n".to_vec()), 6),
                (Err(6), 7),
                (Ok(b"\n".to_vec()), 1),
                (Err(12), 13),
                (Ok(b"12345".to_vec()), 5),
            ]
        );
        assert_eq!(lines(b"123456", 5), [(Err(6), 6)]);
        assert_eq!(lines(b"1234567890", 5), [(Err(10), 10)]);
    }

    #[test]
    fn trim_drops_line_endings() {
        assert_eq!(trim(b"{}\r\n"), b"{}");
        assert_eq!(trim(b"  \n"), b"");
    }
}
