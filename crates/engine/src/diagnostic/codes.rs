//! Problem codes: the stable, machine-readable kind of every problem the
//! loader reports. Each is defined once here, with its text and what it
//! means; `docs/problem-codes.md` lists them and a test keeps the two equal.

use std::fmt;

use serde::{Serialize, Serializer};

/// Defines `Code` from one list: variant, text, and meaning (the doc line).
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $name:ident = $text:literal,)+) => {
        /// The kind of a problem, written as a stable kebab-case text such as
        /// `unknown-reference`. Tools may match on it; the message may change.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[doc = $doc])+ $name,)+
        }

        impl Code {
            /// Every code, in the order of the documentation.
            pub const ALL: &'static [Code] = &[$(Code::$name,)+];

            /// The code as problems write it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)+
                }
            }

            /// What the code means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$name => concat!($($doc),+).trim_ascii(),)+
                }
            }
        }
    };
}

codes! {
    /// A file cannot be read: missing, unreadable, or not UTF-8.
    Io = "io",
    /// A listed file name is unsafe (absolute, `..`, hidden) or empty.
    BadFileName = "bad-file-name",
    /// The manifest lists a file twice.
    DuplicateFile = "duplicate-file",
    /// The manifest's own fields are wrong (an empty name or version).
    Manifest = "manifest",
    /// A file is not valid YAML, or has a key or value of the wrong shape.
    Yaml = "yaml",
    /// An id is declared twice within its kind.
    DuplicateId = "duplicate-id",
    /// An id is empty or does not follow the id pattern (a lowercase letter,
    /// then lowercase letters, digits and `_`, at most 64 characters).
    BadId = "bad-id",
    /// A second `ticket` schema.
    DuplicateSchema = "duplicate-schema",
    /// No file declares a `ticket` schema.
    NoSchema = "no-schema",
    /// A ticket field is declared wrongly (its type or values).
    BadField = "bad-field",
    /// A field's default is not a value of its type, or the field is required.
    BadDefault = "bad-default",
    /// `mask: true` on a field that cannot be masked.
    BadMask = "bad-mask",
    /// The schema as a whole is wrong (its id or role field, or a path clash).
    BadSchema = "bad-schema",
    /// A reference to a ticket field the schema does not declare.
    UnknownField = "unknown-field",
    /// A reference to a role, action, outcome, vehicle, set, condition or
    /// path that is not declared.
    UnknownReference = "unknown-reference",
    /// A literal that is not one of an enum or list field's values.
    UnknownValue = "unknown-value",
    /// A comparison or `in` test between values that can never match.
    TypeMismatch = "type-mismatch",
    /// A condition, set or field shares a name with another in expressions.
    NameClash = "name-clash",
    /// Named conditions that refer to each other in a cycle.
    Cycle = "cycle",
    /// An expression that does not parse or uses what it may not.
    Expression = "expression",
    /// An expression written in a YAML style that changes its text.
    ExpressionStyle = "expression-style",
    /// An action chosen by a field that does not cover its values.
    BadAction = "bad-action",
    /// A rule whose outcome escalates names no path.
    MissingPath = "missing-path",
    /// A rule whose outcome does not escalate names a path.
    NeedlessPath = "needless-path",
    /// The last boundary rule does not match every ticket.
    NoCatchAll = "no-catch-all",
    /// The bundle declares no boundary rules.
    NoRules = "no-rules",
    /// A path whose steps can all fail has no fallback.
    NoFallback = "no-fallback",
    /// A rule, step or fallback that an earlier one always pre-empts.
    Unreachable = "unreachable",
    /// A declaration nothing refers to (a warning).
    Unused = "unused",
    /// The loader itself failed (a bug): the bundle was not judged.
    LoadFailed = "load-failed",
    /// An expression uses a function, statement or syntax outside the sandbox's
    /// allow-list (`sleep`, `Fn`, a loop, an assignment, …).
    NotAllowed = "not-allowed",
    /// A manifest limit is outside its allowed range (`0`, which rhai reads as
    /// unlimited, or a value too large to bound a decision).
    BadLimit = "bad-limit",
    /// An expression nests deeper than `max_expression_depth` allows.
    TooDeep = "too-deep",
    /// A text holds a control, bidirectional or zero-width character.
    BadText = "bad-text",
    /// A listed file or the manifest resolves, through a symbolic link, to a
    /// place outside the bundle directory.
    OutsideBundle = "outside-bundle",
    /// A listed file or the manifest is a directory, a device, a FIFO or a
    /// socket rather than a regular file.
    NotAFile = "not-a-file",
    /// A file is larger than a policy file may be, or the bundle's files
    /// together larger than a bundle may be.
    TooLarge = "too-large",
    /// A value starts with `!`, `&` or `*`, which YAML reads as a tag, an
    /// anchor or an alias, not as the text written.
    YamlMarker = "yaml-marker",
    /// A title, description, rationale, fee or coverage text is empty or blank.
    EmptyText = "empty-text",
    /// A ` #` in an unquoted text starts a YAML comment, cutting the text short
    /// (a warning).
    CutText = "cut-text",
    /// A YAML file in the bundle directory that the manifest does not list (a
    /// warning).
    UnlistedFile = "unlisted-file",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
