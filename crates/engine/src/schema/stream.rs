//! Tickets as a JSON stream: a file or standard input that holds one ticket
//! or an array of them, read one ticket at a time, so that memory holds one
//! ticket, never the whole input, and no ticket is read past its size cap.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, BufRead, Read};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::json::{BOM, Duplicate, Seed, Step, TicketSyntaxError, syntax};

/// Reads JSON tickets from `input` as they arrive and hands each to `each`:
/// the one ticket of an input that is not an array, or every ticket of one
/// that is, in order. It reads as [`parse_ticket`](crate::parse_ticket)
/// does (one leading byte-order mark skipped, a key named twice refused),
/// and holds one ticket at a time.
///
/// A ticket may take `max` bytes: the whole input when it is not an array,
/// each ticket of an array (counted from the end of the one before, so its
/// separator and white space count too). One larger is refused with
/// [`TicketSyntaxError::TooLarge`] without being read further.
///
/// The first error ends the reading: an array cannot be resumed past a
/// ticket that does not parse. The tickets before it have been handed to
/// `each` already. `each` returns `false` to stop the reading early, which
/// is not an error.
pub fn read_tickets(
    input: &mut dyn BufRead,
    max: u64,
    each: &mut dyn FnMut(Value) -> bool,
) -> Result<(), TicketSyntaxError> {
    let skip = input
        .fill_buf()
        .map_err(|e| TicketSyntaxError::Json(serde_json::Error::io(e)))?
        .starts_with(BOM);
    if skip {
        input.consume(BOM.len());
    }
    let meter = Meter {
        read: Cell::new(0),
        limit: Cell::new(max),
        over: Cell::new(false),
    };
    let found = RefCell::new(None);
    let state = State {
        meter: &meter,
        max,
        found: &found,
        index: Cell::new(None),
        stopped: Cell::new(false),
    };
    let mut reader = serde_json::Deserializer::from_reader(Metered {
        input,
        meter: &meter,
    });
    let read = Top {
        state: &state,
        each,
    }
    .deserialize(&mut reader)
    .and_then(|()| {
        meter.limit.set(meter.read.get().saturating_add(max));
        reader.end()
    });
    match read {
        Ok(()) => Ok(()),
        Err(_) if state.stopped.get() => Ok(()),
        Err(_) if meter.over.get() => Err(TicketSyntaxError::TooLarge {
            index: state.index.get(),
            max,
        }),
        Err(error) => Err(syntax(error, found.into_inner())),
    }
}

/// How many bytes have been read, and how many may be before the ticket
/// being read is too large.
struct Meter {
    read: Cell<u64>,
    limit: Cell<u64>,
    over: Cell<bool>,
}

/// The input, read no further than the meter allows.
struct Metered<'a> {
    input: &'a mut dyn BufRead,
    meter: &'a Meter,
}

impl Read for Metered<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.meter.limit.get().saturating_sub(self.meter.read.get());
        if left == 0 {
            // At the limit: fine at the end of the input, too large otherwise.
            if self.input.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.meter.over.set(true);
            return Err(io::Error::other("the ticket is larger than it may be"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.input.read(&mut buf[..want])?;
        self.meter.read.set(self.meter.read.get() + n as u64);
        Ok(n)
    }
}

/// What the reading shares: the meter, the cap, the duplicate key found,
/// the index of the array's ticket being read, and whether `each` stopped it.
struct State<'a> {
    meter: &'a Meter,
    max: u64,
    found: &'a RefCell<Option<Duplicate>>,
    index: Cell<Option<usize>>,
    stopped: Cell<bool>,
}

/// The top of the input: an array of tickets handed on one by one, or
/// anything else handed on whole.
struct Top<'s, 'e> {
    state: &'s State<'s>,
    each: &'e mut dyn FnMut(Value) -> bool,
}

impl Top<'_, '_> {
    fn hand<E: de::Error>(self, value: Value) -> Result<(), E> {
        if (self.each)(value) {
            Ok(())
        } else {
            self.state.stopped.set(true);
            Err(E::custom("stopped"))
        }
    }

    fn seed(&self) -> Seed<'_> {
        Seed(self.state.found)
    }
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ticket or an array of tickets")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (state, seed) = (self.state, Seed(self.state.found));
        for index in 0.. {
            state.index.set(Some(index));
            let meter = state.meter;
            meter.limit.set(meter.read.get().saturating_add(state.max));
            match seq.next_element_seed(seed) {
                Ok(Some(ticket)) => {
                    if !(self.each)(ticket) {
                        state.stopped.set(true);
                        return Err(de::Error::custom("stopped"));
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    seed.within(Step::Index(index));
                    return Err(error);
                }
            }
        }
        state.index.set(None);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = self.seed().visit_map(map)?;
        self.hand(value)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.hand(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.hand(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.hand(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        let value = self.seed().visit_f64::<E>(value)?;
        self.hand(value)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.hand(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<(), E> {
        self.hand(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.hand(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.hand(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The tickets handed on, and how the reading ended.
    fn read(bytes: &[u8], max: u64) -> (Vec<Value>, Result<(), String>) {
        let mut tickets = Vec::new();
        let mut input = bytes;
        let ended = read_tickets(&mut input, max, &mut |t| {
            tickets.push(t);
            true
        });
        (tickets, ended.map_err(|e| e.to_string()))
    }

    #[test]
    fn an_array_is_handed_on_ticket_by_ticket_and_anything_else_whole() {
        let (tickets, ended) = read(br#"[{"id": 1}, {"id": 2}, 3]"#, 100);
        assert_eq!(tickets, [json!({"id": 1}), json!({"id": 2}), json!(3)]);
        assert_eq!(ended, Ok(()));
        let (tickets, ended) = read(b"\xEF\xBB\xBF {\"id\": 1}\n", 100);
        assert_eq!((tickets, ended), (vec![json!({"id": 1})], Ok(())));
        let (tickets, ended) = read(b"[]", 100);
        assert_eq!((tickets.len(), ended), (0, Ok(())));
    }

    #[test]
    fn a_ticket_may_take_the_cap_to_the_byte() {
        let ticket = br#"{"id": "T-1"}"#;
        let max = ticket.len() as u64;
        assert_eq!(read(ticket, max).1, Ok(()));
        let (tickets, ended) = read(ticket, max - 1);
        assert!(tickets.is_empty());
        assert_eq!(
            ended.unwrap_err(),
            "larger than the 12 bytes a ticket may take, so the input was not read past it"
        );
    }

    #[test]
    fn an_array_may_be_larger_than_the_cap_but_not_one_of_its_tickets() {
        let small = json!({"id": "x"}).to_string();
        let many = format!("[{}]", vec![small.as_str(); 100].join(","));
        let (tickets, ended) = read(many.as_bytes(), 20);
        assert_eq!((tickets.len(), ended), (100, Ok(())));
        let big = json!({"id": "x".repeat(100)}).to_string();
        let mixed = format!("[{small}, {big}, {small}]");
        let (tickets, ended) = read(mixed.as_bytes(), 20);
        assert_eq!(tickets.len(), 1);
        assert!(
            ended
                .unwrap_err()
                .starts_with("ticket [1] is larger than the 20 bytes")
        );
    }

    #[test]
    fn endless_input_is_cut_at_the_cap() {
        for (start, then) in [(&b" "[..], b' '), (b"\"", b'x'), (b"[\"", b'x')] {
            let endless = start.chain(io::repeat(then));
            let mut endless = io::BufReader::new(endless);
            let ended = read_tickets(&mut endless, 1 << 16, &mut |_| true);
            let too_large = matches!(ended, Err(TicketSyntaxError::TooLarge { .. }));
            assert!(too_large, "{ended:?}");
        }
    }

    #[test]
    fn a_duplicate_key_ends_the_reading_naming_its_ticket() {
        let (tickets, ended) = read(br#"[{"id": 1}, {"id": 2, "id": 3}, {"id": 4}]"#, 100);
        assert_eq!(tickets, [json!({"id": 1})]);
        assert_eq!(
            ended.unwrap_err(),
            "duplicate key `id` in `[1]` at line 1 column 27"
        );
    }

    #[test]
    fn each_may_stop_the_reading() {
        let mut seen = 0;
        let mut input = &b"[1, 2, 3"[..];
        let ended = read_tickets(&mut input, 100, &mut |_| {
            seen += 1;
            false
        });
        assert!(ended.is_ok());
        assert_eq!(seen, 1);
    }

    /// An error's message without its place (a reader counts one byte of
    /// look-ahead that a slice does not).
    fn unplaced(message: String) -> String {
        let text = message.split(" at line ").next().unwrap_or_default();
        text.to_owned()
    }

    #[test]
    fn errors_are_those_serde_json_gives() {
        for text in ["", "{", "[1,", "{} x", "\u{feff}\u{feff}{}", "[1e400]"] {
            let once = text.strip_prefix('\u{feff}').unwrap_or(text);
            let theirs = serde_json::from_str::<Value>(once);
            let theirs = theirs.map(drop).map_err(|e| unplaced(e.to_string()));
            let (_, ended) = read(text.as_bytes(), 100);
            assert_eq!(ended.map_err(unplaced), theirs, "{text:?}");
        }
    }
}
