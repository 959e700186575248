//! The protection controllers (upstream's `pvc-protection` and `pv-protection`): a claim
//! being deleted keeps its `kubernetes.io/pvc-protection` finalizer while a pod that has not
//! finished mounts it, and a volume being deleted keeps `kubernetes.io/pv-protection` while it
//! is bound; then the finalizer goes and the deletion completes.

use crate::Context;
use crate::informer::key_of;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::storage::{CLAIM_PROTECTION, VOLUME_PROTECTION};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::time::Duration;

/// The controller.
#[derive(Debug)]
pub struct ProtectionController {
    ctx: Context,
    queue: Arc<WorkQueue>,
}

fn has_finalizer(meta: &kube::api::ObjectMeta, finalizer: &str) -> bool {
    meta.finalizers.iter().flatten().any(|f| f == finalizer)
}

/// Whether `pod` (not finished) mounts the claim `name`.
fn uses_claim(pod: &Pod, name: &str) -> bool {
    let finished = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed");
    !finished
        && pod
            .spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .any(|c| c.claim_name == name)
}

/// Writes `object` back without `finalizer` (a conflict retries the key with fresh data).
async fn drop_finalizer<K>(api: &Api<K>, object: &K, finalizer: &str) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut updated = object.clone();
    updated.meta_mut().finalizers = Some(
        object
            .meta()
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != finalizer)
            .cloned()
            .collect(),
    );
    let name = object.meta().name.as_deref().unwrap_or_default();
    api.replace(name, &PostParams::default(), &updated).await?;
    Ok(())
}

impl ProtectionController {
    /// The controller, with handlers on claims, volumes and pods.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.claims.on(move |_, new| {
                if let Some(claim) = new.filter(|c| c.metadata.deletion_timestamp.is_some()) {
                    queue.add(format!("claim/{}", key_of(claim)));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            ctx.volumes.on(move |_, new| {
                if let Some(volume) = new.filter(|v| v.metadata.deletion_timestamp.is_some()) {
                    queue.add(format!("volume/{}", key_of(volume)));
                }
            });
        }
        {
            // A pod that finishes or goes may free the claims it mounted.
            let queue = Arc::clone(&queue);
            ctx.pods.on(move |old, new| {
                let Some(pod) = old.or(new) else { return };
                let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
                for claim in pod
                    .spec
                    .iter()
                    .flat_map(|s| s.volumes.iter().flatten())
                    .filter_map(|v| v.persistent_volume_claim.as_ref())
                {
                    queue.add(format!("claim/{namespace}/{}", claim.claim_name));
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            queue,
        })
    }

    async fn sync_claim(&self, claim: &PersistentVolumeClaim) -> anyhow::Result<()> {
        if claim.metadata.deletion_timestamp.is_none()
            || !has_finalizer(&claim.metadata, CLAIM_PROTECTION)
        {
            return Ok(());
        }
        let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        if self
            .ctx
            .pods
            .list_namespace(namespace)
            .iter()
            .any(|p| uses_claim(p, name))
        {
            return Ok(());
        }
        let api = Api::<PersistentVolumeClaim>::namespaced(self.ctx.client.clone(), namespace);
        drop_finalizer(&api, claim, CLAIM_PROTECTION).await?;
        Ok(())
    }

    async fn sync_volume(&self, volume: &PersistentVolume) -> anyhow::Result<()> {
        let bound = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        if volume.metadata.deletion_timestamp.is_none()
            || !has_finalizer(&volume.metadata, VOLUME_PROTECTION)
            || bound
        {
            return Ok(());
        }
        let api = Api::<PersistentVolume>::all(self.ctx.client.clone());
        drop_finalizer(&api, volume, VOLUME_PROTECTION).await?;
        Ok(())
    }
}

impl Reconcile for ProtectionController {
    fn name(&self) -> &'static str {
        "pvc-protection"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        if let Some(claim_key) = key.strip_prefix("claim/") {
            if let Some(claim) = self.ctx.claims.get(claim_key) {
                self.sync_claim(&claim).await?;
            }
        } else if let Some(name) = key.strip_prefix("volume/")
            && let Some(volume) = self.ctx.volumes.get(name)
        {
            self.sync_volume(&volume).await?;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_unfinished_pods_mounting_the_claim_hold_it() {
        let pod = |phase: &str, claim: &str| -> Pod {
            serde_json::from_value(json!({"metadata": {"name": "p"},
                "spec": {"containers": [], "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]},
                "status": {"phase": phase}}))
            .unwrap()
        };
        assert!(uses_claim(&pod("Running", "data"), "data"));
        assert!(uses_claim(&pod("Pending", "data"), "data"));
        assert!(!uses_claim(&pod("Succeeded", "data"), "data"));
        assert!(!uses_claim(&pod("Running", "other"), "data"));
    }
}
