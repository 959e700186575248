//! NodeResourcesFit: the pod's requests (and one more pod) must fit in what the node has left
//! of its allocatable; nodes score by the `LeastAllocated` strategy by default (the emptier,
//! the better), or `MostAllocated` (bin packing).

use crate::framework::{MAX_NODE_SCORE, Plugin, Status};
use crate::info::{NodeInfo, PodInfo, Resources};

/// Upstream's default CPU request assumed when scoring a pod that asks for none (millicores).
pub const DEFAULT_MILLI_CPU: i64 = 100;
/// Upstream's default memory request assumed when scoring a pod that asks for none (bytes).
pub const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;

/// How nodes are scored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Prefer the node with the most left after placing the pod.
    #[default]
    LeastAllocated,
    /// Prefer the node with the least left.
    MostAllocated,
}

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeResourcesFit {
    /// The scoring strategy.
    pub strategy: Strategy,
}

/// The pod's requests for scoring: CPU and memory default when it asks for none.
pub fn non_zero(requests: &Resources) -> (i64, i64) {
    let cpu = if requests.milli_cpu == 0 {
        DEFAULT_MILLI_CPU
    } else {
        requests.milli_cpu
    };
    let memory = if requests.memory == 0 {
        DEFAULT_MEMORY
    } else {
        requests.memory
    };
    (cpu, memory)
}

/// What the node's pods request for scoring (each with the same defaults).
fn node_non_zero(node: &NodeInfo) -> (i64, i64) {
    node.pods.values().fold((0, 0), |(cpu, memory), entry| {
        let (c, m) = non_zero(&entry.requests);
        (cpu + c, memory + m)
    })
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let mut reasons = Vec::new();
        let (want, have, free) = (&pod.requests, &node.allocatable, &node.requested);
        if have.pods > 0 && free.pods + 1 > have.pods {
            reasons.push("Too many pods".to_owned());
        }
        if want.milli_cpu > 0 && have.milli_cpu - free.milli_cpu < want.milli_cpu {
            reasons.push("Insufficient cpu".to_owned());
        }
        if want.memory > 0 && have.memory - free.memory < want.memory {
            reasons.push("Insufficient memory".to_owned());
        }
        if want.ephemeral_storage > 0
            && have.ephemeral_storage - free.ephemeral_storage < want.ephemeral_storage
        {
            reasons.push("Insufficient ephemeral-storage".to_owned());
        }
        if reasons.is_empty() {
            Status::Success
        } else {
            Status::Unschedulable(reasons)
        }
    }

    fn scores(&self) -> bool {
        true
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let (pod_cpu, pod_memory) = non_zero(&pod.requests);
        let (node_cpu, node_memory) = node_non_zero(node);
        let one = |capacity: i64, requested: i64| {
            if capacity <= 0 || requested > capacity {
                return 0;
            }
            match self.strategy {
                Strategy::LeastAllocated => (capacity - requested) * MAX_NODE_SCORE / capacity,
                Strategy::MostAllocated => requested * MAX_NODE_SCORE / capacity,
            }
        };
        let cpu = one(node.allocatable.milli_cpu, node_cpu + pod_cpu);
        let memory = one(node.allocatable.memory, node_memory + pod_memory);
        (cpu + memory) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(cpu: i64, memory: i64, pods: i64) -> NodeInfo {
        NodeInfo {
            allocatable: Resources {
                milli_cpu: cpu,
                memory,
                ephemeral_storage: 0,
                pods,
            },
            ..NodeInfo::default()
        }
    }

    fn pod(requests: serde_json::Value) -> PodInfo {
        PodInfo::new(serde_json::from_value(json!({"spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]}})).unwrap())
    }

    #[test]
    fn each_missing_resource_is_a_reason() {
        let small = node(500, 1 << 20, 110);
        let big = pod(json!({"cpu": "1", "memory": "1Gi"}));
        assert_eq!(
            NodeResourcesFit::default().filter(&big, &small),
            Status::Unschedulable(vec![
                "Insufficient cpu".into(),
                "Insufficient memory".into()
            ])
        );
        let mut full = node(4000, 1 << 30, 1);
        full.add_pod(
            "x",
            Resources {
                pods: 1,
                ..Resources::default()
            },
            vec![],
        );
        assert_eq!(
            NodeResourcesFit::default().filter(&pod(json!({})), &full),
            Status::unschedulable("Too many pods")
        );
        assert!(
            NodeResourcesFit::default()
                .filter(&pod(json!({"cpu": "1"})), &node(1000, 1 << 30, 110))
                .is_success()
        );
    }

    #[test]
    fn least_allocated_prefers_the_emptier_node() {
        let p = pod(json!({"cpu": "1", "memory": "1Gi"}));
        let mut busy = node(4000, 4 << 30, 110);
        busy.add_pod(
            "x",
            Resources {
                milli_cpu: 2000,
                memory: 2 << 30,
                ephemeral_storage: 0,
                pods: 1,
            },
            vec![],
        );
        let idle = node(4000, 4 << 30, 110);
        let fit = NodeResourcesFit::default();
        assert_eq!(fit.score(&p, &idle), 75);
        assert_eq!(fit.score(&p, &busy), 25);
        let packing = NodeResourcesFit {
            strategy: Strategy::MostAllocated,
        };
        assert!(packing.score(&p, &busy) > packing.score(&p, &idle));
    }
}
