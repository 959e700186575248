//! The pod garbage collector (upstream's podgc): pods bound to a node that no longer exists
//! are deleted at once (`DeletionByPodGC`), unscheduled pods being deleted are finished off,
//! and terminated pods beyond `terminated-pod-gc-threshold` (12,500) go, oldest first.

use crate::Context;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Upstream's `--terminated-pod-gc-threshold` default.
const THRESHOLD: usize = 12_500;
/// How long a missing node must stay missing before its pods go (upstream's quarantine).
const QUARANTINE: Duration = Duration::from_secs(40);

async fn force_delete(ctx: &Context, pod: &Pod, reason: Option<(&str, &str)>) {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    if let Some((reason, message)) = reason {
        let patch = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": reason,
            "message": message, "lastTransitionTime": gantry_api::time::now_rfc3339()}]}});
        let _ = api
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await;
    }
    if let Err(e) = api
        .delete(
            name,
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            },
        )
        .await
    {
        tracing::debug!(pod = name, error = %e, "pod GC could not delete");
    }
}

/// Runs every `period` until aborted.
pub async fn run(ctx: Context, period: Duration) {
    let mut missing_since: HashMap<String, Instant> = HashMap::new();
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        let pods: Vec<Arc<Pod>> = ctx.pods.list();
        // Orphans: bound to a node that has been gone for the quarantine.
        let now = Instant::now();
        let mut seen_missing = Vec::new();
        for pod in &pods {
            let Some(node) = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .filter(|n| !n.is_empty())
            else {
                // Unscheduled and being deleted: nothing else will finish it.
                if pod.metadata.deletion_timestamp.is_some() {
                    force_delete(&ctx, pod, None).await;
                }
                continue;
            };
            if ctx.nodes.get(&node).is_some() {
                continue;
            }
            seen_missing.push(node.clone());
            let since = *missing_since.entry(node).or_insert(now);
            if now.duration_since(since) >= QUARANTINE {
                force_delete(
                    &ctx,
                    pod,
                    Some(("DeletionByPodGC", "PodGC: node no longer exists")),
                )
                .await;
            }
        }
        missing_since.retain(|node, _| seen_missing.contains(node));
        // Terminated pods beyond the threshold, oldest first.
        let mut terminated: Vec<&Arc<Pod>> = pods
            .iter()
            .filter(|p| {
                matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
            })
            .collect();
        if terminated.len() > THRESHOLD {
            terminated.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
            let excess = terminated.len() - THRESHOLD;
            for pod in terminated.into_iter().take(excess) {
                force_delete(&ctx, pod, None).await;
            }
        }
    }
}
