//! NodeResourcesBalancedAllocation: prefers nodes where, with the pod placed, CPU and memory
//! are used in similar proportions (score = (1 − the spread of the two fractions) × 100).

use crate::framework::{MAX_NODE_SCORE, Plugin};
use crate::info::{NodeInfo, PodInfo};
use crate::plugins::node_resources_fit::non_zero;

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct BalancedAllocation;

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }

    fn scores(&self) -> bool {
        true
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let (pod_cpu, pod_memory) = non_zero(&pod.requests);
        let fraction = |requested: i64, capacity: i64| {
            if capacity <= 0 {
                1.0
            } else {
                (requested as f64 / capacity as f64).min(1.0)
            }
        };
        let cpu = fraction(
            node.requested.milli_cpu + pod_cpu,
            node.allocatable.milli_cpu,
        );
        let memory = fraction(node.requested.memory + pod_memory, node.allocatable.memory);
        let spread = ((cpu - memory) / 2.0).abs();
        ((1.0 - spread) * MAX_NODE_SCORE as f64) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::Resources;
    use serde_json::json;

    #[test]
    fn balanced_use_scores_higher() {
        let pod = PodInfo::new(serde_json::from_value(json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}})).unwrap());
        let node = |cpu, memory| NodeInfo {
            allocatable: Resources {
                milli_cpu: cpu,
                memory,
                ephemeral_storage: 0,
                pods: 110,
            },
            ..NodeInfo::default()
        };
        let even = BalancedAllocation.score(&pod, &node(2000, 2 << 30));
        let skewed = BalancedAllocation.score(&pod, &node(2000, 16 << 30));
        assert_eq!(even, 100);
        assert!(skewed < even);
    }
}
