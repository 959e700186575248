//! NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that tolerate
//! the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use crate::framework::{Plugin, Status};
use crate::info::{NodeInfo, PodInfo};
use crate::plugins::taint_toleration::tolerates;

/// Upstream's message.
pub const REASON: &str = "node(s) were unschedulable";

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        "NodeUnschedulable"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable {
            return Status::Success;
        }
        let taint = k8s_openapi::api::core::v1::Taint {
            key: "node.kubernetes.io/unschedulable".to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Default::default()
        };
        if pod.tolerations().iter().any(|t| tolerates(t, &taint)) {
            Status::Success
        } else {
            Status::unresolvable(REASON)
        }
    }
}
