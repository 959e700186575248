//! Requests and limits → CRI Linux resources (cgroup settings), as upstream's kubelet maps
//! them: CPU shares from the request (2 for none), a CFS quota from the limit over a 100 ms
//! period, the memory limit in bytes, and an OOM score by QoS class.

use crate::pods::status::qos_class;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, PodSpec};

/// The CFS period upstream uses.
const CPU_PERIOD: i64 = 100_000;
/// The smallest CPU shares the kernel takes.
const MIN_SHARES: i64 = 2;
/// The smallest quota upstream sets (1 ms).
const MIN_QUOTA: i64 = 1_000;

fn quantity(container: &Container, list: &str, resource: &str) -> Option<f64> {
    let resources = container.resources.as_ref()?;
    let map = match list {
        "limits" => resources.limits.as_ref()?,
        _ => resources.requests.as_ref()?,
    };
    gantry_api::quantity::parse(&map.get(resource)?.0).ok()
}

/// The OOM score of a container, given the node's memory capacity.
pub fn oom_score_adj(spec: &PodSpec, container: &Container, memory_capacity: u64) -> i64 {
    match qos_class(spec) {
        "Guaranteed" => -997,
        "BestEffort" => 1000,
        _ => {
            let request = quantity(container, "requests", "memory")
                .or_else(|| quantity(container, "limits", "memory"))
                .unwrap_or(0.0);
            if memory_capacity == 0 {
                return 999;
            }
            let score = 1000 - (1000.0 * request / memory_capacity as f64) as i64;
            score.clamp(2, 999)
        }
    }
}

/// The container's cgroup settings.
pub fn linux_resources(
    spec: &PodSpec,
    container: &Container,
    memory_capacity: u64,
) -> cri::LinuxContainerResources {
    // A limit without a request means the request equals the limit (API defaulting does this;
    // repeated here for pods written before it).
    let cpu_request =
        quantity(container, "requests", "cpu").or_else(|| quantity(container, "limits", "cpu"));
    let cpu_limit = quantity(container, "limits", "cpu");
    let memory_limit = quantity(container, "limits", "memory");
    let shares = cpu_request.map_or(MIN_SHARES, |cores| {
        ((cores * 1024.0) as i64).max(MIN_SHARES)
    });
    let (period, quota) = match cpu_limit {
        Some(cores) => (
            CPU_PERIOD,
            ((cores * CPU_PERIOD as f64) as i64).max(MIN_QUOTA),
        ),
        None => (0, 0),
    };
    cri::LinuxContainerResources {
        cpu_period: period,
        cpu_quota: quota,
        cpu_shares: shares,
        memory_limit_in_bytes: memory_limit.map_or(0, |bytes| bytes as i64),
        oom_score_adj: oom_score_adj(spec, container, memory_capacity),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(resources: serde_json::Value) -> PodSpec {
        serde_json::from_value(json!({"containers": [{"name": "c", "resources": resources}]}))
            .unwrap()
    }

    #[test]
    fn limits_become_quota_and_memory_limit() {
        let spec = spec(
            json!({"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}),
        );
        let resources = linux_resources(&spec, &spec.containers[0], 1 << 30);
        assert_eq!(resources.cpu_shares, 256);
        assert_eq!(
            (resources.cpu_period, resources.cpu_quota),
            (100_000, 50_000)
        );
        assert_eq!(resources.memory_limit_in_bytes, 128 * 1024 * 1024);
        // Burstable: 1000 - 1000 * 64Mi / 1Gi.
        assert_eq!(resources.oom_score_adj, 938);
    }

    #[test]
    fn best_effort_and_guaranteed_scores() {
        let none = spec(json!({}));
        let resources = linux_resources(&none, &none.containers[0], 1 << 30);
        assert_eq!(
            (
                resources.cpu_shares,
                resources.cpu_quota,
                resources.memory_limit_in_bytes
            ),
            (2, 0, 0)
        );
        assert_eq!(resources.oom_score_adj, 1000);
        let fixed = spec(json!({"limits": {"cpu": "1", "memory": "1Gi"}}));
        assert_eq!(
            linux_resources(&fixed, &fixed.containers[0], 1 << 30).oom_score_adj,
            -997
        );
    }
}
