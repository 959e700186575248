//! The node lifecycle controller: watches every node's heartbeats (its Lease's `renewTime` and
//! its `Ready` condition's `lastHeartbeatTime`); a node silent for `node-monitor-grace-period`
//! (upstream's 40 s by default) gets every condition set to `Unknown` (`NodeStatusUnknown`:
//! "Kubelet stopped posting node status."), its pods marked not ready, and a `NodeNotReady`
//! event. From its `Ready` condition each node gets upstream's taints — `not-ready` (False) or
//! `unreachable` (Unknown), with `NoSchedule` and `NoExecute` effects — which go when the node
//! is Ready again. Taint-based eviction then removes pods that do not tolerate them.

use crate::Context;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Taint keys this controller owns.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The key for an unreachable node.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// What a heartbeat looks like from here: the Lease's and the condition's times.
type Beat = (Option<String>, Option<String>);

/// Runs the monitor every `period` until aborted.
pub async fn run(ctx: Context, grace: Duration, period: Duration) {
    let recorder = ctx.recorder("node-controller");
    let mut seen: HashMap<String, (Beat, Instant)> = HashMap::new();
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        let now = Instant::now();
        let nodes = ctx.nodes.list();
        seen.retain(|name, _| {
            nodes
                .iter()
                .any(|n| n.metadata.name.as_deref() == Some(name.as_str()))
        });
        for node in nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            let beat = heartbeat(&ctx, &node);
            let entry = seen
                .entry(name.clone())
                .or_insert_with(|| (beat.clone(), now));
            if entry.0 != beat {
                *entry = (beat, now);
            }
            let silent = now.duration_since(entry.1) > grace;
            if silent && ready_status(&node) != Some("Unknown") {
                if let Err(e) = mark_unknown(&ctx, &node).await {
                    tracing::warn!(node = %name, error = %e, "could not mark the node Unknown");
                    continue;
                }
                recorder.normal(
                    &*node,
                    None,
                    "NodeNotReady",
                    format!("Node {name} status is now: NodeNotReady"),
                );
                mark_pods_not_ready(&ctx, &name).await;
            }
            if let Err(e) = taint(&ctx, &node).await {
                tracing::warn!(node = %name, error = %e, "could not update the node's taints");
            }
        }
    }
}

fn heartbeat(ctx: &Context, node: &Node) -> Beat {
    let name = node.metadata.name.clone().unwrap_or_default();
    let lease: Option<std::sync::Arc<Lease>> = ctx.leases.get(&format!("kube-node-lease/{name}"));
    let renewed = lease.and_then(|l| {
        l.spec
            .as_ref()?
            .renew_time
            .as_ref()
            .map(|t| t.0.to_string())
    });
    let posted = ready(node).and_then(|c| c.last_heartbeat_time.as_ref().map(|t| t.0.to_string()));
    (renewed, posted)
}

fn ready(node: &Node) -> Option<&k8s_openapi::api::core::v1::NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

fn ready_status(node: &Node) -> Option<&str> {
    ready(node).map(|c| c.status.as_str())
}

/// Sets every condition to Unknown (keeping heartbeat times), as upstream's
/// `tryUpdateNodeHealth`; a node that never posted a status gets a Ready condition saying so.
async fn mark_unknown(ctx: &Context, node: &Node) -> anyhow::Result<()> {
    let now = gantry_api::time::now_rfc3339();
    let existing = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut conditions: Vec<Value> = existing
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            v["status"] = json!("Unknown");
            v["reason"] = json!("NodeStatusUnknown");
            v["message"] = json!("Kubelet stopped posting node status.");
            v["lastTransitionTime"] = json!(now);
            v
        })
        .collect();
    if !existing.iter().any(|c| c.type_ == "Ready") {
        conditions.push(json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated",
            "message": "Kubelet never posted node status.", "lastHeartbeatTime": now, "lastTransitionTime": now}));
    }
    let api: Api<Node> = Api::all(ctx.client.clone());
    let name = node.metadata.name.as_deref().unwrap_or_default();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"conditions": conditions}})),
    )
    .await?;
    Ok(())
}

/// Upstream's `MarkPodsNotReady`: the pods of an unreachable node stop counting as ready.
async fn mark_pods_not_ready(ctx: &Context, node: &str) {
    let pods: Vec<std::sync::Arc<Pod>> = ctx
        .pods
        .list()
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .collect();
    for pod in pods {
        let Some(conditions) = pod.status.as_ref().and_then(|s| s.conditions.clone()) else {
            continue;
        };
        if !conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
        {
            continue;
        }
        // Only the Ready condition, merged by type (a strategic patch): what other writers
        // set meanwhile stays.
        let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "False",
            "lastTransitionTime": gantry_api::time::now_rfc3339()}]}});
        let api: Api<Pod> = Api::namespaced(
            ctx.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        if let Err(e) = api
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            tracing::debug!(pod = name, error = %e, "could not mark the pod not ready");
        }
    }
}

/// The taints the node's Ready condition calls for.
fn wanted(node: &Node) -> Vec<(&'static str, &'static str)> {
    let key = match ready_status(node) {
        Some("False") => NOT_READY,
        Some("Unknown") => UNREACHABLE,
        _ => return Vec::new(),
    };
    vec![(key, "NoSchedule"), (key, "NoExecute")]
}

/// Brings the node's condition taints to what its Ready condition says (other taints kept;
/// those already there keep their `timeAdded`).
async fn taint(ctx: &Context, node: &Node) -> anyhow::Result<()> {
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let want = wanted(node);
    let ours = |t: &Taint| {
        (t.key == NOT_READY || t.key == UNREACHABLE)
            && (t.effect == "NoSchedule" || t.effect == "NoExecute")
    };
    let have: Vec<(&str, &str)> = current
        .iter()
        .filter(|t| ours(t))
        .map(|t| (t.key.as_str(), t.effect.as_str()))
        .collect();
    let mut sorted_have = have.clone();
    sorted_have.sort_unstable();
    let mut sorted_want = want.clone();
    sorted_want.sort_unstable();
    if sorted_have == sorted_want {
        return Ok(());
    }
    let now = gantry_api::time::now_rfc3339();
    let mut taints: Vec<Value> = current
        .iter()
        .filter(|t| !ours(t) || want.contains(&(t.key.as_str(), t.effect.as_str())))
        .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
        .collect();
    for (key, effect) in want {
        if !have.contains(&(key, effect)) {
            let mut taint = json!({"key": key, "effect": effect});
            if effect == "NoExecute" {
                taint["timeAdded"] = json!(now);
            }
            taints.push(taint);
        }
    }
    let api: Api<Node> = Api::all(ctx.client.clone());
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let patch = json!({"spec": {"taints": if taints.is_empty() { Value::Null } else { json!(taints) }},
        "metadata": {"resourceVersion": node.metadata.resource_version}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        // Changed meanwhile: the next round looks again.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
