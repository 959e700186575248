//! Taint-based eviction (upstream's taint-eviction controller): a pod on a node with
//! `NoExecute` taints it does not tolerate is deleted at once; one that tolerates them for a
//! while (`tolerationSeconds`, which the API server sets to 300 s for `not-ready` and
//! `unreachable` unless the pod says otherwise) is deleted when that time has passed since the
//! taint was added. Evicted pods get the `DisruptionTarget` condition and a
//! `TaintManagerEviction` event first; their controllers replace them elsewhere.

use crate::Context;
use crate::informer::key_of;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_client::predicates::tolerates;
use k8s_openapi::api::core::v1::{Pod, Taint};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The controller.
#[derive(Debug)]
pub struct TaintEviction {
    ctx: Context,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()?
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())
}

/// When the pod must go, in seconds from now (0: now), if at all.
pub fn due_in(pod: &Pod, taints: &[Taint], now: i64) -> Option<i64> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut due: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<_> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(0);
        }
        // Tolerated forever by one toleration without a limit; else by the shortest limit.
        if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            continue;
        }
        let seconds = matching
            .iter()
            .filter_map(|t| t.toleration_seconds)
            .min()
            .unwrap_or(0)
            .max(0);
        let added = taint.time_added.as_ref().map_or(now, |t| t.0.as_second());
        let left = (added + seconds - now).max(0);
        due = Some(due.map_or(left, |d| d.min(left)));
    }
    due
}

impl TaintEviction {
    /// The controller, with its handlers on the pod and node informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.pods.on(move |_, new| {
                if let Some(pod) =
                    new.filter(|p| node_of(p).is_some() && p.metadata.deletion_timestamp.is_none())
                {
                    queue.add(key_of(pod));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let pods = Arc::clone(&ctx.pods);
            ctx.nodes.on(move |old, new| {
                let Some(node) = new else { return };
                let taints = |n: Option<&k8s_openapi::api::core::v1::Node>| {
                    n.and_then(|n| n.spec.as_ref()?.taints.clone())
                };
                if taints(old) == taints(Some(node)) {
                    return;
                }
                let name = node.metadata.name.as_deref();
                for pod in pods.list().iter().filter(|p| node_of(p) == name) {
                    queue.add(key_of(&**pod));
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            recorder: ctx.recorder("taint-eviction-controller"),
            queue,
        })
    }
}

impl Reconcile for TaintEviction {
    fn name(&self) -> &'static str {
        "taint-eviction-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(pod) = self.ctx.pods.get(&key) else {
            return Ok(None);
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let Some(node) = node_of(&pod).and_then(|n| self.ctx.nodes.get(n)) else {
            return Ok(None);
        };
        let taints = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        let now = k8s_openapi::jiff::Timestamp::now().as_second();
        match due_in(&pod, &taints, now) {
            None => Ok(None),
            Some(left) if left > 0 => {
                Ok(Some(Duration::from_secs(u64::try_from(left).unwrap_or(0))))
            }
            Some(_) => {
                let (namespace, name) = crate::informer::split_key(&key);
                let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), namespace);
                self.recorder.normal(
                    &*pod,
                    None,
                    "TaintManagerEviction",
                    format!("Marking for deletion Pod {key}"),
                );
                // A strategic patch merges conditions by type: nothing another writer set
                // meanwhile is lost.
                let patch = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True",
                    "reason": "DeletionByTaintManager", "message": "Taint manager: deleting due to NoExecute taint",
                    "lastTransitionTime": gantry_api::time::now_rfc3339()}]}});
                if let Err(e) = api
                    .patch_status(name, &PatchParams::default(), &Patch::Strategic(&patch))
                    .await
                {
                    tracing::debug!(pod = %key, error = %e, "could not add the DisruptionTarget condition");
                }
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: pod.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(name, &params).await {
                    Ok(_) => Ok(None),
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(tolerations: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"spec": {"containers": [], "tolerations": tolerations}}))
            .unwrap()
    }

    fn taint(key: &str, added: i64) -> Taint {
        serde_json::from_value(json!({"key": key, "effect": "NoExecute",
            "timeAdded": k8s_openapi::jiff::Timestamp::from_second(added).unwrap().to_string()}))
        .unwrap()
    }

    #[test]
    fn eviction_waits_for_the_shortest_toleration() {
        let unreachable = [taint("node.kubernetes.io/unreachable", 1000)];
        let tolerant = pod(
            json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]),
        );
        assert_eq!(due_in(&tolerant, &unreachable, 1010), Some(20));
        assert_eq!(due_in(&tolerant, &unreachable, 1040), Some(0));
        assert_eq!(
            due_in(&pod(json!([])), &unreachable, 1000),
            Some(0),
            "not tolerated: at once"
        );
        let forever = pod(json!([{"operator": "Exists"}]));
        assert_eq!(due_in(&forever, &unreachable, 5000), None);
        assert_eq!(
            due_in(&pod(json!([])), &[], 0),
            None,
            "no taint, no eviction"
        );
    }
}
