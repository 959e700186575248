//! Field management: who owns which fields of an object (`metadata.managedFields`), and
//! server-side apply built on it, as upstream's structured-merge-diff does.
//!
//! - [`fieldset`]: sets of field paths and their `FieldsV1` wire form;
//! - [`shape`]: how lists and objects of a kind merge (built-in table, custom schemas);
//! - [`extract`]: the fields an object sets, and what changed between two versions;
//! - [`merge`]: merging an applied configuration, pruning fields given up;
//! - [`entries`]: the `managedFields` entries;
//! - [`ops`]: updates and applies moving ownership, and apply conflicts.

pub mod entries;
pub mod extract;
pub mod fieldset;
pub mod merge;
pub mod ops;
pub mod shape;

#[cfg(test)]
mod tests;

pub use entries::{Entry, Operation};
pub use fieldset::FieldSet;
pub use ops::{Conflict, Writer, apply, conflict_message, update};
pub use shape::{Builtin, Shape, Structural};
