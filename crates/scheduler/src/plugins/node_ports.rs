//! NodePorts: a pod's host ports must be free on the node (a port on `0.0.0.0` conflicts
//! with the same port on any address, as upstream).

use crate::framework::{Plugin, Status};
use crate::info::{NodeInfo, PodInfo};

/// Upstream's message.
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        "NodePorts"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let conflict = pod.ports.iter().any(|(protocol, ip, port)| {
            node.used_ports.iter().any(|(p, i, n)| {
                p == protocol && n == port && (i == ip || i == "0.0.0.0" || ip == "0.0.0.0")
            })
        });
        if conflict {
            Status::unschedulable(REASON)
        } else {
            Status::Success
        }
    }
}
