//! The ReplicaSet controller (through `Replicated`, the ReplicationController one too): keeps
//! `spec.replicas` active pods matching the selector — adopting orphans that match, releasing
//! pods that stopped matching, creating from the template (in slow-start batches of 1, 2, 4,
//! ... that stop at the first failure, at most 500 per sync) and deleting the least
//! established pods first — and reports `status` (replicas, fullyLabeledReplicas,
//! readyReplicas, availableReplicas, observedGeneration, and the `ReplicaFailure` condition
//! while creations or deletions fail).

use crate::Context;
use crate::expectations::Expectations;
use crate::informer::{Informer, key_of, split_key};
use crate::pods;
use crate::queue::WorkQueue;
use crate::replicated::Replicated;
use crate::runner::Reconcile;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Upstream's `BurstReplicas`: the most pods created or deleted in one sync.
const BURST: usize = 500;

/// The controller, for ReplicaSets or ReplicationControllers.
#[derive(Debug)]
pub struct ReplicaController<K: Replicated> {
    ctx: Context,
    sets: Arc<Informer<K>>,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
    expectations: Arc<Expectations>,
}

fn labels_of(pod: &Pod) -> std::collections::BTreeMap<String, String> {
    pod.metadata.labels.clone().unwrap_or_default()
}

/// Sets in the pod's namespace whose selector matches it (candidates to adopt an orphan).
fn matching_sets<K: Replicated>(sets: &Informer<K>, pod: &Pod) -> Vec<String> {
    let labels = labels_of(pod);
    sets.list_namespace(pod.metadata.namespace.as_deref().unwrap_or_default())
        .iter()
        .filter(|set| set.selector().is_some_and(|s| s.matches(&labels)))
        .map(|set| key_of(&**set))
        .collect()
}

impl<K: Replicated> ReplicaController<K> {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        let expectations = Arc::new(Expectations::default());
        {
            let (queue, expectations) = (Arc::clone(&queue), Arc::clone(&expectations));
            K::informer(ctx).on(move |old, new| match (old, new) {
                (_, Some(set)) => queue.add(key_of(set)),
                (Some(set), None) => expectations.forget(&key_of(set)),
                (None, None) => {}
            });
        }
        {
            let (queue, expectations) = (Arc::clone(&queue), Arc::clone(&expectations));
            let sets = Arc::clone(K::informer(ctx));
            ctx.pods.on(move |old, new| {
                on_pod(&sets, &queue, &expectations, old, new);
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            sets: Arc::clone(K::informer(ctx)),
            recorder: ctx.recorder(K::CONTROLLER),
            queue,
            expectations,
        })
    }
}

/// Routes a pod change to the sets it concerns (upstream's add/update/deletePod).
fn on_pod<K: Replicated>(
    sets: &Informer<K>,
    queue: &Arc<WorkQueue>,
    expectations: &Expectations,
    old: Option<&Pod>,
    new: Option<&Pod>,
) {
    let uid = |p: &Pod| p.metadata.uid.clone().unwrap_or_default();
    match (old, new) {
        (None, Some(pod)) => {
            if let Some(key) = sets.controller_of(&pod.metadata) {
                if pod.metadata.deletion_timestamp.is_some() {
                    expectations.deletion_observed(&key, &uid(pod));
                } else {
                    expectations.creation_observed(&key);
                }
                queue.add(key);
            } else if pod.metadata.deletion_timestamp.is_none() {
                for key in matching_sets(sets, pod) {
                    queue.add(key);
                }
            }
        }
        (Some(before), Some(pod)) => {
            if before.metadata.resource_version == pod.metadata.resource_version {
                return;
            }
            // A pod being deleted gracefully counts as deleted now, as upstream counts it.
            if pod.metadata.deletion_timestamp.is_some()
                && before.metadata.deletion_timestamp.is_none()
                && let Some(key) = sets.controller_of(&pod.metadata)
            {
                expectations.deletion_observed(&key, &uid(pod));
            }
            let before_owner = sets.controller_of(&before.metadata);
            let owner = sets.controller_of(&pod.metadata);
            if before_owner != owner
                && let Some(key) = before_owner
            {
                queue.add(key);
            }
            match owner {
                Some(key) => {
                    // Readiness may start a `minReadySeconds` wait: look again once it is over.
                    let became_ready = !pods::is_ready(before) && pods::is_ready(pod);
                    let wait = sets
                        .get(&key)
                        .map(|s| s.min_ready_seconds())
                        .filter(|s| *s > 0);
                    if became_ready && let Some(seconds) = wait {
                        queue.add_after(
                            key.clone(),
                            Duration::from_secs(u64::try_from(seconds).unwrap_or(0) + 1),
                        );
                    }
                    queue.add(key);
                }
                None => {
                    let changed = before.metadata.labels != pod.metadata.labels
                        || before.metadata.owner_references != pod.metadata.owner_references;
                    if changed && pod.metadata.deletion_timestamp.is_none() {
                        for key in matching_sets(sets, pod) {
                            queue.add(key);
                        }
                    }
                }
            }
        }
        (Some(pod), None) => {
            if let Some(key) = sets.controller_of(&pod.metadata) {
                expectations.deletion_observed(&key, &uid(pod));
                queue.add(key);
            }
        }
        (None, None) => {}
    }
}

impl<K: Replicated> Reconcile for ReplicaController<K> {
    fn name(&self) -> &'static str {
        K::CONTROLLER
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(set) = self.sets.get(&key) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        let (namespace, _) = split_key(&key);
        let Some(selector) = set.selector() else {
            // Validation keeps such sets out; one that got in manages nothing.
            return Ok(None);
        };
        let needs_sync = self.expectations.satisfied(&key);
        let active: Vec<Arc<Pod>> = self
            .ctx
            .pods
            .list_namespace(namespace)
            .into_iter()
            .filter(|p| pods::is_active(p))
            .collect();
        let owned = crate::claim::claim(&self.ctx.client, &*set, &selector, active).await?;
        let mut failure = None;
        if needs_sync && set.meta().deletion_timestamp.is_none() {
            failure = self.manage(&key, &set, &owned).await.err();
        }
        let min_ready = set.min_ready_seconds();
        let status = self.status(&set, &owned, failure.as_ref(), min_ready);
        self.write_status(&set, status).await?;
        if let Some(e) = failure {
            return Err(e);
        }
        let ready = owned.iter().filter(|p| pods::is_ready(p)).count();
        let now = k8s_openapi::jiff::Timestamp::now();
        let available = owned
            .iter()
            .filter(|p| pods::is_available(p, min_ready, now))
            .count();
        // Pods ready but not yet available become available by the clock alone.
        Ok((min_ready > 0 && ready != available)
            .then(|| Duration::from_secs(u64::try_from(min_ready).unwrap_or(0))))
    }
}

impl<K: Replicated> ReplicaController<K> {
    fn pods_api(&self, pod: &Pod) -> Api<Pod> {
        Api::namespaced(
            self.ctx.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or_default(),
        )
    }

    /// Creates or deletes pods toward `spec.replicas`.
    async fn manage(&self, key: &str, set: &K, owned: &[Arc<Pod>]) -> anyhow::Result<()> {
        let wanted = set.replicas().max(0);
        let wanted = usize::try_from(wanted).unwrap_or(0);
        if owned.len() < wanted {
            self.create(key, set, (wanted - owned.len()).min(BURST))
                .await
        } else if owned.len() > wanted {
            self.delete(key, set, owned, (owned.len() - wanted).min(BURST))
                .await
        } else {
            Ok(())
        }
    }

    async fn create(&self, key: &str, set: &K, count: usize) -> anyhow::Result<()> {
        let Some(template) = set.template() else {
            anyhow::bail!("the {} has no pod template", K::kind(&()));
        };
        let name = set.meta().name.as_deref().unwrap_or_default();
        let namespace = set.meta().namespace.as_deref().unwrap_or_default();
        let body = pods::from_template(template, &format!("{name}-"), pods::controller_ref(set));
        let pod: Pod = serde_json::from_value(body)?;
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), namespace);
        self.expectations.expect_creations(key, count);
        let (mut done, mut batch) = (0, 1);
        let params = PostParams::default();
        let mut failure = None;
        while done < count && failure.is_none() {
            let size = batch.min(count - done);
            let results =
                futures::future::join_all((0..size).map(|_| api.create(&params, &pod))).await;
            for result in results {
                match result {
                    Ok(created) => {
                        let created_name = created.metadata.name.unwrap_or_default();
                        self.recorder.normal(
                            set,
                            None,
                            "SuccessfulCreate",
                            format!("Created pod: {created_name}"),
                        );
                    }
                    Err(e) => {
                        // This creation will never be seen.
                        self.expectations.creation_observed(key);
                        self.recorder.warning(
                            set,
                            None,
                            "FailedCreate",
                            format!("Error creating: {}", crate::api_message(&e)),
                        );
                        failure = Some(e);
                    }
                }
            }
            done += size;
            batch *= 2;
        }
        // Batches never started will not be seen either.
        for _ in done..count {
            self.expectations.creation_observed(key);
        }
        match failure {
            Some(e) => Err(anyhow::Error::new(e).context("creating pods")),
            None => Ok(()),
        }
    }

    async fn delete(
        &self,
        key: &str,
        set: &K,
        owned: &[Arc<Pod>],
        count: usize,
    ) -> anyhow::Result<()> {
        let on_node = |pod: &Pod| {
            let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            owned
                .iter()
                .filter(|p| {
                    node.is_some() && p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == node
                })
                .count()
        };
        let mut ranked: Vec<(&Arc<Pod>, usize)> = owned.iter().map(|p| (p, on_node(p))).collect();
        ranked.sort_by(|a, b| pods::delete_first(a.0, a.1, b.0, b.1));
        let victims: Vec<&Arc<Pod>> = ranked.into_iter().take(count).map(|(p, _)| p).collect();
        self.expectations.expect_deletions(
            key,
            victims
                .iter()
                .map(|p| p.metadata.uid.clone().unwrap_or_default()),
        );
        let results = futures::future::join_all(victims.iter().map(|pod| async move {
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            (
                pod,
                self.pods_api(pod)
                    .delete(name, &DeleteParams::default())
                    .await,
            )
        }))
        .await;
        let mut failure = None;
        for (pod, result) in results {
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            match result {
                Ok(_) => self.recorder.normal(
                    set,
                    None,
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                ),
                Err(e) => {
                    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
                    self.expectations.deletion_observed(key, uid);
                    if !crate::is_not_found(&e) {
                        self.recorder.warning(
                            set,
                            None,
                            "FailedDelete",
                            format!("Error deleting: {}", crate::api_message(&e)),
                        );
                        failure = Some(e);
                    }
                }
            }
        }
        match failure {
            Some(e) => Err(anyhow::Error::new(e).context("deleting pods")),
            None => Ok(()),
        }
    }

    /// The status the set should show.
    fn status(
        &self,
        set: &K,
        owned: &[Arc<Pod>],
        failure: Option<&anyhow::Error>,
        min_ready: i32,
    ) -> serde_json::Value {
        let template_labels = set
            .template()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let fully_labeled = owned
            .iter()
            .filter(|p| {
                let labels = labels_of(p);
                template_labels
                    .iter()
                    .all(|(k, v)| labels.get(k) == Some(v))
            })
            .count();
        let now = k8s_openapi::jiff::Timestamp::now();
        let ready = owned.iter().filter(|p| pods::is_ready(p)).count();
        let available = owned
            .iter()
            .filter(|p| pods::is_available(p, min_ready, now))
            .count();
        // Both kinds' statuses have the same shape: read as JSON.
        let status = serde_json::to_value(set).unwrap_or_default()["status"].clone();
        let existing: Vec<serde_json::Value> =
            status["conditions"].as_array().cloned().unwrap_or_default();
        let mut conditions: Vec<serde_json::Value> = existing
            .iter()
            .filter(|c| c["type"] != "ReplicaFailure")
            .cloned()
            .collect();
        if let Some(e) = failure {
            let reason = if format!("{e:#}").starts_with("deleting") {
                "FailedDelete"
            } else {
                "FailedCreate"
            };
            let kept = existing
                .iter()
                .find(|c| c["type"] == "ReplicaFailure" && c["reason"] == reason);
            conditions.push(json!({
                "type": "ReplicaFailure",
                "status": "True",
                "reason": reason,
                "message": format!("{e:#}"),
                "lastTransitionTime": kept
                    .map(|c| c["lastTransitionTime"].clone())
                    .filter(|t| !t.is_null())
                    .unwrap_or_else(|| json!(gantry_api::time::now_rfc3339())),
            }));
        }
        json!({
            "replicas": owned.len(),
            "fullyLabeledReplicas": fully_labeled,
            "readyReplicas": ready,
            "availableReplicas": available,
            "observedGeneration": set.meta().generation,
            "conditions": conditions,
        })
    }

    /// Writes the status when it changed.
    async fn write_status(&self, set: &K, status: serde_json::Value) -> anyhow::Result<()> {
        let current = serde_json::to_value(set)?["status"].clone();
        let field = |v: &serde_json::Value, f: &str| {
            v.get(f).and_then(serde_json::Value::as_i64).unwrap_or(0)
        };
        let conditions = |v: &serde_json::Value| {
            v.get("conditions")
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let unchanged = [
            "replicas",
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "observedGeneration",
        ]
        .iter()
        .all(|f| field(&current, f) == field(&status, f))
            && conditions(&current) == conditions(&status);
        if unchanged {
            return Ok(());
        }
        let namespace = set.meta().namespace.as_deref().unwrap_or_default();
        let name = set.meta().name.as_deref().unwrap_or_default();
        let api: Api<K> = Api::namespaced(self.ctx.client.clone(), namespace);
        let mut patch = json!({"status": status});
        if conditions(&status).is_empty() {
            patch["status"]["conditions"] = serde_json::Value::Null;
        }
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::is_not_found(&e) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context("writing the status")),
        }
    }
}
