//! Load: the bundle's files as written. `source` reads the manifest and the
//! files it lists and computes the digest; `raw` parses the YAML with source
//! locations; `limits` bounds the sandbox limits a manifest may set; `text`
//! refuses characters that hide what a file says; `style` finds YAML that
//! does not read as written (tags, anchors, aliases, comments in texts).

use serde::Serialize;

pub mod digest;
pub(crate) mod limits;
pub mod raw;
pub mod source;
pub(crate) mod style;
pub(crate) mod text;

/// A bundle file held in memory: its name as the manifest lists it, and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PolicyFile {
    /// The file's name as the manifest lists it (`bundle.yaml` for the manifest itself).
    pub name: String,
    /// The file's contents.
    pub text: String,
}
