//! Tools for policy authors, pure functions of a bundle: the YAML test
//! suites (`suite`), the exhaustive check (`exhaustive`), ticket generation
//! (`generate`) and JSON Schemas (`jsonschema`).

pub mod analysis;
pub mod exhaustive;
pub mod generate;
pub mod jsonschema;
pub mod suite;
