//! NodeName: a pod that names a node (`spec.nodeName` set before scheduling) fits only there.

use crate::framework::{Plugin, Status};
use crate::info::{NodeInfo, PodInfo};

/// Upstream's message.
pub const REASON: &str = "node(s) didn't match the requested node name";

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        "NodeName"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        match pod.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            Some(wanted) if !wanted.is_empty() && wanted != node.name => {
                Status::unresolvable(REASON)
            }
            _ => Status::Success,
        }
    }
}
