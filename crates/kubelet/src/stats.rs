//! `/stats/summary`: the node's and its pods' resource usage in upstream's Summary API shape
//! (`stats/v1alpha1`), which metrics pipelines read through the API server's node proxy. The
//! node's figures come from the kernel, the containers' from CRI `ListContainerStats`.

use crate::clock;
use crate::pods::PodContext;
use crate::pods::runtime_state::{
    CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL,
};
use k8s_cri::v1 as cri;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The kernel's clock ticks per second for `/proc/stat` (USER_HZ, 100 on Linux).
const USER_HZ: u64 = 100;

/// CPU time the node has spent busy, in nanoseconds of one core, from `/proc/stat`.
pub fn node_cpu_nanos(stat: &str) -> Option<u64> {
    let fields: Vec<u64> = stat
        .lines()
        .find(|l| l.starts_with("cpu "))?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some((total - idle) * (1_000_000_000 / USER_HZ))
}

fn value(v: &Option<cri::UInt64Value>) -> Value {
    v.as_ref().map_or(Value::Null, |v| json!(v.value))
}

/// The summary document.
pub async fn summary(ctx: &PodContext, root: &std::path::Path) -> Result<Value, tonic::Status> {
    let now = clock::now_rfc3339();
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let capacity = crate::node::facts::capacity(root).ok();
    let total = capacity.as_ref().map_or(0, |c| c.memory_bytes);
    let available = crate::node::facts::memory_available().unwrap_or(0);
    let fs = rustix::fs::statvfs(root).ok();
    let node = json!({
        "nodeName": ctx.node_name,
        "cpu": {"time": now, "usageCoreNanoSeconds": node_cpu_nanos(&stat)},
        "memory": {
            "time": now,
            "availableBytes": available,
            "usageBytes": total.saturating_sub(available),
            "workingSetBytes": total.saturating_sub(available),
        },
        "fs": fs.map(|fs| json!({
            "time": now,
            "capacityBytes": fs.f_blocks * fs.f_frsize,
            "availableBytes": fs.f_bavail * fs.f_frsize,
            "usedBytes": (fs.f_blocks - fs.f_bfree) * fs.f_frsize,
        })),
    });
    let stats = ctx
        .cri
        .runtime
        .clone()
        .list_container_stats(cri::ListContainerStatsRequest { filter: None })
        .await?
        .into_inner()
        .stats;
    // Pods by (namespace, name, uid), each with its containers.
    let mut pods: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for stat in stats {
        let Some(attributes) = stat.attributes else {
            continue;
        };
        let label = |key: &str| attributes.labels.get(key).cloned().unwrap_or_default();
        let key = (
            label(POD_NAMESPACE_LABEL),
            label(POD_NAME_LABEL),
            label(POD_UID_LABEL),
        );
        let container = json!({
            "name": label(CONTAINER_NAME_LABEL),
            "cpu": stat.cpu.as_ref().map(|c| json!({
                "time": now,
                "usageCoreNanoSeconds": value(&c.usage_core_nano_seconds),
                "usageNanoCores": value(&c.usage_nano_cores),
            })),
            "memory": stat.memory.as_ref().map(|m| json!({
                "time": now,
                "workingSetBytes": value(&m.working_set_bytes),
                "usageBytes": value(&m.usage_bytes),
                "rssBytes": value(&m.rss_bytes),
            })),
            "rootfs": stat.writable_layer.as_ref().map(|w| json!({
                "time": now,
                "usedBytes": value(&w.used_bytes),
            })),
        });
        pods.entry(key).or_default().push(container);
    }
    let pods: Vec<Value> = pods
        .into_iter()
        .map(|((namespace, name, uid), containers)| {
            let sum = |pointer: &str| -> u64 {
                containers
                    .iter()
                    .filter_map(|c| c.pointer(pointer).and_then(Value::as_u64))
                    .sum()
            };
            json!({
                "podRef": {"name": name, "namespace": namespace, "uid": uid},
                "cpu": {"time": now, "usageCoreNanoSeconds": sum("/cpu/usageCoreNanoSeconds"), "usageNanoCores": sum("/cpu/usageNanoCores")},
                "memory": {"time": now, "workingSetBytes": sum("/memory/workingSetBytes"), "usageBytes": sum("/memory/usageBytes")},
                "containers": containers,
            })
        })
        .collect();
    Ok(json!({"node": node, "pods": pods}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_leaves_idle_and_iowait_out() {
        let stat = "cpu  100 0 50 1000 10 0 0 0 0 0\ncpu0 1 2 3\n";
        assert_eq!(node_cpu_nanos(stat), Some(150 * 10_000_000));
        assert_eq!(node_cpu_nanos("intr 1"), None);
    }
}
