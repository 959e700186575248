//! The node object: what the machine has (facts), registration and status, and the Lease
//! heartbeat in `kube-node-lease`.

pub mod facts;
pub mod lease;
pub mod status;
