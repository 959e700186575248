//! The PersistentVolume controller (upstream's `persistentvolume-binder`): binds claims to
//! volumes — a volume named by the claim, one pre-bound to it, or the best free one
//! (`matching`) — and, when none fits, has the claim's class provision one (the built-in
//! `local-path` provisioner, or an external one the claim is annotated for). Claims of a
//! `WaitForFirstConsumer` class wait until the scheduler names their pod's node
//! (`volume.kubernetes.io/selected-node`). A volume whose claim is gone is `Released` and then
//! reclaimed by its policy: `Retain` keeps it, `Delete` has a local-path volume's node remove
//! its data and the object.
//!
//! Both objects record the binding as upstream does: the volume's `claimRef`, the claim's
//! `volumeName`, the `pv.kubernetes.io/bind-completed` / `bound-by-controller` annotations and
//! both phases (`Available`/`Bound`/`Released`/`Failed`, `Pending`/`Bound`/`Lost`).

pub mod local_path;
pub mod matching;
pub mod protection;

use crate::Context;
use crate::informer::key_of;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_client::events::Recorder;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams, PostParams};
use local_path::LocalPath;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Set by the scheduler on a delayed claim: the node its first pod goes to.
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The claim's provisioner, for external provisioners to pick up (new and legacy key).
const STORAGE_PROVISIONER: [&str; 2] = [
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
];

/// The controller.
#[derive(Debug)]
pub struct VolumeController {
    ctx: Context,
    queue: Arc<WorkQueue>,
    events: Recorder,
    local_path: LocalPath,
}

fn annotation<'a>(meta: &'a kube::api::ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

fn volume_name(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .filter(|v| !v.is_empty())
}

fn phase_of_claim(claim: &PersistentVolumeClaim) -> &str {
    claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn phase_of_volume(volume: &PersistentVolume) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

impl VolumeController {
    /// The controller, with its handlers on the claim and volume informers; local-path
    /// volumes go under `local_path_dir` on the nodes.
    pub fn new(ctx: &Context, local_path_dir: &std::path::Path) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.claims.on(move |old, new| {
                if let Some(claim) = new.or(old) {
                    queue.add(format!("claim/{}", key_of(claim)));
                    // A claim that goes releases its volume.
                    if let (None, Some(volume)) = (new, volume_name(claim)) {
                        queue.add(format!("volume/{volume}"));
                    }
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            ctx.volumes.on(move |old, new| {
                let Some(volume) = new.or(old) else { return };
                queue.add(format!("volume/{}", key_of(volume)));
                if let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
                    let (ns, name) = (r.namespace.as_deref(), r.name.as_deref());
                    queue.add(format!(
                        "claim/{}/{}",
                        ns.unwrap_or_default(),
                        name.unwrap_or_default()
                    ));
                }
            });
        }
        {
            // A class appearing (the default one, say) may settle pending claims.
            let queue = Arc::clone(&queue);
            let claims = Arc::clone(&ctx.claims);
            ctx.storage_classes.on(move |_, _| {
                for claim in claims.list() {
                    if volume_name(&claim).is_none() {
                        queue.add(format!("claim/{}", key_of(&*claim)));
                    }
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            queue,
            events: ctx.recorder("persistentvolume-controller"),
            local_path: LocalPath::new(local_path_dir),
        })
    }

    /// The built-in provisioner (its class is created at start).
    pub fn local_path(&self) -> &LocalPath {
        &self.local_path
    }

    fn claims_api(&self, namespace: &str) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.ctx.client.clone(), namespace)
    }

    fn volumes_api(&self) -> Api<PersistentVolume> {
        Api::all(self.ctx.client.clone())
    }

    fn default_class(&self) -> Option<Arc<StorageClass>> {
        self.ctx
            .storage_classes
            .list()
            .into_iter()
            .filter(|c| gantry_api::storage::is_default_class(|key| annotation(&c.metadata, key)))
            .max_by(|a, b| {
                a.metadata
                    .creation_timestamp
                    .cmp(&b.metadata.creation_timestamp)
            })
    }

    async fn set_claim_phase(
        &self,
        claim: &PersistentVolumeClaim,
        status: Value,
    ) -> anyhow::Result<()> {
        let current = serde_json::to_value(&claim.status)?;
        let differs = status
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| current.get(k) != Some(v));
        if differs {
            let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
            let name = claim.metadata.name.as_deref().unwrap_or_default();
            self.claims_api(namespace)
                .patch_status(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": status})),
                )
                .await?;
        }
        Ok(())
    }

    async fn set_volume_phase(
        &self,
        volume: &PersistentVolume,
        phase: &str,
        message: Option<&str>,
    ) -> anyhow::Result<()> {
        if phase_of_volume(volume) == phase {
            return Ok(());
        }
        let name = volume.metadata.name.as_deref().unwrap_or_default();
        self.volumes_api()
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": phase, "message": message,
                    "lastPhaseTransitionTime": gantry_api::time::now_rfc3339()}})),
            )
            .await?;
        Ok(())
    }

    /// Binds `volume` and `claim` to each other: the volume first (its `claimRef` and phase),
    /// then the claim (its `volumeName`, annotations and status), so that a crash in between
    /// leaves a pre-bound volume the next sync completes.
    async fn bind(
        &self,
        volume: &PersistentVolume,
        claim: &PersistentVolumeClaim,
    ) -> anyhow::Result<()> {
        let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        let volume_name = volume.metadata.name.as_deref().unwrap_or_default();
        let reference = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
        if reference.and_then(|r| r.uid.as_deref()) != claim.metadata.uid.as_deref() {
            let mut patch = json!({"spec": {"claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace,
                "name": name, "uid": claim.metadata.uid,
                "resourceVersion": claim.metadata.resource_version}}});
            if reference.is_none() {
                patch["metadata"] = json!({"annotations": {BOUND_BY_CONTROLLER: "yes"}});
            }
            self.volumes_api()
                .patch(volume_name, &PatchParams::default(), &Patch::Merge(patch))
                .await?;
        }
        self.set_volume_phase(volume, "Bound", None).await?;
        if crate::volumes::volume_name(claim) != Some(volume_name)
            || annotation(&claim.metadata, BIND_COMPLETED).is_none()
        {
            let mut annotations = json!({BIND_COMPLETED: "yes"});
            if crate::volumes::volume_name(claim).is_none() {
                annotations[BOUND_BY_CONTROLLER] = json!("yes");
            }
            self.claims_api(namespace)
                .patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"annotations": annotations},
                        "spec": {"volumeName": volume_name}})),
                )
                .await?;
        }
        let vspec = volume.spec.clone().unwrap_or_default();
        self.set_claim_phase(
            claim,
            json!({"phase": "Bound", "accessModes": vspec.access_modes, "capacity": vspec.capacity}),
        )
        .await
    }

    async fn sync_claim(&self, claim: &PersistentVolumeClaim) -> anyhow::Result<Option<Duration>> {
        if claim.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        if let Some(wanted) = volume_name(claim) {
            return self.sync_named_claim(claim, wanted).await;
        }
        // A claim without a class gets the default one when a default appears (upstream's
        // retroactive assignment); an empty class means "no class" and stays.
        let no_class = claim
            .spec
            .as_ref()
            .is_none_or(|s| s.storage_class_name.is_none());
        if no_class && let Some(class) = self.default_class() {
            self.claims_api(namespace)
                .patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"storageClassName": class.metadata.name}})),
                )
                .await?;
            return Ok(None);
        }
        let class_name = matching::claim_class(claim);
        let class = (!class_name.is_empty())
            .then(|| self.ctx.storage_classes.get(class_name))
            .flatten();
        let delayed = class
            .as_ref()
            .is_some_and(|c| c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"));
        let selected = annotation(&claim.metadata, SELECTED_NODE).map(str::to_owned);
        let volumes = self.ctx.volumes.list();
        if delayed && selected.is_none() {
            // A volume pre-bound to the claim binds at once, as upstream.
            if let Some(volume) = volumes.iter().find(|v| matching::refers_to(v, claim)) {
                self.bind(volume, claim).await?;
                return Ok(None);
            }
            self.set_claim_phase(claim, json!({"phase": "Pending"}))
                .await?;
            self.events.normal(
                claim,
                None,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding".into(),
            );
            return Ok(None);
        }
        let node = selected.as_deref().map(|n| {
            (
                n,
                self.ctx
                    .nodes
                    .get(n)
                    .and_then(|node| node.metadata.labels.clone())
                    .unwrap_or_default(),
            )
        });
        let chosen = matching::best(claim, &volumes, node.as_ref().map(|(n, l)| (*n, l)));
        if let Some(volume) = chosen {
            self.bind(volume, claim).await?;
            return Ok(None);
        }
        self.set_claim_phase(claim, json!({"phase": "Pending"}))
            .await?;
        let Some(class) = class else {
            let message = if class_name.is_empty() {
                "no persistent volumes available for this claim and no storage class is set"
                    .to_owned()
            } else {
                format!("storageclass.storage.k8s.io \"{class_name}\" not found")
            };
            let reason = if class_name.is_empty() {
                "FailedBinding"
            } else {
                "ProvisioningFailed"
            };
            self.events.warning(claim, None, reason, message);
            // Volumes come and go without the claim changing: look again later.
            return Ok(Some(Duration::from_secs(15)));
        };
        self.provision(claim, &class, selected.as_deref()).await
    }

    /// A claim that names its volume: bind it when the volume is free or pre-bound to it.
    async fn sync_named_claim(
        &self,
        claim: &PersistentVolumeClaim,
        wanted: &str,
    ) -> anyhow::Result<Option<Duration>> {
        let Some(volume) = self.ctx.volumes.get(wanted) else {
            if phase_of_claim(claim) == "Bound" {
                self.set_claim_phase(claim, json!({"phase": "Lost"}))
                    .await?;
                self.events.warning(
                    claim,
                    None,
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!".into(),
                );
            } else {
                self.set_claim_phase(claim, json!({"phase": "Pending"}))
                    .await?;
            }
            return Ok(None);
        };
        let reference = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
        if reference.is_none() || matching::refers_to(&volume, claim) {
            self.bind(&volume, claim).await?;
        } else {
            self.set_claim_phase(claim, json!({"phase": "Pending"}))
                .await?;
            self.events.warning(
                claim,
                None,
                "FailedBinding",
                format!("volume \"{wanted}\" already bound to a different claim."),
            );
        }
        Ok(None)
    }

    /// Has the claim's class make a volume: the built-in provisioner does it here; for any
    /// other, the claim is annotated for its external provisioner.
    async fn provision(
        &self,
        claim: &PersistentVolumeClaim,
        class: &StorageClass,
        node: Option<&str>,
    ) -> anyhow::Result<Option<Duration>> {
        let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        if STORAGE_PROVISIONER
            .iter()
            .any(|k| annotation(&claim.metadata, k) != Some(class.provisioner.as_str()))
        {
            let annotations: serde_json::Map<String, Value> = STORAGE_PROVISIONER
                .iter()
                .map(|k| ((*k).to_owned(), json!(class.provisioner)))
                .collect();
            self.claims_api(namespace)
                .patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
                )
                .await?;
            return Ok(None);
        }
        if class.provisioner != local_path::PROVISIONER {
            self.events.normal(claim, None, "ExternalProvisioning", format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                class.provisioner
            ));
            return Ok(None);
        }
        let recorder = self.ctx.recorder(local_path::PROVISIONER);
        let Some(node) = node else {
            recorder.warning(claim, None, "ProvisioningFailed", "failed to provision volume with StorageClass \"local-path\": configuration error, no node was specified".into());
            return Ok(None);
        };
        recorder.normal(
            claim,
            None,
            "Provisioning",
            format!("External provisioner is provisioning volume for claim \"{namespace}/{name}\""),
        );
        let volume = self.local_path.volume_for(claim, class, node);
        let volume = match volume {
            Ok(v) => v,
            Err(why) => {
                recorder.warning(
                    claim,
                    None,
                    "ProvisioningFailed",
                    format!(
                        "failed to provision volume with StorageClass \"{}\": {why}",
                        local_path::CLASS
                    ),
                );
                return Ok(None);
            }
        };
        let volume_name = volume.metadata.name.clone().unwrap_or_default();
        match self
            .volumes_api()
            .create(&PostParams::default(), &volume)
            .await
        {
            Ok(_) => {}
            // Made by an earlier sync whose claim update was lost: bind what is there.
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
        recorder.normal(
            claim,
            None,
            "ProvisioningSucceeded",
            format!("Successfully provisioned volume {volume_name}"),
        );
        Ok(None)
    }

    async fn sync_volume(&self, volume: &PersistentVolume) -> anyhow::Result<Option<Duration>> {
        if volume.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let Some(reference) = volume.spec.as_ref().and_then(|s| s.claim_ref.clone()) else {
            self.set_volume_phase(volume, "Available", None).await?;
            return Ok(None);
        };
        let claim_key = format!(
            "{}/{}",
            reference.namespace.as_deref().unwrap_or_default(),
            reference.name.as_deref().unwrap_or_default()
        );
        let uid = reference.uid.as_deref().filter(|u| !u.is_empty());
        let claim = self
            .ctx
            .claims
            .get(&claim_key)
            .filter(|c| uid.is_none_or(|u| c.metadata.uid.as_deref() == Some(u)));
        let name = volume.metadata.name.as_deref().unwrap_or_default();
        match claim {
            Some(claim) if volume_name(&claim) == Some(name) => {
                self.set_volume_phase(volume, "Bound", None).await?;
            }
            // Pre-bound, or bound by a claim sync in progress: the claim's sync finishes it.
            Some(_) => self.queue.add(format!("claim/{claim_key}")),
            // Reserved for a claim by name that does not exist yet.
            None if uid.is_none() => self.set_volume_phase(volume, "Available", None).await?,
            None => self.reclaim(volume).await?,
        }
        Ok(None)
    }

    /// A volume whose claim is gone: `Released`, then its reclaim policy.
    async fn reclaim(&self, volume: &PersistentVolume) -> anyhow::Result<()> {
        let name = volume.metadata.name.as_deref().unwrap_or_default();
        let policy = volume
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
            .unwrap_or("Retain");
        match policy {
            "Delete"
                if annotation(&volume.metadata, PROVISIONED_BY)
                    == Some(local_path::PROVISIONER) =>
            {
                // The volume's node removes its data and then the object (`gantry-kubelet`'s
                // `local_volumes`); with the node gone there is nothing left to remove.
                self.set_volume_phase(volume, "Released", None).await?;
                let node = annotation(&volume.metadata, local_path::SELECTED_NODE);
                if node.is_none_or(|n| self.ctx.nodes.get(n).is_none()) {
                    match self.volumes_api().delete(name, &Default::default()).await {
                        Ok(_) => {}
                        Err(e) if crate::is_not_found(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            "Delete" => {
                // Another provisioner's volume: that provisioner deletes it.
                self.set_volume_phase(volume, "Released", None).await?;
            }
            "Recycle" => {
                let message = "Recycle is not supported: delete and re-create the volume";
                self.events
                    .warning(volume, None, "VolumeFailedRecycle", message.into());
                self.set_volume_phase(volume, "Failed", Some(message))
                    .await?;
            }
            _ => self.set_volume_phase(volume, "Released", None).await?,
        }
        Ok(())
    }
}

impl Reconcile for VolumeController {
    fn name(&self) -> &'static str {
        "persistentvolume-binder"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        if let Some(claim_key) = key.strip_prefix("claim/") {
            let Some(claim) = self.ctx.claims.get(claim_key) else {
                return Ok(None);
            };
            return self.sync_claim(&claim).await;
        }
        if let Some(name) = key.strip_prefix("volume/") {
            let Some(volume) = self.ctx.volumes.get(name) else {
                return Ok(None);
            };
            return self.sync_volume(&volume).await;
        }
        Ok(None)
    }
}
