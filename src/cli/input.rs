//! Reading tickets from files or standard input, as JSON or YAML.
//!
//! Whatever its bytes, an input that can be opened comes to tickets, or to
//! the one reason it holds no (more) tickets, so that every input gets its
//! answers in its place. JSON goes through the engine's one ticket reader
//! ([`triage_engine::read_tickets`]): one leading byte-order mark skipped, a
//! key named twice refused, an array read one ticket at a time, and no
//! ticket read past `max` bytes. YAML skips the mark too and is read whole,
//! at most `max` bytes of it.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;
use triage_engine::{TicketSyntaxError, read_tickets, strip_bom};

/// What an input holds, one item at a time.
pub(crate) enum Item {
    Ticket(Value),
    /// JSON that is not a ticket's (it does not parse, names a key twice,
    /// or is too large); nothing after it is read.
    NotJson(TicketSyntaxError),
    /// The input is not well-formed YAML, or not UTF-8 text.
    Malformed(String),
}

/// Reads `name` (`-` for standard input) and hands each item to `each`,
/// which returns `false` to stop. `Err`: the input could not be read at all
/// (what the error says), and nothing more was handed on.
pub(crate) fn read(
    name: &str,
    max: usize,
    each: &mut dyn FnMut(Item) -> bool,
) -> Result<(), String> {
    let cannot = |error: &dyn std::fmt::Display| format!("cannot read `{name}`: {error}");
    let mut input: Box<dyn BufRead> = if name == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        match std::fs::File::open(name) {
            Ok(file) => Box::new(BufReader::with_capacity(1 << 16, file)),
            Err(error) => return Err(cannot(&error)),
        }
    };
    let max = u64::try_from(max).unwrap_or(u64::MAX);
    let head = input.fill_buf().map_err(|e| cannot(&e))?;
    if !is_json(name, strip_bom(head)) {
        return yaml(&mut input, max, each).map_err(|e| cannot(&e));
    }
    match read_tickets(&mut input, max, &mut |ticket| each(Item::Ticket(ticket))) {
        Ok(()) => Ok(()),
        Err(TicketSyntaxError::Json(error)) if error.is_io() => Err(cannot(&error)),
        Err(error) => {
            each(Item::NotJson(error));
            Ok(())
        }
    }
}

/// JSON for `.json` files, YAML for `.yaml` and `.yml`, and for any other
/// name JSON when the first bytes (`head`) start like JSON.
fn is_json(name: &str, head: &[u8]) -> bool {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => {
            let text = match std::str::from_utf8(head) {
                Ok(text) => text,
                // Cut in the middle of a character, or not UTF-8 at all.
                Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or(""),
            };
            text.trim_start().starts_with(['{', '['])
        }
    }
}

/// The YAML document of `input`, read whole (at most `max` bytes): its one
/// ticket, or each of an array.
fn yaml(
    input: &mut dyn BufRead,
    max: u64,
    each: &mut dyn FnMut(Item) -> bool,
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    // One byte past the cap tells a document of `max` bytes from a larger one.
    input.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let bytes = strip_bom(&bytes);
    if bytes.len() as u64 > max {
        each(Item::NotJson(TicketSyntaxError::TooLarge {
            index: None,
            max,
        }));
        return Ok(());
    }
    let value = match std::str::from_utf8(bytes) {
        Ok(text) => serde_saphyr::from_str(text)
            .map_err(|e| format!("not valid YAML: {}", e.without_snippet())),
        Err(error) => Err(format!("not UTF-8 text: {error}")),
    };
    match value {
        Ok(Value::Array(tickets)) => {
            for ticket in tickets {
                if !each(Item::Ticket(ticket)) {
                    break;
                }
            }
        }
        Ok(ticket) => {
            each(Item::Ticket(ticket));
        }
        Err(message) => {
            each(Item::Malformed(message));
        }
    }
    Ok(())
}
