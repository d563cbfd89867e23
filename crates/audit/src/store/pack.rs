//! A store's rows packed: the lines a writer commits together compressed
//! as one zstd frame, with a dictionary trained on the store's own records,
//! which the `dictionaries` table keeps. A line of about 2.2 KB packs to
//! about 280 bytes on its own and to about 200 in a group of 70 (lz4 alone,
//! as the server compresses a plain line, to about 1.3 KB), and a group is
//! one row: the server writes, logs, indexes and compresses a fraction of
//! the bytes and rows it did, most of what a record cost it.
//!
//! A packed row holds the lines `seq` to `last` (`last` empty: the one line
//! at `seq`), joined by newlines, which a canonical line never holds. At
//! most [`GROUP_LINES`] lines and about [`GROUP_BYTES`] go in one row, so a
//! reader never unpacks more than that for one record.
//!
//! A writer starts plain. With no dictionary in the store, it keeps its
//! first [`SAMPLES`] lines, trains one on a thread of its own (the commits
//! go on plain meanwhile), stores it, and packs from then on. A writer that
//! finds a dictionary in the store packs with the newest at once. Packing
//! changes how a row is kept, not its lines: readers unpack them to the
//! same bytes, which the hash chain covers, so a damaged row or dictionary
//! is caught as any edited line is. A store whose rows must stay readable in
//! SQL says so in its settings (`rows` = `plain`), and its writers keep
//! their lines plain, one row a record.

use std::collections::HashMap;
use std::thread::JoinHandle;

use postgres::types::ToSql;
use postgres::{GenericClient, Row, ToStatement};
use zstd::bulk::{Compressor, Decompressor};

/// Lines kept to train a dictionary on: enough for one that packs a line
/// to an eighth, few enough to train in about a tenth of a second.
const SAMPLES: usize = 1_000;

/// The longest line kept as a sample, and the most bytes of samples kept:
/// a client sending the largest tickets it may must not make the writer
/// hold a thousand of them.
const LONGEST_SAMPLE: usize = 16 * 1024;
const SAMPLE_BYTES: usize = 4 * 1024 * 1024;

/// The dictionary's size: zstd's rule of thumb is a hundredth of the
/// samples' bytes (1,000 lines of about 2 KB).
const DICTIONARY_BYTES: usize = 64 * 1024;

/// zstd's level 1: about as many instructions a line as its default (3)
/// for 8 % more bytes, but one hash table instead of two, which other
/// work evicts less: 4.0 to 4.3 µs a line against 4.5 to 7.7 with the
/// caches walked over between lines (docs/performance.md, packed rows).
const LEVEL: i32 = 1;

/// The longest line a packed row may unpack to: PostgreSQL's own limit on
/// a value, so a damaged row cannot ask for more.
const LONGEST: u64 = 1 << 30;

/// The most lines one packed row holds, and the most bytes of lines a row
/// is given more than one line for: a reader unpacks a whole row to read
/// one record of it.
pub(crate) const GROUP_LINES: usize = 1_000;
pub(crate) const GROUP_BYTES: usize = 1 << 20;

/// The columns a reader selects, in this order, after `seq`, for
/// [`Unpacker::lines`].
pub(crate) const COLUMNS: &str = "line, dictionary, packed, last";

/// Inserts a writer's records (`$1`) at their `seq`s (`$2`): plain, a row
/// each (lines `$3`); packed, a row a group (each group's first `seq` in
/// `$2`, its last, for more than one, in `$3`, its frame in `$4`, the
/// dictionary's id `$5`).
pub(crate) const INSERT_PLAIN: &str = "INSERT INTO triage.records (writer, seq, line)
     SELECT $1, s, l FROM unnest($2::bigint[], $3::text[]) AS t(s, l)";
pub(crate) const INSERT_PACKED: &str =
    "INSERT INTO triage.records (writer, seq, last, packed, dictionary)
     SELECT $1, s, l, p, $5 FROM unnest($2::bigint[], $3::bigint[], $4::bytea[]) AS t(s, l, p)";

/// Lines packed in groups, with the id of the dictionary that unpacks them.
struct Packed {
    dictionary: i64,
    /// Each group's frame, and how many lines it holds, in order.
    groups: Vec<(Vec<u8>, usize)>,
}

/// A writer's packing of the lines it commits.
pub(crate) enum Packer {
    /// No dictionary yet: the lines given so far, to train one on.
    Sampling(Vec<String>),
    /// A dictionary being trained on the samples.
    Training(JoinHandle<Result<Vec<u8>, String>>),
    /// Packing with the dictionary of this id.
    Packing(i64, Box<Compressor<'static>>),
    /// Lines stay plain: the store says so, or no dictionary could be had.
    Plain,
}

impl Packer {
    /// Packs with the store's newest dictionary, or samples for one; keeps
    /// lines plain in a store whose `rows` setting says `plain`.
    pub(crate) fn load(client: &mut impl GenericClient) -> Result<Self, postgres::Error> {
        let setting =
            client.query_opt("SELECT value FROM triage.settings WHERE key = 'rows'", &[])?;
        if setting.is_some_and(|row| row.get::<_, &[u8]>(0) == b"plain") {
            return Ok(Packer::Plain);
        }
        let newest = client.query_opt(
            "SELECT id, body FROM triage.dictionaries ORDER BY id DESC LIMIT 1",
            &[],
        )?;
        let Some(row) = newest else {
            return Ok(Packer::Sampling(Vec::with_capacity(SAMPLES)));
        };
        Ok(packing(row.get(0), row.get(1)))
    }

    /// `lines` packed in groups, in order; `None` while there is no
    /// dictionary (the lines are kept as samples). A dictionary trained
    /// since the last call is stored first, through `client`.
    fn pack(
        &mut self,
        client: &mut impl GenericClient,
        lines: &[&str],
    ) -> Result<Option<Packed>, postgres::Error> {
        self.advance(client, false)?;
        match self {
            Packer::Sampling(samples) => {
                if sample(samples, lines) {
                    let samples = std::mem::take(samples);
                    let spawned = std::thread::Builder::new()
                        .name("triage-dictionary".to_owned())
                        .spawn(move || train(&samples));
                    *self = match spawned {
                        Ok(training) => Packer::Training(training),
                        Err(error) => plain(&error.to_string()),
                    };
                }
                Ok(None)
            }
            Packer::Packing(id, compressor) => {
                let packed: Result<Vec<_>, _> = groups(lines)
                    .map(|group| Ok((compressor.compress(&joined(group))?, group.len())))
                    .collect::<std::io::Result<_>>();
                // Should zstd fail on a line (no such case is known), the
                // lines are kept plain.
                Ok(packed.ok().map(|groups| Packed {
                    dictionary: *id,
                    groups,
                }))
            }
            Packer::Training(_) | Packer::Plain => Ok(None),
        }
    }

    /// Inserts the records of `writer` with `seqs` and `lines` through
    /// `client` with one statement of `inserts` ([`INSERT_PLAIN`] and
    /// [`INSERT_PACKED`], or the same prepared): packed in groups, once
    /// there is a dictionary, else plain.
    pub(crate) fn insert<S: ToStatement + ?Sized>(
        &mut self,
        client: &mut impl GenericClient,
        (plain, packed): (&S, &S),
        writer: &str,
        seqs: &[i64],
        lines: &[&str],
    ) -> Result<(), postgres::Error> {
        let Some(groups) = self.pack(client, lines)? else {
            return client.execute(plain, &[&writer, &seqs, &lines]).map(drop);
        };
        let (mut firsts, mut lasts, mut frames) = (Vec::new(), Vec::new(), Vec::new());
        // The groups hold the lines in order, every one of them once.
        let mut seqs = seqs.iter().copied();
        for (frame, count) in groups.groups {
            let mut group = seqs.by_ref().take(count);
            let Some(first) = group.next() else { continue };
            firsts.push(first);
            lasts.push(group.last());
            frames.push(frame);
        }
        let dictionary = groups.dictionary;
        let values: [&(dyn ToSql + Sync); 5] = [&writer, &firsts, &lasts, &frames, &dictionary];
        client.execute(packed, &values).map(drop)
    }

    /// At the writer's close (or an import's end): waits for a dictionary
    /// being trained and stores it, so that the writers after a short run
    /// (a batch) pack.
    pub(crate) fn settle(
        &mut self,
        client: &mut impl GenericClient,
    ) -> Result<(), postgres::Error> {
        self.advance(client, true)
    }

    /// Stores a dictionary whose training has ended (or, with `wait`, once
    /// it ends), and packs with it.
    fn advance(
        &mut self,
        client: &mut impl GenericClient,
        wait: bool,
    ) -> Result<(), postgres::Error> {
        let Packer::Training(training) = self else {
            return Ok(());
        };
        if !wait && !training.is_finished() {
            return Ok(());
        }
        let trained = match std::mem::replace(self, Packer::Plain) {
            Packer::Training(training) => training.join(),
            _ => return Ok(()),
        };
        let dictionary = match trained {
            Ok(Ok(dictionary)) => dictionary,
            Ok(Err(why)) => {
                *self = plain(&why);
                return Ok(());
            }
            Err(_) => {
                *self = plain("the training thread panicked");
                return Ok(());
            }
        };
        *self = packing(store(client, &dictionary)?, &dictionary);
        Ok(())
    }
}

/// `lines` cut into runs of at most [`GROUP_LINES`] lines and, but for a
/// run's first line, [`GROUP_BYTES`] bytes.
fn groups<'l, 's>(lines: &'l [&'s str]) -> impl Iterator<Item = &'l [&'s str]> {
    let mut rest = lines;
    std::iter::from_fn(move || {
        let mut bytes = 0;
        let taken = rest
            .iter()
            .take(GROUP_LINES)
            .position(|line| {
                bytes += line.len() + 1;
                bytes > GROUP_BYTES
            })
            .map_or(rest.len().min(GROUP_LINES), |at| at.max(1));
        let (group, after) = rest.split_at(taken);
        rest = after;
        (!group.is_empty()).then_some(group)
    })
}

/// `lines` joined by newlines, as one group's frame holds them.
fn joined(lines: &[&str]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

/// Keeps `lines` as samples, within the limits; whether there are enough
/// to train on.
fn sample(samples: &mut Vec<String>, lines: &[&str]) -> bool {
    let mut bytes: usize = samples.iter().map(String::len).sum();
    for line in lines.iter().filter(|line| line.len() <= LONGEST_SAMPLE) {
        if samples.len() >= SAMPLES || bytes + line.len() > SAMPLE_BYTES {
            break;
        }
        bytes += line.len();
        samples.push((*line).to_owned());
    }
    samples.len() >= SAMPLES || bytes + LONGEST_SAMPLE > SAMPLE_BYTES
}

/// Packs with `dictionary`, stored under `id`; or plain, when zstd refuses it.
fn packing(id: i64, dictionary: &[u8]) -> Packer {
    match Compressor::with_dictionary(LEVEL, dictionary) {
        Ok(compressor) => Packer::Packing(id, Box::new(compressor)),
        Err(error) => plain(&error.to_string()),
    }
}

/// Lines stay plain, for the reason given.
fn plain(why: &str) -> Packer {
    tracing::warn!("the store's records are kept plain: no dictionary: {why}");
    Packer::Plain
}

fn train(samples: &[String]) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, DICTIONARY_BYTES).map_err(|e| e.to_string())
}

/// Stores `dictionary` under its digest (once), returning its id.
fn store(client: &mut impl GenericClient, dictionary: &[u8]) -> Result<i64, postgres::Error> {
    let digest = crate::canonical::sha256(dictionary);
    let row = client.query_one(
        "INSERT INTO triage.dictionaries (digest, body) VALUES ($1, $2)
         ON CONFLICT (digest) DO UPDATE SET digest = EXCLUDED.digest RETURNING id",
        &[&digest, &dictionary],
    )?;
    Ok(row.get(0))
}

/// Unpacks the rows of one store: every dictionary, read once.
pub(crate) struct Unpacker {
    dictionaries: HashMap<i64, Decompressor<'static>>,
}

impl Unpacker {
    /// The store's dictionaries, read through `client` (in the snapshot the
    /// rows are read in). A dictionary zstd refuses is left out: its rows
    /// are unreadable, and said so.
    pub(crate) fn load(client: &mut impl GenericClient) -> Result<Self, postgres::Error> {
        let rows = client.query("SELECT id, body FROM triage.dictionaries", &[])?;
        let dictionaries = rows
            .iter()
            .filter_map(|row| {
                let decompressor = Decompressor::with_dictionary(row.get(1)).ok()?;
                Some((row.get(0), decompressor))
            })
            .collect();
        Ok(Unpacker { dictionaries })
    }

    /// The lines of `row`, whose [`COLUMNS`] start at column `at` and whose
    /// `seq` is `seq`: its line as kept, or the lines it unpacks to; or why
    /// it cannot be read.
    pub(crate) fn lines<'r>(
        &mut self,
        row: &'r Row,
        at: usize,
        seq: i64,
    ) -> Result<Lines<'r>, String> {
        let line: Option<&str> = row.try_get(at).map_err(|e| e.to_string())?;
        if let Some(line) = line {
            return Ok(Lines::One(line));
        }
        let dictionary: Option<i64> = row.try_get(at + 1).map_err(|e| e.to_string())?;
        let packed: Option<&[u8]> = row.try_get(at + 2).map_err(|e| e.to_string())?;
        let last: Option<i64> = row.try_get(at + 3).map_err(|e| e.to_string())?;
        let (Some(dictionary), Some(packed)) = (dictionary, packed) else {
            return Err("the row holds no line, plain or packed".to_owned());
        };
        let count = claimed(seq, last).ok_or_else(|| {
            let last = last.unwrap_or(seq);
            format!("the row claims the records {seq} to {last}, which no group holds")
        })?;
        let decompressor = self.dictionaries.get_mut(&dictionary).ok_or_else(|| {
            format!("packed with dictionary {dictionary}, which the store does not hold")
        })?;
        let text = unpack(decompressor, packed)?;
        let held = text.split('\n').count();
        if held != count {
            return Err(format!(
                "its packed group holds {held} line(s) for the {count} records {seq} to {}",
                last.unwrap_or(seq)
            ));
        }
        Ok(Lines::Group(text))
    }
}

/// How many records `row` (its `seq` given, its [`COLUMNS`] from `at`)
/// says it holds, or 1 when that is not a number a row may hold: the lines
/// to put in its place when it cannot be read.
pub(crate) fn claimed_by(row: &Row, at: usize, seq: i64) -> usize {
    let last = row.try_get(at + 3).ok().flatten();
    claimed(seq, last).unwrap_or(1)
}

/// How many records a row of `seq` and `last` holds, when it is a number
/// a group may hold.
fn claimed(seq: i64, last: Option<i64>) -> Option<usize> {
    let count = last.unwrap_or(seq).checked_sub(seq)?.checked_add(1)?;
    usize::try_from(count)
        .ok()
        .filter(|count| (1..=GROUP_LINES).contains(count))
}

/// The lines one row holds.
pub(crate) enum Lines<'r> {
    /// A plain row's line, as kept.
    One(&'r str),
    /// A packed row's lines, joined by newlines.
    Group(String),
}

impl Lines<'_> {
    /// The lines, in `seq` order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, group) = match self {
            Lines::One(line) => (Some(*line), None),
            Lines::Group(text) => (None, Some(text.split('\n'))),
        };
        one.into_iter().chain(group.into_iter().flatten())
    }

    /// How many lines there are (at least one).
    pub(crate) fn count(&self) -> i64 {
        i64::try_from(self.iter().count()).unwrap_or(i64::MAX)
    }
}

fn unpack(decompressor: &mut Decompressor<'static>, packed: &[u8]) -> Result<String, String> {
    let size = zstd::zstd_safe::get_frame_content_size(packed)
        .ok()
        .flatten()
        .filter(|size| *size <= LONGEST)
        .and_then(|size| usize::try_from(size).ok())
        .ok_or("its packed line gives no size it can have")?;
    let bytes = decompressor
        .decompress(packed, size)
        .map_err(|e| format!("its packed line cannot be unpacked: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "its packed line is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn samples_are_kept_within_their_limits() {
        let line = "x".repeat(2_000);
        let mut samples = Vec::new();
        assert!(!sample(&mut samples, &vec![line.as_str(); 999]));
        // The thousandth line is enough; the ones after it are not kept.
        assert!(sample(&mut samples, &[line.as_str(), line.as_str()]));
        assert_eq!(samples.len(), SAMPLES);

        // A line longer than a sample may be is never kept.
        let long = "y".repeat(LONGEST_SAMPLE + 1);
        let mut samples = Vec::new();
        assert!(!sample(&mut samples, &vec![long.as_str(); 2_000]));
        assert!(samples.is_empty());

        // The largest samples stop at the bytes' limit, well short of a thousand.
        let large = "z".repeat(LONGEST_SAMPLE);
        let mut samples = Vec::new();
        assert!(sample(&mut samples, &vec![large.as_str(); 1_000]));
        assert_eq!(samples.len(), SAMPLE_BYTES / LONGEST_SAMPLE);
        assert!(samples.iter().map(String::len).sum::<usize>() <= SAMPLE_BYTES);
    }

    #[test]
    fn lines_are_grouped_whole_in_order_within_the_limits() {
        let short = "s".repeat(100);
        let long = "l".repeat(GROUP_BYTES);
        let lines = vec![short.as_str(); 2 * GROUP_LINES + 5];
        let sizes: Vec<usize> = groups(&lines).map(<[&str]>::len).collect();
        assert_eq!(sizes, [GROUP_LINES, GROUP_LINES, 5]);
        // A line as long as a group may be goes alone; the bytes after it
        // start the next group.
        let lines = [
            short.as_str(),
            long.as_str(),
            short.as_str(),
            short.as_str(),
        ];
        let sizes: Vec<usize> = groups(&lines).map(<[&str]>::len).collect();
        assert_eq!(sizes, [1, 1, 2]);
        assert_eq!(groups(&[]).count(), 0);
        assert_eq!(joined(&["a", "b", "c"]), b"a\nb\nc");
        assert_eq!(joined(&["a"]), b"a");
    }

    #[test]
    fn a_row_claims_from_one_to_a_group_of_records() {
        assert_eq!(claimed(7, None), Some(1));
        assert_eq!(claimed(7, Some(26)), Some(20));
        assert_eq!(claimed(1, Some(GROUP_LINES as i64)), Some(GROUP_LINES));
        assert_eq!(claimed(1, Some(GROUP_LINES as i64 + 1)), None);
        assert_eq!(claimed(7, Some(6)), None);
        assert_eq!(claimed(i64::MIN, Some(i64::MAX)), None);
    }

    #[test]
    fn a_packed_line_unpacks_to_the_same_bytes_and_damage_is_refused() {
        let lines: Vec<String> = (0..SAMPLES)
            .map(|i| format!(r#"{{"seq":{i},"name":"name-{}","kind":"repeated"}}"#, i % 7))
            .collect();
        let dictionary = train(&lines).unwrap();
        let mut compressor = Compressor::with_dictionary(LEVEL, &dictionary).unwrap();
        let mut decompressor = Decompressor::with_dictionary(&dictionary).unwrap();
        let line = r#"{"seq":5000,"name":"name-3","kind":"repeated"}"#;
        let packed = compressor.compress(line.as_bytes()).unwrap();
        assert!(packed.len() < line.len());
        assert_eq!(unpack(&mut decompressor, &packed).unwrap(), line);
        // Cut short, the frame says a size it cannot give.
        let cut = &packed[..packed.len() - 2];
        assert!(unpack(&mut decompressor, cut).is_err());
        // Not a frame at all: no size.
        let why = unpack(&mut decompressor, b"not zstd").unwrap_err();
        assert!(why.contains("no size"), "{why}");
    }
}
