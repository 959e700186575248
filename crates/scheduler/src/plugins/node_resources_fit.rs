//! NodeResourcesFit: the pod's requests (and one more pod) must fit in what the node has left
//! of its allocatable; nodes score by the `LeastAllocated` strategy by default (the emptier,
//! the better), `MostAllocated` (bin packing) or `RequestedToCapacityRatio` (a shape over
//! utilization), with CPU and memory weighted.

use crate::framework::{MAX_NODE_SCORE, Plugin, Status};
use crate::info::{NodeInfo, PodInfo, Resources};

/// Upstream's default CPU request assumed when scoring a pod that asks for none (millicores).
pub const DEFAULT_MILLI_CPU: i64 = 100;
/// Upstream's default memory request assumed when scoring a pod that asks for none (bytes).
pub const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;

/// How nodes are scored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Prefer the node with the most left after placing the pod.
    #[default]
    LeastAllocated,
    /// Prefer the node with the least left.
    MostAllocated,
    /// Score by a piecewise linear function of utilization: (utilization %, score 0..=10)
    /// points in increasing utilization.
    RequestedToCapacityRatio(Vec<(i64, i64)>),
}

/// The plugin.
#[derive(Debug, Clone)]
pub struct NodeResourcesFit {
    /// The scoring strategy.
    pub strategy: Strategy,
    /// The weights of CPU and memory in the score (upstream's default: 1 and 1).
    pub weights: (i64, i64),
}

impl Default for NodeResourcesFit {
    fn default() -> Self {
        Self {
            strategy: Strategy::LeastAllocated,
            weights: (1, 1),
        }
    }
}

impl NodeResourcesFit {
    /// The plugin configured by upstream's `NodeResourcesFitArgs` (`scoringStrategy`).
    pub fn from_args(args: &serde_json::Value) -> anyhow::Result<Self> {
        let mut fit = Self::default();
        let Some(strategy) = args.get("scoringStrategy") else {
            return Ok(fit);
        };
        fit.strategy = match strategy.get("type").and_then(|t| t.as_str()) {
            None | Some("LeastAllocated") => Strategy::LeastAllocated,
            Some("MostAllocated") => Strategy::MostAllocated,
            Some("RequestedToCapacityRatio") => {
                let shape = strategy
                    .pointer("/requestedToCapacityRatio/shape")
                    .and_then(|s| s.as_array())
                    .ok_or_else(|| anyhow::anyhow!("RequestedToCapacityRatio needs a shape"))?;
                let mut points = Vec::new();
                for point in shape {
                    let read = |k: &str| point.get(k).and_then(serde_json::Value::as_i64);
                    let (Some(u), Some(s)) = (read("utilization"), read("score")) else {
                        anyhow::bail!("a shape point needs utilization and score");
                    };
                    if !(0..=100).contains(&u) || !(0..=10).contains(&s) {
                        anyhow::bail!("shape points: utilization 0-100, score 0-10");
                    }
                    if points.last().is_some_and(|(last, _)| *last >= u) {
                        anyhow::bail!("shape points must increase in utilization");
                    }
                    points.push((u, s));
                }
                if points.is_empty() {
                    anyhow::bail!("RequestedToCapacityRatio needs at least one shape point");
                }
                Strategy::RequestedToCapacityRatio(points)
            }
            Some(other) => anyhow::bail!("unknown scoring strategy {other:?}"),
        };
        for resource in strategy
            .get("resources")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let weight = resource
                .get("weight")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(1);
            match resource.get("name").and_then(|n| n.as_str()) {
                Some("cpu") => fit.weights.0 = weight,
                Some("memory") => fit.weights.1 = weight,
                _ => {} // extended resources are not counted here
            }
        }
        Ok(fit)
    }
}

/// The shape's score at `utilization` percent, scaled to MAX_NODE_SCORE.
fn shape_score(points: &[(i64, i64)], utilization: i64) -> i64 {
    let scale = MAX_NODE_SCORE / 10;
    let Some(&(first_u, first_s)) = points.first() else {
        return 0;
    };
    if utilization <= first_u {
        return first_s * scale;
    }
    for pair in points.windows(2) {
        let ((u0, s0), (u1, s1)) = (pair[0], pair[1]);
        if utilization <= u1 {
            return (s0 * scale) + (s1 - s0) * scale * (utilization - u0) / (u1 - u0);
        }
    }
    points.last().map_or(0, |(_, s)| s * scale)
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
        let mut reasons = crate::framework::Reasons::new();
        let (want, have, free) = (&pod.requests, &node.allocatable, &node.requested);
        // A node that reports no room for pods (no status yet) takes none, as upstream.
        if free.pods + 1 > have.pods {
            reasons.push("Too many pods".into());
        }
        if want.milli_cpu > 0 && have.milli_cpu - free.milli_cpu < want.milli_cpu {
            reasons.push("Insufficient cpu".into());
        }
        if want.memory > 0 && have.memory - free.memory < want.memory {
            reasons.push("Insufficient memory".into());
        }
        if want.ephemeral_storage > 0
            && have.ephemeral_storage - free.ephemeral_storage < want.ephemeral_storage
        {
            reasons.push("Insufficient ephemeral-storage".into());
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
            match &self.strategy {
                Strategy::LeastAllocated => (capacity - requested) * MAX_NODE_SCORE / capacity,
                Strategy::MostAllocated => requested * MAX_NODE_SCORE / capacity,
                Strategy::RequestedToCapacityRatio(points) => {
                    shape_score(points, requested * 100 / capacity)
                }
            }
        };
        let cpu = one(node.allocatable.milli_cpu, node_cpu + pod_cpu);
        let memory = one(node.allocatable.memory, node_memory + pod_memory);
        let (wc, wm) = self.weights;
        if wc + wm <= 0 {
            return 0;
        }
        (cpu * wc + memory * wm) / (wc + wm)
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
            Status::Unschedulable(smallvec::smallvec![
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
            ..NodeResourcesFit::default()
        };
        assert!(packing.score(&p, &busy) > packing.score(&p, &idle));
    }

    #[test]
    fn requested_to_capacity_ratio_follows_its_shape_and_weights() {
        let fit = NodeResourcesFit::from_args(&json!({"scoringStrategy": {
            "type": "RequestedToCapacityRatio",
            "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}],
            "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}
        }}))
        .unwrap();
        assert_eq!(fit.weights, (3, 1));
        // Half the CPU and a quarter of the memory used with the pod: (50×3 + 25×1) / 4.
        let p = pod(json!({"cpu": "2", "memory": "1Gi"}));
        assert_eq!(fit.score(&p, &node(4000, 4 << 30, 110)), (50 * 3 + 25) / 4);
        assert_eq!(shape_score(&[(0, 10), (50, 0)], 25), 50);
        assert_eq!(shape_score(&[(0, 10), (50, 0)], 80), 0);
        for bad in [
            json!({"scoringStrategy": {"type": "Cheapest"}}),
            json!({"scoringStrategy": {"type": "RequestedToCapacityRatio"}}),
            json!({"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 50, "score": 1}, {"utilization": 10, "score": 2}]}}}),
        ] {
            assert!(NodeResourcesFit::from_args(&bad).is_err(), "{bad}");
        }
    }
}
