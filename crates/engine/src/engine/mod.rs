//! The engine: the `Bundle` a service holds (load it, decide with it), the
//! evaluation of one ticket, and the catalog of what a bundle declares.

pub(crate) mod atoms;
mod bundle;
pub mod catalog;
pub(crate) mod cubes;
pub(crate) mod evaluate;
mod fragments;
pub(crate) mod index;
mod packed;
mod render;
mod replay;
mod sorted;
mod tables;
pub(crate) mod verdict;
mod walk;
mod write;

pub use bundle::{Bundle, Written};
pub use verdict::Verdict;
