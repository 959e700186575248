//! The disruption controller: a PodDisruptionBudget's status — the pods it covers
//! (`expectedPods`: the pods for an integer `minAvailable`; otherwise the replicas their
//! controllers want), how many are healthy (ready), how many must stay healthy
//! (`desiredHealthy`, from `minAvailable` or `maxUnavailable`, percentages rounded up), and so
//! how many may be disrupted now (`disruptionsAllowed`), with the `DisruptionAllowed`
//! condition (`SufficientPods` / `InsufficientPods`). Eviction reads it.

use crate::Context;
use crate::informer::{key_of, split_key};
use crate::pods;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::selector::LabelSelector;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The controller.
#[derive(Debug)]
pub struct DisruptionController {
    ctx: Context,
    queue: Arc<WorkQueue>,
}

/// The replicas the pod's controller wants (ReplicaSet, ReplicationController, StatefulSet),
/// keyed by the controller, if the pod has one of those.
fn scale_of(ctx: &Context, pod: &Pod) -> Option<(String, i32)> {
    let owner = pods::controller_of(&pod.metadata)?;
    let namespace = pod.metadata.namespace.as_deref()?;
    let key = format!("{namespace}/{}", owner.name);
    let replicas = match owner.kind.as_str() {
        "ReplicaSet" => ctx
            .replica_sets
            .get(&key)?
            .spec
            .as_ref()?
            .replicas
            .unwrap_or(1),
        "ReplicationController" => ctx
            .replication_controllers
            .get(&key)?
            .spec
            .as_ref()?
            .replicas
            .unwrap_or(1),
        "StatefulSet" => ctx
            .stateful_sets
            .get(&key)?
            .spec
            .as_ref()?
            .replicas
            .unwrap_or(1),
        _ => return None,
    };
    Some((format!("{}/{key}", owner.kind), replicas))
}

/// `(expected, desired healthy)` for a budget over `pods` (upstream's `getExpectedPodCount`).
fn expected_and_desired(
    ctx: &Context,
    budget: &PodDisruptionBudget,
    pods: &[&Arc<Pod>],
) -> Result<(i32, i32), String> {
    let spec = budget.spec.clone().unwrap_or_default();
    let controller_scale = || -> Result<i32, String> {
        let mut scales: BTreeMap<String, i32> = BTreeMap::new();
        for pod in pods {
            let (controller, replicas) = scale_of(ctx, pod).ok_or_else(|| {
                format!(
                    "found no controllers for pod {:?}",
                    pod.metadata.name.as_deref().unwrap_or_default()
                )
            })?;
            scales.insert(controller, replicas);
        }
        Ok(scales.values().sum())
    };
    let percent = |value: &IntOrString, total: i32| -> i32 {
        match value {
            IntOrString::Int(n) => *n,
            IntOrString::String(p) => {
                let p: i64 = p.trim_end_matches('%').parse().unwrap_or(0);
                i32::try_from((p * i64::from(total) + 99) / 100).unwrap_or(0)
            }
        }
    };
    match (&spec.max_unavailable, &spec.min_available) {
        (Some(max), _) => {
            let expected = controller_scale()?;
            Ok((expected, (expected - percent(max, expected)).max(0)))
        }
        (None, Some(IntOrString::Int(min))) => Ok((i32::try_from(pods.len()).unwrap_or(0), *min)),
        (None, Some(min)) => {
            let expected = controller_scale()?;
            Ok((expected, percent(min, expected)))
        }
        (None, None) => Ok((i32::try_from(pods.len()).unwrap_or(0), 1)),
    }
}

impl DisruptionController {
    /// The controller, with its handlers on the budget and pod informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.budgets.on(move |old, new| {
                let spec_changed = match (old, new) {
                    (Some(a), Some(b)) => {
                        a.spec != b.spec || a.metadata.generation != b.metadata.generation
                    }
                    _ => true,
                };
                if let Some(budget) = new.filter(|_| spec_changed) {
                    queue.add(key_of(budget));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let budgets = Arc::clone(&ctx.budgets);
            ctx.pods.on(move |old, new| {
                let namespace = new
                    .or(old)
                    .and_then(|p| p.metadata.namespace.clone())
                    .unwrap_or_default();
                for budget in budgets.list_namespace(&namespace) {
                    queue.add(key_of(&*budget));
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            queue,
        })
    }
}

impl Reconcile for DisruptionController {
    fn name(&self) -> &'static str {
        "disruption-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(budget) = self.ctx.budgets.get(&key) else {
            return Ok(None);
        };
        let (namespace, name) = split_key(&key);
        let spec = budget.spec.clone().unwrap_or_default();
        let selector =
            LabelSelector::from_label_selector_json(&serde_json::to_value(&spec.selector)?)
                .unwrap_or_else(|_| LabelSelector::nothing());
        let candidates = self.ctx.pods.list_namespace(namespace);
        let covered: Vec<&Arc<Pod>> = candidates
            .iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && selector.matches(&p.metadata.labels.clone().unwrap_or_default())
            })
            .collect();
        let healthy =
            i32::try_from(covered.iter().filter(|p| pods::is_ready(p)).count()).unwrap_or(0);
        let (expected, desired, problem) = match expected_and_desired(&self.ctx, &budget, &covered)
        {
            Ok((e, d)) => (e, d, None),
            Err(why) => (0, 0, Some(why)),
        };
        let allowed = if problem.is_some() {
            0
        } else {
            (healthy - desired).max(0)
        };
        let (status, reason, message) = match (&problem, allowed) {
            (Some(why), _) => ("False", "SyncFailed", why.clone()),
            (None, 0) => ("False", "InsufficientPods", String::new()),
            (None, _) => ("True", "SufficientPods", String::new()),
        };
        let current = budget.status.clone().unwrap_or_default();
        let previous = current
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "DisruptionAllowed");
        let transition = previous
            .filter(|c| c.status == status && c.reason == reason)
            .map_or_else(
                || json!(gantry_api::time::now_rfc3339()),
                |c| json!(c.last_transition_time),
            );
        let wanted = json!({
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "disruptionsAllowed": allowed,
            "expectedPods": expected,
            "observedGeneration": budget.metadata.generation,
            "conditions": [{"type": "DisruptionAllowed", "status": status, "reason": reason, "message": message,
                "observedGeneration": budget.metadata.generation, "lastTransitionTime": transition}],
        });
        let unchanged = current.current_healthy == healthy
            && current.desired_healthy == desired
            && current.disruptions_allowed == allowed
            && current.expected_pods == expected
            && current.observed_generation == budget.metadata.generation
            && previous
                .is_some_and(|c| c.status == status && c.reason == reason && c.message == message);
        if !unchanged {
            let api: Api<PodDisruptionBudget> = Api::namespaced(self.ctx.client.clone(), namespace);
            api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": wanted})),
            )
            .await?;
        }
        Ok(None)
    }
}
