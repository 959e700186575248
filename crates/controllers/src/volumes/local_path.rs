//! The built-in dynamic provisioner, as k3s ships Rancher's local-path provisioner: the
//! default StorageClass `local-path` (`WaitForFirstConsumer`, reclaim `Delete`), and for each
//! claim of it a hostPath volume `<dir>/pvc-<uid>_<namespace>_<name>` on the node the claim's
//! first pod was scheduled to, pinned there by node affinity. The node agent creates the
//! directory when it mounts the volume (`DirectoryOrCreate`) and removes it once the volume is
//! released for deletion.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::path::PathBuf;

/// The provisioner's name, as k3s' (so manifests written for k3s work unchanged).
pub const PROVISIONER: &str = "rancher.io/local-path";
/// The class it serves.
pub const CLASS: &str = "local-path";
/// The node a volume was made on (the node agent there reclaims it).
pub const SELECTED_NODE: &str = "local.path.provisioner/selected-node";

/// Where the volumes live on the nodes.
#[derive(Debug, Clone)]
pub struct LocalPath {
    dir: PathBuf,
}

impl LocalPath {
    /// Volumes under `dir` on every node.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Creates the `local-path` class, the cluster's default, if it is missing.
    pub async fn ensure_class(&self, client: kube::Client) -> Result<(), kube::Error> {
        let class: StorageClass = serde_json::from_value(json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": CLASS, "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        }))
        .map_err(kube::Error::SerdeError)?;
        match Api::<StorageClass>::all(client)
            .create(&PostParams::default(), &class)
            .await
        {
            Ok(_) => {
                tracing::info!(class = CLASS, "created the default storage class");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The volume for `claim` on `node`, bound to the claim in advance (as external
    /// provisioners do), with the class's reclaim policy.
    pub fn volume_for(
        &self,
        claim: &PersistentVolumeClaim,
        class: &StorageClass,
        node: &str,
    ) -> Result<PersistentVolume, String> {
        let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        let uid = claim.metadata.uid.as_deref().unwrap_or_default();
        let spec = claim.spec.clone().unwrap_or_default();
        if spec.volume_mode.as_deref() == Some("Block") {
            return Err("local-path volumes are file systems; Block is not supported".into());
        }
        let storage = spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .cloned()
            .ok_or("the claim requests no storage")?;
        let volume_name = format!("pvc-{uid}");
        let path = self.dir.join(format!("{volume_name}_{namespace}_{name}"));
        serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume_name, "annotations": {
                "pv.kubernetes.io/provisioned-by": PROVISIONER,
                SELECTED_NODE: node,
            }},
            "spec": {
                "capacity": {"storage": storage},
                "accessModes": spec.access_modes.clone().unwrap_or_default(),
                "persistentVolumeReclaimPolicy": class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
                "storageClassName": class.metadata.name,
                "volumeMode": "Filesystem",
                "hostPath": {"path": path, "type": "DirectoryOrCreate"},
                "claimRef": {
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "namespace": namespace, "name": name, "uid": uid,
                    "resourceVersion": claim.metadata.resource_version,
                },
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
            },
        }))
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_is_pinned_to_the_node_and_prebound_to_its_claim() {
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data-web-0", "namespace": "default", "uid": "abc", "resourceVersion": "7"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))
        .unwrap();
        let class: StorageClass = serde_json::from_value(json!({"metadata": {"name": CLASS},
            "provisioner": PROVISIONER, "reclaimPolicy": "Retain"}))
        .unwrap();
        let volume = LocalPath::new("/var/lib/gantry/storage")
            .volume_for(&claim, &class, "node-1")
            .unwrap();
        let v = serde_json::to_value(&volume).unwrap();
        assert_eq!(v["metadata"]["name"], "pvc-abc");
        assert_eq!(
            v["spec"]["hostPath"]["path"],
            "/var/lib/gantry/storage/pvc-abc_default_data-web-0"
        );
        assert_eq!(v["spec"]["claimRef"]["uid"], "abc");
        assert_eq!(v["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(v["spec"]["capacity"]["storage"], "1Gi");
        assert_eq!(
            v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"],
            json!(["node-1"])
        );
    }
}
