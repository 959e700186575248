//! What Gantry's components share on top of kube-rs: recording events as upstream's
//! components do.

pub mod events;
