//! One sync of a Deployment over its ReplicaSets: find or create the new set, scale sets
//! (recording `ScalingReplicaSet` events as upstream words them), run the strategy, clean up
//! old revisions, and write the status.

use super::revision::{self, DESIRED, HASH_LABEL, MAX, REVISION};
use super::{
    DeploymentController, available_replicas, replicas, rollout, spec_replicas,
    surge_and_unavailable,
};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

/// A Deployment and its sets (oldest first) during one sync.
pub(super) struct Sync<'a> {
    pub(super) controller: &'a DeploymentController,
    pub(super) deployment: Deployment,
    pub(super) sets: Vec<ReplicaSet>,
    /// The set running the current template, if there is one.
    pub(super) new: Option<usize>,
}

impl<'a> Sync<'a> {
    pub(super) fn new(
        controller: &'a DeploymentController,
        deployment: Deployment,
        sets: Vec<ReplicaSet>,
    ) -> Self {
        let template = deployment
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let new = sets.iter().position(|s| {
            s.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| revision::same_template(t, &template))
        });
        Self {
            controller,
            deployment,
            sets,
            new,
        }
    }

    fn old(&self) -> Vec<usize> {
        (0..self.sets.len())
            .filter(|i| Some(*i) != self.new)
            .collect()
    }

    fn api(&self) -> Api<ReplicaSet> {
        Api::namespaced(
            self.controller.ctx.client.clone(),
            self.deployment
                .metadata
                .namespace
                .as_deref()
                .unwrap_or_default(),
        )
    }

    fn name(&self) -> &str {
        self.deployment.metadata.name.as_deref().unwrap_or_default()
    }

    /// Whether some active set was last scaled for another replica count (upstream's
    /// `isScalingEvent`).
    pub(super) fn is_scaling_event(&self) -> bool {
        let wanted = replicas(&self.deployment).to_string();
        self.sets.iter().filter(|s| spec_replicas(s) > 0).any(|s| {
            s.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DESIRED))
                .is_some_and(|d| *d != wanted)
        })
    }

    /// Scales set `i` to `count` (and stamps the Deployment's size on it); whether it changed.
    async fn scale_set(&mut self, i: usize, count: i32) -> anyhow::Result<bool> {
        let (surge, _) = surge_and_unavailable(&self.deployment);
        let wanted = replicas(&self.deployment);
        let set = &self.sets[i];
        let before = spec_replicas(set);
        let annotations = set.metadata.annotations.clone().unwrap_or_default();
        let stamped = annotations.get(DESIRED) == Some(&wanted.to_string())
            && annotations.get(MAX) == Some(&(wanted + surge).to_string());
        if before == count && stamped {
            return Ok(false);
        }
        let patch = json!({
            "metadata": {"annotations": {DESIRED: wanted.to_string(), MAX: (wanted + surge).to_string()}},
            "spec": {"replicas": count},
        });
        let name = set.metadata.name.clone().unwrap_or_default();
        let updated = self
            .api()
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        if before != count {
            let direction = if count > before { "up" } else { "down" };
            self.controller.recorder.normal(
                &self.deployment,
                None,
                "ScalingReplicaSet",
                format!("Scaled {direction} replica set {name} from {before} to {count}"),
            );
        }
        self.sets[i] = updated;
        Ok(before != count)
    }

    /// Finds the new set (bringing its annotations up to date) or, with `create`, creates it.
    async fn ensure_new(&mut self, create: bool) -> anyhow::Result<()> {
        let next_revision = self
            .old()
            .iter()
            .map(|i| revision::revision_of(&self.sets[*i]))
            .max()
            .unwrap_or(0)
            + 1;
        let own = self
            .deployment
            .metadata
            .annotations
            .clone()
            .unwrap_or_default();
        if let Some(i) = self.new {
            let set = &self.sets[i];
            let existing = set.metadata.annotations.clone().unwrap_or_default();
            let annotations = revision::set_annotations(&own, &existing, next_revision);
            let min_ready = self
                .deployment
                .spec
                .as_ref()
                .and_then(|s| s.min_ready_seconds);
            let set_min_ready = set.spec.as_ref().and_then(|s| s.min_ready_seconds);
            if annotations != existing || min_ready.unwrap_or(0) != set_min_ready.unwrap_or(0) {
                let patch = json!({"metadata": {"annotations": annotations}, "spec": {"minReadySeconds": min_ready}});
                let name = set.metadata.name.clone().unwrap_or_default();
                self.sets[i] = self
                    .api()
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
            return self.stamp_revision().await;
        }
        if !create {
            return Ok(());
        }
        let spec = self.deployment.spec.clone().unwrap_or_default();
        let collisions = self
            .deployment
            .status
            .as_ref()
            .and_then(|s| s.collision_count);
        let hash = revision::template_hash(&spec.template, collisions);
        let mut template = spec.template.clone();
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.to_owned(), hash.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.to_owned(), hash.clone());
        let (surge, _) = surge_and_unavailable(&self.deployment);
        let wanted = replicas(&self.deployment);
        let count = if super::strategy(&self.deployment) == "Recreate" {
            wanted
        } else {
            let all: i32 = self.sets.iter().map(spec_replicas).sum();
            rollout::new_rs_replicas(wanted, surge, all, 0)
        };
        let mut annotations = revision::set_annotations(&own, &Default::default(), next_revision);
        annotations.insert(DESIRED.to_owned(), wanted.to_string());
        annotations.insert(MAX.to_owned(), (wanted + surge).to_string());
        let name = format!("{}-{hash}", self.name());
        let body: ReplicaSet = serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "namespace": self.deployment.metadata.namespace,
                "labels": template.metadata.as_ref().and_then(|m| m.labels.clone()),
                "annotations": annotations,
                "ownerReferences": [crate::pods::controller_ref(&self.deployment)],
            },
            "spec": {
                "replicas": count,
                "minReadySeconds": spec.min_ready_seconds,
                "selector": selector,
                "template": template,
            },
        }))?;
        let created = match self.api().create(&PostParams::default(), &body).await {
            Ok(created) => created,
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // A set of that name exists: ours with this template is fine; anything else is
                // a hash collision, and the next sync hashes with a higher count.
                let existing = self.api().get(&name).await?;
                let ours = crate::pods::controller_of(&existing.metadata)
                    .is_some_and(|o| Some(&o.uid) == self.deployment.metadata.uid.as_ref());
                let same = existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| revision::same_template(t, &spec.template));
                if ours && same {
                    existing
                } else {
                    let count = collisions.unwrap_or(0).saturating_add(1);
                    self.patch_status(json!({"collisionCount": count})).await?;
                    anyhow::bail!(
                        "hash collision for replica set {name}; retrying with collision count {count}"
                    );
                }
            }
            Err(e) => return Err(e.into()),
        };
        if count > 0 {
            self.controller.recorder.normal(
                &self.deployment,
                None,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {count}"),
            );
        }
        self.sets.push(created);
        self.new = Some(self.sets.len() - 1);
        let mut conditions = self
            .deployment
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        if self.deadline().is_some() {
            super::conditions::set(
                &mut conditions,
                super::conditions::condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    format!("Created new replica set \"{name}\""),
                ),
            );
            self.deployment
                .status
                .get_or_insert_with(Default::default)
                .conditions = Some(conditions);
        }
        self.stamp_revision().await
    }

    /// Gives the Deployment its new set's revision number.
    async fn stamp_revision(&mut self) -> anyhow::Result<()> {
        let Some(i) = self.new else { return Ok(()) };
        let set_revision = self.sets[i]
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .cloned();
        let own = self
            .deployment
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .cloned();
        let Some(revision) = set_revision.filter(|r| Some(r) != own.as_ref()) else {
            return Ok(());
        };
        let api: Api<Deployment> = Api::namespaced(
            self.controller.ctx.client.clone(),
            self.deployment
                .metadata
                .namespace
                .as_deref()
                .unwrap_or_default(),
        );
        let patch = json!({"metadata": {"annotations": {REVISION: revision}}});
        let updated = api
            .patch(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        // Keep the status being computed (the copy from the cache may lag behind it).
        let status = self.deployment.status.take();
        self.deployment = updated;
        self.deployment.status = status;
        Ok(())
    }

    /// `progressDeadlineSeconds` (600 by default; none when unset to the maximum).
    pub(super) fn deadline(&self) -> Option<i32> {
        let seconds = self
            .deployment
            .spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(600);
        (seconds != i32::MAX).then_some(seconds)
    }

    /// Scaling without a rollout (upstream's `scale`): one active set takes the new size; a
    /// saturated new set leaves old ones at zero; otherwise new replicas are shared out in
    /// proportion.
    pub(super) async fn scale(&mut self) -> anyhow::Result<()> {
        self.ensure_new(false).await?;
        let wanted = replicas(&self.deployment);
        let active: Vec<usize> = (0..self.sets.len())
            .filter(|i| spec_replicas(&self.sets[*i]) > 0)
            .collect();
        let single = match active.as_slice() {
            [] => self.new.or_else(|| self.sets.len().checked_sub(1)),
            [only] => Some(*only),
            _ => None,
        };
        if let Some(i) = single {
            self.scale_set(i, wanted).await?;
            return Ok(());
        }
        if let Some(i) = self.new {
            let set = &self.sets[i];
            let saturated = spec_replicas(set) == wanted && available_replicas(set) == wanted;
            if saturated {
                for old in self.old() {
                    self.scale_set(old, 0).await?;
                }
                return Ok(());
            }
        }
        if super::strategy(&self.deployment) != "RollingUpdate" {
            return Ok(());
        }
        let (surge, _) = surge_and_unavailable(&self.deployment);
        let allowed = if wanted > 0 { wanted + surge } else { 0 };
        let current: i32 = active.iter().map(|i| spec_replicas(&self.sets[*i])).sum();
        let to_add = allowed - current;
        // Newest first when growing (it takes the rounding), larger first either way.
        let mut order = active.clone();
        order.sort_by(|a, b| {
            let (x, y) = (spec_replicas(&self.sets[*a]), spec_replicas(&self.sets[*b]));
            y.cmp(&x)
                .then_with(|| if to_add > 0 { b.cmp(a) } else { a.cmp(b) })
        });
        let sizes: Vec<i32> = order
            .iter()
            .map(|i| spec_replicas(&self.sets[*i]))
            .collect();
        let targets = rollout::proportional(&sizes, to_add);
        for (i, target) in order.into_iter().zip(targets) {
            self.scale_set(i, target).await?;
        }
        Ok(())
    }

    /// Upstream's `rolloutRolling`.
    pub(super) async fn rolling(&mut self) -> anyhow::Result<Option<Duration>> {
        self.ensure_new(true).await?;
        let Some(new) = self.new else {
            return self.write_status(true).await;
        };
        let wanted = replicas(&self.deployment);
        let (surge, unavailable) = surge_and_unavailable(&self.deployment);
        let new_count = spec_replicas(&self.sets[new]);
        let all: i32 = self.sets.iter().map(spec_replicas).sum();
        let target = if new_count > wanted {
            wanted
        } else {
            rollout::new_rs_replicas(wanted, surge, all, new_count)
        };
        if target != new_count && self.scale_set(new, target).await? {
            return self.write_status(true).await;
        }
        let old = self.old();
        let old_count: i32 = old.iter().map(|i| spec_replicas(&self.sets[*i])).sum();
        if old_count > 0 {
            let all: i32 = self.sets.iter().map(spec_replicas).sum();
            let new_counts = rollout::Counts {
                replicas: spec_replicas(&self.sets[new]),
                available: available_replicas(&self.sets[new]),
            };
            let room = rollout::old_scale_down_room(wanted, unavailable, all, new_counts);
            if room > 0 {
                let counts: Vec<rollout::Counts> = old
                    .iter()
                    .map(|i| rollout::Counts {
                        replicas: spec_replicas(&self.sets[*i]),
                        available: available_replicas(&self.sets[*i]),
                    })
                    .collect();
                let targets = rollout::scale_down_old(
                    &counts,
                    room,
                    wanted - unavailable,
                    new_counts.available,
                );
                let mut scaled = false;
                for (i, target) in old.into_iter().zip(targets) {
                    scaled |= self.scale_set(i, target).await?;
                }
                if scaled {
                    return self.write_status(true).await;
                }
            }
        }
        if self.complete() {
            self.cleanup().await?;
        }
        self.write_status(true).await
    }

    /// Upstream's `rolloutRecreate`: old sets to zero, wait until their pods are gone, then
    /// the new set at full size.
    pub(super) async fn recreate(&mut self) -> anyhow::Result<Option<Duration>> {
        self.ensure_new(false).await?;
        let mut scaled = false;
        for i in self.old() {
            if spec_replicas(&self.sets[i]) > 0 {
                scaled |= self.scale_set(i, 0).await?;
            }
        }
        if scaled || self.old_pods_running() {
            return self.write_status(true).await;
        }
        if self.new.is_none() {
            self.ensure_new(true).await?;
        }
        if let Some(new) = self.new {
            self.scale_set(new, replicas(&self.deployment)).await?;
        }
        if self.complete() {
            self.cleanup().await?;
        }
        self.write_status(true).await
    }

    fn old_pods_running(&self) -> bool {
        let old: Vec<&str> = self
            .old()
            .iter()
            .filter_map(|i| self.sets[*i].metadata.uid.as_deref())
            .collect();
        let namespace = self
            .deployment
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default();
        self.controller
            .ctx
            .pods
            .list_namespace(namespace)
            .iter()
            .any(|pod| {
                let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
                !matches!(phase, Some("Succeeded" | "Failed"))
                    && crate::pods::controller_of(&pod.metadata)
                        .is_some_and(|o| old.contains(&o.uid.as_str()))
            })
    }

    /// Every replica updated and available, nothing old left (upstream's `DeploymentComplete`).
    pub(super) fn complete(&self) -> bool {
        let status = super::status::compute(self);
        let wanted = replicas(&self.deployment);
        status.updated_replicas == Some(wanted)
            && status.replicas == Some(wanted)
            && status.available_replicas == Some(wanted)
    }

    /// Deletes the oldest empty old sets beyond `revisionHistoryLimit` (10 by default).
    pub(super) async fn cleanup(&mut self) -> anyhow::Result<()> {
        let limit = self
            .deployment
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(10);
        let mut alive: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|i| self.sets[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let excess = alive
            .len()
            .saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
        alive.sort_by_key(|i| revision::revision_of(&self.sets[*i]));
        for i in alive.into_iter().take(excess) {
            let set = &self.sets[i];
            let observed = set
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            let busy = set.status.as_ref().is_some_and(|s| s.replicas != 0)
                || spec_replicas(set) != 0
                || set.metadata.generation.unwrap_or(0) > observed;
            if busy {
                continue;
            }
            let name = set.metadata.name.clone().unwrap_or_default();
            match self.api().delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if crate::is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn patch_status(&self, status: serde_json::Value) -> anyhow::Result<()> {
        let api: Api<Deployment> = Api::namespaced(
            self.controller.ctx.client.clone(),
            self.deployment
                .metadata
                .namespace
                .as_deref()
                .unwrap_or_default(),
        );
        match api
            .patch_status(
                self.name(),
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the status (with the rollout's `Progressing` condition when `rollout`), if it
    /// changed; asks to look again before the progress deadline.
    pub(super) async fn write_status(&mut self, rollout: bool) -> anyhow::Result<Option<Duration>> {
        let (status, again) = super::status::next(self, rollout);
        let patch = super::status::as_patch(&status);
        let cached = self
            .controller
            .ctx
            .deployments
            .get(&crate::informer::key_of(&self.deployment))
            .and_then(|d| d.status.clone())
            .unwrap_or_default();
        if patch != super::status::as_patch(&cached) {
            self.patch_status(patch).await?;
        }
        Ok(again)
    }
}
