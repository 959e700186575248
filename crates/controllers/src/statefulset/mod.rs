//! The StatefulSet controller: pods with stable names `<set>-<ordinal>` (from
//! `spec.ordinals.start`), hostnames under the governing Service, and their own
//! PersistentVolumeClaims from `volumeClaimTemplates` (created before the pod, kept or deleted
//! with the set per `persistentVolumeClaimRetentionPolicy.whenDeleted`). `OrderedReady` creates
//! one pod at a time in ordinal order, each waiting for the previous to be Running and Ready,
//! and removes them in reverse; `Parallel` does all at once. A new template is a new
//! ControllerRevision; `RollingUpdate` replaces pods from the highest ordinal down to
//! `partition`, one at a time, each once the rest are ready; `OnDelete` waits for users.

pub mod identity;
pub mod retention;

use crate::Context;
use crate::informer::{key_of, split_key};
use crate::pods;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The controller.
#[derive(Debug)]
pub struct StatefulSetController {
    ctx: Context,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
}

fn running_and_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") && pods::is_ready(pod)
}

fn failed(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
}

impl StatefulSetController {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.stateful_sets.on(move |_, new| {
                if let Some(set) = new {
                    queue.add(key_of(set));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let sets = Arc::clone(&ctx.stateful_sets);
            ctx.pods.on(move |old, new| {
                if let Some(key) = new.or(old).and_then(|p| sets.controller_of(&p.metadata)) {
                    queue.add(key);
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            recorder: ctx.recorder("statefulset-controller"),
            queue,
        })
    }

    fn pods_api(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.ctx.client.clone(), namespace)
    }

    /// Creates the pod for `ordinal` (its claims first) from `revision`'s template.
    async fn create(
        &self,
        set: &StatefulSet,
        ordinal: i32,
        revision: &str,
        template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    ) -> anyhow::Result<()> {
        let namespace = set.metadata.namespace.as_deref().unwrap_or_default();
        let name = set.metadata.name.as_deref().unwrap_or_default();
        let pod_name = format!("{name}-{ordinal}");
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(self.ctx.client.clone(), namespace);
        for claim in identity::claims_for(set, ordinal) {
            let claim_name = claim.metadata.name.clone().unwrap_or_default();
            if claims.get_opt(&claim_name).await?.is_some() {
                continue;
            }
            match claims.create(&PostParams::default(), &claim).await {
                Ok(_) => self.recorder.normal(
                    set,
                    None,
                    "SuccessfulCreate",
                    format!(
                        "create Claim {claim_name} Pod {pod_name} in StatefulSet {name} success"
                    ),
                ),
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => {
                    self.recorder.warning(set, None, "FailedCreate",
                        format!("create Claim {claim_name} for Pod {pod_name} in StatefulSet {name} failed error: {}", crate::api_message(&e)));
                    return Err(e.into());
                }
            }
        }
        let pod: Pod = serde_json::from_value(identity::pod_for(set, template, revision, ordinal))?;
        match self
            .pods_api(namespace)
            .create(&PostParams::default(), &pod)
            .await
        {
            Ok(_) => {
                self.recorder.normal(
                    set,
                    None,
                    "SuccessfulCreate",
                    format!("create Pod {pod_name} in StatefulSet {name} successful"),
                );
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => {
                self.recorder.warning(
                    set,
                    None,
                    "FailedCreate",
                    format!(
                        "create Pod {pod_name} in StatefulSet {name} failed error: {}",
                        crate::api_message(&e)
                    ),
                );
                Err(e.into())
            }
        }
    }

    /// Keeps the claims' owners as the retention policy says (see `retention`).
    async fn keep_claims(
        &self,
        set: &StatefulSet,
        slots: &BTreeMap<i32, Arc<Pod>>,
        condemned: &[(i32, Arc<Pod>)],
    ) -> anyhow::Result<()> {
        let namespace = set.metadata.namespace.as_deref().unwrap_or_default();
        let name = set.metadata.name.as_deref().unwrap_or_default();
        let templates = set
            .spec
            .as_ref()
            .and_then(|s| s.volume_claim_templates.clone())
            .unwrap_or_default();
        let pods = slots
            .iter()
            .map(|(o, p)| (*o, p, false))
            .chain(condemned.iter().map(|(o, p)| (*o, p, true)));
        for (ordinal, pod, is_condemned) in pods {
            for template in &templates {
                let volume = template.metadata.name.as_deref().unwrap_or_default();
                let claim_name = identity::claim_name(volume, name, ordinal);
                let Some(claim) = self.ctx.claims.get(&format!("{namespace}/{claim_name}")) else {
                    continue;
                };
                if let Some(owners) = retention::wanted_owners(&claim, set, Some(pod), is_condemned)
                {
                    let patch = json!({"metadata": {"ownerReferences": owners}});
                    match Api::<PersistentVolumeClaim>::namespaced(
                        self.ctx.client.clone(),
                        namespace,
                    )
                    .patch(&claim_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    {
                        Ok(_) => {}
                        Err(e) if crate::is_not_found(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    async fn delete(&self, set: &StatefulSet, pod: &Pod) -> anyhow::Result<()> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
        match self
            .pods_api(namespace)
            .delete(pod_name, &DeleteParams::default())
            .await
        {
            Ok(_) => {
                let name = set.metadata.name.as_deref().unwrap_or_default();
                self.recorder.normal(
                    set,
                    None,
                    "SuccessfulDelete",
                    format!("delete Pod {pod_name} in StatefulSet {name} successful"),
                );
                Ok(())
            }
            Err(e) if crate::is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Reconcile for StatefulSetController {
    fn name(&self) -> &'static str {
        "statefulset-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(set) = self.ctx.stateful_sets.get(&key) else {
            return Ok(None);
        };
        if set.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let (namespace, _) = split_key(&key);
        let name = set.metadata.name.clone().unwrap_or_default();
        let spec = set.spec.clone().unwrap_or_default();
        let Ok(selector) =
            LabelSelector::from_label_selector_json(&serde_json::to_value(&spec.selector)?)
        else {
            return Ok(None);
        };
        if selector.is_nothing() || selector.is_everything() {
            return Ok(None);
        }
        let status = set.status.clone().unwrap_or_default();
        // A collision count of 0 (what the status shows before any collision) hashes as none.
        let collisions = status.collision_count.filter(|c| *c > 0);
        let hash = crate::deployment::revision::template_hash(&spec.template, collisions);
        crate::revisions::ensure(&self.ctx.client, &*set, &hash, &spec.template).await?;
        let update_revision = format!("{name}-{hash}");
        let current_revision = status
            .current_revision
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| update_revision.clone());
        let candidates = self.ctx.pods.list_namespace(namespace);
        let owned = crate::claim::claim(&self.ctx.client, &*set, &selector, candidates).await?;
        let replicas = spec.replicas.unwrap_or(1).max(0);
        let start = spec
            .ordinals
            .as_ref()
            .and_then(|o| o.start)
            .unwrap_or(0)
            .max(0);
        let mut slots: BTreeMap<i32, Arc<Pod>> = BTreeMap::new();
        let mut condemned: Vec<(i32, Arc<Pod>)> = Vec::new();
        for pod in owned {
            let Some(ordinal) =
                identity::ordinal_of(&name, pod.metadata.name.as_deref().unwrap_or_default())
            else {
                continue;
            };
            if (start..start + replicas).contains(&ordinal) {
                slots.insert(ordinal, pod);
            } else {
                condemned.push((ordinal, pod));
            }
        }
        condemned.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
        self.keep_claims(&set, &slots, &condemned).await?;
        let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
        let rolling = spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.type_.as_deref())
            .unwrap_or("RollingUpdate")
            == "RollingUpdate";
        let partition = spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0);
        // The template a new pod gets: the current revision's below the partition.
        let current_template = if current_revision != update_revision && partition > 0 {
            crate::revisions::template_of(&self.ctx.client, namespace, &current_revision).await?
        } else {
            None
        };
        let sync = async {
            // Failed pods go first; they come back on the next pass.
            for pod in slots
                .values()
                .filter(|p| failed(p) && p.metadata.deletion_timestamp.is_none())
            {
                self.delete(&set, pod).await?;
                if !parallel {
                    return anyhow::Ok(());
                }
            }
            for ordinal in start..start + replicas {
                match slots.get(&ordinal) {
                    None => {
                        let (revision, template) = match &current_template {
                            Some(t) if ordinal - start < partition => {
                                (current_revision.as_str(), t)
                            }
                            _ => (update_revision.as_str(), &spec.template),
                        };
                        self.create(&set, ordinal, revision, template).await?;
                        if !parallel {
                            return Ok(());
                        }
                    }
                    Some(pod)
                        if !parallel
                            && (!running_and_ready(pod)
                                || pod.metadata.deletion_timestamp.is_some()) =>
                    {
                        // OrderedReady: the next one waits for this one.
                        return Ok(());
                    }
                    Some(_) => {}
                }
            }
            let all_ready = slots
                .values()
                .all(|p| running_and_ready(p) && p.metadata.deletion_timestamp.is_none());
            for (_, pod) in &condemned {
                if pod.metadata.deletion_timestamp.is_some() {
                    if !parallel {
                        return Ok(());
                    }
                    continue;
                }
                if !parallel && !all_ready {
                    return Ok(());
                }
                self.delete(&set, pod).await?;
                if !parallel {
                    return Ok(());
                }
            }
            if rolling && all_ready && condemned.is_empty() {
                // Highest ordinal first, down to the partition, one at a time.
                for (ordinal, pod) in slots.iter().rev() {
                    if ordinal - start < partition {
                        break;
                    }
                    if identity::revision_of(pod) != Some(update_revision.as_str()) {
                        self.delete(&set, pod).await?;
                        return Ok(());
                    }
                }
            }
            Ok(())
        };
        let result = sync.await;
        // Status, from the cache.
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let now = k8s_openapi::jiff::Timestamp::now();
        let live: Vec<&Arc<Pod>> = slots
            .values()
            .chain(condemned.iter().map(|(_, p)| p))
            .collect();
        let count = |f: &dyn Fn(&Pod) -> bool| -> usize { live.iter().filter(|p| f(p)).count() };
        let ready = count(&|p| pods::is_ready(p));
        let available = count(&|p| pods::is_available(p, min_ready, now));
        let current = count(&|p| identity::revision_of(p) == Some(current_revision.as_str()));
        let updated = count(&|p| identity::revision_of(p) == Some(update_revision.as_str()));
        let replicas_usize = usize::try_from(replicas).unwrap_or(0);
        // The rollout is done when every pod runs the update revision and is ready.
        let done =
            updated == replicas_usize && live.len() == replicas_usize && ready == replicas_usize;
        let new_current = if done {
            update_revision.clone()
        } else {
            current_revision.clone()
        };
        let optional = |n: usize| if n > 0 { json!(n) } else { Value::Null };
        let new_status = json!({
            "replicas": live.len(),
            "readyReplicas": optional(ready),
            "availableReplicas": available,
            "currentReplicas": optional(if done { updated } else { current }),
            "updatedReplicas": optional(updated),
            "currentRevision": new_current,
            "updateRevision": update_revision,
            "observedGeneration": set.metadata.generation,
            "collisionCount": status.collision_count.unwrap_or(0),
        });
        let before = serde_json::to_value(&status)?;
        let changed = new_status.as_object().into_iter().flatten().any(|(k, v)| {
            let old = before.get(k).unwrap_or(&Value::Null);
            if v.is_null() {
                !old.is_null() && old != 0
            } else {
                old != v
            }
        });
        if changed {
            let api: Api<StatefulSet> = Api::namespaced(self.ctx.client.clone(), namespace);
            match api
                .patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"status": new_status})),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if crate::is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        result?;
        Ok((min_ready > 0 && ready != available)
            .then(|| Duration::from_secs(u64::try_from(min_ready).unwrap_or(0))))
    }
}
