//! Repository checks that are not tests of any one crate.

pub mod layers;
