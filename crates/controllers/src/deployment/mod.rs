//! The Deployment controller: one ReplicaSet per pod template (named by the template's hash),
//! rolled from old to new by the strategy — `RollingUpdate` within `maxSurge` and
//! `maxUnavailable`, or `Recreate` (all old pods gone before the new set starts) — with
//! revision numbers in annotations (so `kubectl rollout history` and `undo` work), old sets
//! cleaned beyond `revisionHistoryLimit`, `paused`, proportional scaling during a rollout, and
//! upstream's status and `Available`/`Progressing` conditions, `progressDeadlineSeconds`
//! included.

pub mod conditions;
pub mod revision;
pub mod rollout;
mod sets;
mod status;

use crate::Context;
use crate::informer::{Informer, key_of};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use std::sync::Arc;
use std::time::Duration;

/// The controller.
#[derive(Debug)]
pub struct DeploymentController {
    ctx: Context,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
}

/// The Deployment's selector, if it selects something in particular.
fn selector_of(deployment: &Deployment) -> Option<LabelSelector> {
    let json = serde_json::to_value(&deployment.spec.as_ref()?.selector).ok()?;
    LabelSelector::from_label_selector_json(&json)
        .ok()
        .filter(|s| !s.is_nothing())
}

/// Deployments in the set's namespace whose selector matches it (to adopt an orphan).
fn matching(deployments: &Informer<Deployment>, set: &ReplicaSet) -> Vec<String> {
    let labels = set.metadata.labels.clone().unwrap_or_default();
    deployments
        .list_namespace(set.metadata.namespace.as_deref().unwrap_or_default())
        .iter()
        .filter(|d| selector_of(d).is_some_and(|s| !s.is_everything() && s.matches(&labels)))
        .map(|d| key_of(&**d))
        .collect()
}

impl DeploymentController {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.deployments.on(move |old, new| {
                if let Some(d) = new.or(old) {
                    queue.add(key_of(d));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let deployments = Arc::clone(&ctx.deployments);
            ctx.replica_sets.on(move |old, new| {
                let owners =
                    [old, new].map(|s| s.and_then(|s| deployments.controller_of(&s.metadata)));
                for key in owners.iter().flatten() {
                    queue.add(key.clone());
                }
                if owners.iter().all(Option::is_none)
                    && let Some(set) = new
                {
                    for key in matching(&deployments, set) {
                        queue.add(key);
                    }
                }
            });
        }
        {
            // A Recreate rollout waits for the old pods to be gone.
            let queue = Arc::clone(&queue);
            let (deployments, sets) = (Arc::clone(&ctx.deployments), Arc::clone(&ctx.replica_sets));
            ctx.pods.on(move |old, new| {
                if let (Some(pod), None) = (old, new) {
                    on_pod_gone(&deployments, &sets, &queue, pod);
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            recorder: ctx.recorder("deployment-controller"),
            queue,
        })
    }
}

fn on_pod_gone(
    deployments: &Informer<Deployment>,
    sets: &Informer<ReplicaSet>,
    queue: &WorkQueue,
    pod: &Pod,
) {
    let Some(set) = sets
        .controller_of(&pod.metadata)
        .and_then(|key| sets.get(&key))
    else {
        return;
    };
    if let Some(key) = deployments.controller_of(&set.metadata) {
        let recreate = deployments
            .get(&key)
            .is_some_and(|d| strategy(&d) == "Recreate");
        if recreate {
            queue.add(key);
        }
    }
}

/// The strategy's type (`RollingUpdate` by default).
fn strategy(deployment: &Deployment) -> &str {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

/// `spec.replicas` (1 by default).
fn replicas(deployment: &Deployment) -> i32 {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
}

/// `(maxSurge, maxUnavailable)` as pod counts (0, 0 for Recreate; unavailable never past
/// replicas), as upstream's `MaxSurge` and `MaxUnavailable`.
fn surge_and_unavailable(deployment: &Deployment) -> (i32, i32) {
    if strategy(deployment) != "RollingUpdate" {
        return (0, 0);
    }
    let rolling = deployment
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let default =
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("25%".to_owned());
    let surge = rolling
        .and_then(|r| r.max_surge.as_ref())
        .unwrap_or(&default);
    let unavailable = rolling
        .and_then(|r| r.max_unavailable.as_ref())
        .unwrap_or(&default);
    let total = replicas(deployment);
    let (surge, unavailable) = rollout::fenceposts(Some(surge), Some(unavailable), total);
    (
        surge,
        if total == 0 {
            0
        } else {
            unavailable.min(total)
        },
    )
}

fn spec_replicas(set: &ReplicaSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn available_replicas(set: &ReplicaSet) -> i32 {
    set.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

impl Reconcile for DeploymentController {
    fn name(&self) -> &'static str {
        "deployment-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(deployment) = self.ctx.deployments.get(&key) else {
            return Ok(None);
        };
        let Some(selector) = selector_of(&deployment) else {
            return Ok(None);
        };
        if selector.is_everything() {
            self.recorder.warning(
                &*deployment,
                None,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required."
                    .to_owned(),
            );
            return Ok(None);
        }
        let namespace = deployment.metadata.namespace.as_deref().unwrap_or_default();
        let candidates = self.ctx.replica_sets.list_namespace(namespace);
        let owned =
            crate::claim::claim(&self.ctx.client, &*deployment, &selector, candidates).await?;
        let mut sets: Vec<ReplicaSet> = owned.iter().map(|s| (**s).clone()).collect();
        // Oldest first, as upstream sorts by creation.
        sets.sort_by(|a, b| {
            let created = |s: &ReplicaSet| s.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(a)
                .cmp(&created(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let mut sync = sets::Sync::new(self, (*deployment).clone(), sets);
        if deployment.metadata.deletion_timestamp.is_some() {
            return sync.write_status(false).await;
        }
        let paused = deployment
            .spec
            .as_ref()
            .and_then(|s| s.paused)
            .unwrap_or(false);
        if paused || sync.is_scaling_event() {
            sync.scale().await?;
            if paused {
                sync.cleanup().await?;
            }
            return sync.write_status(false).await;
        }
        if strategy(&deployment) == "Recreate" {
            sync.recreate().await
        } else {
            sync.rolling().await
        }
    }
}
