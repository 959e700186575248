//! What Gantry's components share on top of kube-rs: recording events as upstream's
//! components do, leader election through a Lease, and watched caches with change signals.

pub mod events;
pub mod follow;
pub mod leader;
pub mod predicates;
