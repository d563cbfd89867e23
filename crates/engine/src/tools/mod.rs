//! Tools for policy authors, pure functions of a bundle: the YAML test
//! suites (`suite`), the exhaustive check (`exhaustive`), ticket generation
//! (`generate`), JSON Schemas (`jsonschema`) and the formatter (`format`).

pub mod analysis;
pub mod exhaustive;
pub mod format;
pub mod generate;
pub mod jsonschema;
pub mod suite;
