//! Why the formatter leaves a file as it is.

use std::fmt;

/// Why a file is left as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// The line (1-based; 0 when the whole file is meant).
    pub line: usize,
    /// The column (1-based; 0 when the whole file is meant).
    pub column: usize,
    /// What the formatter found, in words.
    pub message: String,
}

impl FormatError {
    pub(super) fn at(line: usize, column: usize, message: String) -> FormatError {
        FormatError {
            line,
            column,
            message,
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        write!(f, "{}; the file is left unchanged", self.message)
    }
}
