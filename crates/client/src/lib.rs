//! What Gantry's components share on top of kube-rs: recording events as upstream's
//! components do, and leader election through a Lease.

pub mod events;
pub mod leader;
pub mod predicates;
