//! Role-based access control with upstream's semantics: rules and subjects ([`rules`]), the
//! roles and bindings followed from the store ([`policy`]), and the roles and bindings every
//! cluster starts with ([`bootstrap`]), and escalation prevention ([`escalation`]).

pub mod bootstrap;
pub mod escalation;
pub mod policy;
pub mod rules;

pub use policy::{Policy, Verdict};
