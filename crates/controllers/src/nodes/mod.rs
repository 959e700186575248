//! Node health and what follows from it: the node lifecycle controller (conditions and
//! taints from heartbeats), taint-based eviction, and the pod garbage collector; and each
//! node's pod range (IPAM).

pub mod eviction;
pub mod ipam;
pub mod lifecycle;
pub mod podgc;
