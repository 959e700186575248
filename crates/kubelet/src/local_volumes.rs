//! The node's part of the built-in local-path provisioner: a volume it provisioned on this node
//! (annotation `local.path.provisioner/selected-node`), released by its claim with reclaim
//! policy `Delete`, has its directory removed here — the data is on this node's disk, which
//! the controller manager may not share — and then its PersistentVolume object deleted. k3s
//! runs a helper pod on the node for the same job.

use futures::StreamExt;
use k8s_openapi::api::core::v1::PersistentVolume;
use kube::api::{Api, DeleteParams};
use kube::runtime::{WatchStreamExt, watcher};
use std::path::PathBuf;
use tokio::sync::watch;

const PROVISIONER: &str = "rancher.io/local-path";
const SELECTED_NODE: &str = "local.path.provisioner/selected-node";

/// The directory to remove, if `volume` is one of this node's released local-path volumes to
/// delete. Only a directory named after the volume (`pvc-<uid>_<namespace>_<claim>`, as the
/// provisioner makes it) qualifies, so nothing else on the node is ever removed.
pub fn reclaimable(volume: &PersistentVolume, node: &str) -> Option<PathBuf> {
    let annotations = volume.metadata.annotations.as_ref()?;
    let name = volume.metadata.name.as_deref()?;
    let spec = volume.spec.as_ref()?;
    let released = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let ours = annotations
        .get("pv.kubernetes.io/provisioned-by")
        .map(String::as_str)
        == Some(PROVISIONER)
        && annotations.get(SELECTED_NODE).map(String::as_str) == Some(node);
    let delete = spec.persistent_volume_reclaim_policy.as_deref() == Some("Delete");
    if !(released && ours && delete) {
        return None;
    }
    let path = PathBuf::from(&spec.host_path.as_ref()?.path);
    let file = path.file_name()?.to_str()?;
    file.starts_with(&format!("{name}_")).then_some(path)
}

async fn reclaim(api: &Api<PersistentVolume>, volume: &PersistentVolume, path: PathBuf) {
    let name = volume.metadata.name.clone().unwrap_or_default();
    match tokio::fs::remove_dir_all(&path).await {
        Ok(()) => {
            tracing::info!(volume = %name, path = %path.display(), "removed a released local volume")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(volume = %name, error = %e, "could not remove a released local volume");
            return;
        }
    }
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => {
            tracing::warn!(volume = %name, error = %e, "could not delete a released local volume")
        }
    }
}

/// Runs until `stop` fires.
pub async fn run(client: kube::Client, node: String, mut stop: watch::Receiver<bool>) {
    let api: Api<PersistentVolume> = Api::all(client);
    let stream = watcher(api.clone(), watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = stop.changed() => return,
        };
        match event {
            None => return,
            Some(Ok(watcher::Event::Apply(volume) | watcher::Event::InitApply(volume))) => {
                if let Some(path) = reclaimable(&volume, &node) {
                    reclaim(&api, &volume, path).await;
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => tracing::warn!(error = %e, "watching volumes failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(node: &str, phase: &str, path: &str) -> PersistentVolume {
        serde_json::from_value(json!({
            "metadata": {"name": "pvc-1", "annotations": {
                "pv.kubernetes.io/provisioned-by": PROVISIONER, SELECTED_NODE: node}},
            "spec": {"persistentVolumeReclaimPolicy": "Delete", "hostPath": {"path": path}},
            "status": {"phase": phase}}))
        .unwrap()
    }

    #[test]
    fn only_this_nodes_released_local_volumes_are_reclaimed() {
        let dir = "/var/lib/gantry/storage/pvc-1_default_data";
        assert_eq!(
            reclaimable(&volume("n1", "Released", dir), "n1"),
            Some(PathBuf::from(dir))
        );
        assert_eq!(reclaimable(&volume("n2", "Released", dir), "n1"), None);
        assert_eq!(reclaimable(&volume("n1", "Bound", dir), "n1"), None);
        assert_eq!(reclaimable(&volume("n1", "Released", "/etc"), "n1"), None);
        let mut retained = volume("n1", "Released", dir);
        retained
            .spec
            .as_mut()
            .unwrap()
            .persistent_volume_reclaim_policy = Some("Retain".into());
        assert_eq!(reclaimable(&retained, "n1"), None);
    }
}
