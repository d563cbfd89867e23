//! Reading tickets from files or standard input, as JSON or YAML.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// The tickets in one input, or why it could not be read.
pub(crate) enum Input {
    Tickets(Vec<Value>),
    /// The input is not well-formed JSON or YAML.
    Malformed(String),
    /// The input could not be read at all.
    Unreadable(String),
}

/// Reads `name` (`-` for standard input).
pub(crate) fn read(name: &str) -> Input {
    let mut text = String::new();
    let read = if name == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(name).map(|t| text = t)
    };
    if let Err(error) = read {
        return Input::Unreadable(format!("cannot read `{name}`: {error}"));
    }
    parse(name, &text)
}

/// JSON for `.json` files and for text that starts like JSON; YAML otherwise.
pub(crate) fn parse(name: &str, text: &str) -> Input {
    let extension = Path::new(name).extension().and_then(|e| e.to_str());
    let looks_json = text.trim_start().starts_with(['{', '[']);
    let value: Result<Value, String> = match extension {
        Some("json") => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}")),
        Some("yaml" | "yml") => serde_saphyr::from_str(text)
            .map_err(|e| format!("not valid YAML: {}", e.without_snippet())),
        _ if looks_json => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}")),
        _ => serde_saphyr::from_str(text)
            .map_err(|e| format!("not valid YAML: {}", e.without_snippet())),
    };
    match value {
        Ok(Value::Array(items)) => Input::Tickets(items),
        Ok(value) => Input::Tickets(vec![value]),
        Err(message) => Input::Malformed(message),
    }
}
