//! The container runtime side of the node: containerd (started by us or found running), the
//! CNI network it attaches sandboxes to, the CRI client, and image import.

pub mod cni;
pub mod containerd;
pub mod cri;
pub mod images;
