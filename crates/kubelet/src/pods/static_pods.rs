//! Static pods (upstream's `staticPodPath`): every pod manifest in a directory runs on this
//! node whatever the API says, under the name `<name>-<node>`, and is mirrored to the API
//! server as a *mirror pod* that carries its status (annotated `kubernetes.io/config.mirror`,
//! owned by the Node). Deleting the mirror pod does not stop the pod — the node recreates the
//! mirror; removing or changing the file does.
//!
//! The directory is read every few seconds, as upstream's file source polls it.

use crate::pods::PodContext;
use crate::pods::teardown::remove_sandbox;
use crate::pods::worker::Worker;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The annotation marking a mirror pod, with the static pod's hash.
pub const MIRROR: &str = "kubernetes.io/config.mirror";
/// The annotation naming where a pod came from (`file` for static pods).
pub const SOURCE: &str = "kubernetes.io/config.source";
/// The annotation with the static pod's hash.
pub const HASH: &str = "kubernetes.io/config.hash";

/// How often the directory is read.
const CHECK: Duration = Duration::from_secs(5);

/// FNV-1a over 128 bits: a stable identity for a manifest's content on a node.
fn fnv128(parts: &[&[u8]]) -> u128 {
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    for part in parts {
        for byte in *part {
            hash ^= u128::from(*byte);
            hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
        }
        hash ^= 0xff;
    }
    hash
}

/// The static pod a manifest describes on `node`: renamed, bound, given a stable UID and the
/// source annotations.
pub fn static_pod(text: &str, node: &str, path: &Path) -> Result<Pod, String> {
    let mut value: serde_json::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    if value["kind"] != "Pod" {
        return Err(format!("{}: not a Pod manifest", path.display()));
    }
    let name = value["metadata"]["name"]
        .as_str()
        .ok_or_else(|| format!("{}: the pod has no name", path.display()))?
        .to_owned();
    let hash = fnv128(&[
        node.as_bytes(),
        path.to_string_lossy().as_bytes(),
        text.as_bytes(),
    ]);
    let hex = format!("{hash:032x}");
    let uid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    let metadata = &mut value["metadata"];
    metadata["name"] = json!(format!("{name}-{node}"));
    if metadata["namespace"].as_str().is_none_or(str::is_empty) {
        metadata["namespace"] = json!("default");
    }
    metadata["uid"] = json!(uid);
    metadata["annotations"][SOURCE] = json!("file");
    metadata["annotations"][HASH] = json!(hex);
    value["spec"]["nodeName"] = json!(node);
    for (field, default) in [("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst")] {
        if value["spec"][field].is_null() {
            value["spec"][field] = json!(default);
        }
    }
    serde_json::from_value(value).map_err(|e| format!("{}: {e}", path.display()))
}

fn manifests(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, String)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|text| (p, text)))
        .collect();
    found.sort();
    found
}

struct Running {
    pod: Arc<Pod>,
    updates: watch::Sender<Option<Arc<Pod>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Makes sure the API has the mirror of `pod`: created when missing, replaced when it mirrors
/// another version of the manifest.
async fn mirror(ctx: &PodContext, pod: &Pod, node_uid: Option<&str>) -> Result<(), kube::Error> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let hash = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HASH))
        .cloned()
        .unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    // Listed by node, not read by name: a node may read only pods bound to it, and a mirror
    // that does not exist yet is bound to nothing (the Node authorizer refuses, not 404s).
    let own = ListParams::default().fields(&format!(
        "metadata.name={name},spec.nodeName={}",
        ctx.node_name
    ));
    if let Some(existing) = api.list(&own).await?.items.into_iter().next() {
        let mirrored = existing
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(MIRROR))
            .is_some_and(|h| *h == hash);
        if mirrored && existing.metadata.deletion_timestamp.is_none() {
            return Ok(());
        }
        let _ = api
            .delete(
                &name,
                &DeleteParams {
                    grace_period_seconds: Some(0),
                    ..DeleteParams::default()
                },
            )
            .await;
    }
    let mut value = serde_json::to_value(pod).map_err(kube::Error::SerdeError)?;
    let metadata = &mut value["metadata"];
    if let Some(object) = metadata.as_object_mut() {
        object.remove("uid");
        object.remove("resourceVersion");
    }
    metadata["annotations"][MIRROR] = json!(hash);
    if let Some(uid) = node_uid {
        metadata["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "Node", "name": ctx.node_name, "uid": uid, "controller": true
        }]);
    }
    let mirror: Pod = serde_json::from_value(value).map_err(kube::Error::SerdeError)?;
    match api.create(&PostParams::default(), &mirror).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes the mirror of a static pod that is gone (unless it already mirrors a newer
/// version of the manifest, which the next round writes anyway).
async fn remove_mirror(ctx: &PodContext, pod: &Pod) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    if let Err(e) = api.delete(&name, &params).await {
        tracing::debug!(error = %e, "could not delete a mirror pod");
    }
}

/// Runs the static pods of `dir` until `shutdown` changes.
pub async fn run(ctx: Arc<PodContext>, dir: PathBuf, mut shutdown: watch::Receiver<bool>) {
    let mut running: HashMap<String, Running> = HashMap::new();
    // Workers tearing down a pod whose manifest went away; awaited before the node stops.
    let mut stopping: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut first = true;
    loop {
        let mut wanted = HashMap::new();
        for (path, text) in manifests(&dir) {
            match static_pod(&text, &ctx.node_name, &path) {
                Ok(pod) => {
                    wanted.insert(pod.metadata.uid.clone().unwrap_or_default(), Arc::new(pod));
                }
                Err(e) => tracing::warn!(error = %e, "skipping a static pod manifest"),
            }
        }
        // Gone or changed manifests: their pods stop (a changed one starts again under its
        // new UID below).
        stopping.retain(|task| !task.is_finished());
        let gone: Vec<String> = running
            .iter()
            .filter(|(uid, run)| !wanted.contains_key(*uid) || run.task.is_finished())
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in gone {
            if let Some(run) = running.remove(&uid) {
                let _ = run.updates.send(None);
                remove_mirror(&ctx, &run.pod).await;
                stopping.push(run.task);
            }
        }
        for (uid, pod) in &wanted {
            if !running.contains_key(uid) {
                let (updates, receiver) = watch::channel(Some(Arc::clone(pod)));
                let worker = Worker::new(Arc::clone(&ctx), Arc::clone(pod), receiver);
                let task = tokio::spawn(worker.run(shutdown.clone()));
                tracing::info!(pod = %pod.metadata.name.as_deref().unwrap_or_default(), "static pod started");
                running.insert(
                    uid.clone(),
                    Running {
                        pod: Arc::clone(pod),
                        updates,
                        task,
                    },
                );
            }
        }
        if first {
            first = false;
            remove_stale(&ctx, &wanted).await;
        }
        let node_uid = Api::<Node>::all(ctx.client.clone())
            .get_opt(&ctx.node_name)
            .await
            .ok()
            .flatten()
            .and_then(|n| n.metadata.uid);
        for run in running.values() {
            if let Err(e) = mirror(&ctx, &run.pod, node_uid.as_deref()).await {
                tracing::debug!(error = %e, "could not write a mirror pod yet");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(CHECK) => {}
            _ = shutdown.changed() => break,
        }
    }
    for task in running.into_values().map(|run| run.task).chain(stopping) {
        let _ = task.await;
    }
}

/// Removes sandboxes of static pods whose manifests went away while the node was down.
async fn remove_stale(ctx: &PodContext, wanted: &HashMap<String, Arc<Pod>>) {
    let Ok(reply) = ctx
        .cri
        .runtime
        .clone()
        .list_pod_sandbox(cri::ListPodSandboxRequest { filter: None })
        .await
    else {
        return;
    };
    for sandbox in reply.into_inner().items {
        let from_file = sandbox.annotations.get(SOURCE).is_some_and(|s| s == "file");
        let uid = sandbox
            .labels
            .get(crate::pods::runtime_state::POD_UID_LABEL);
        if from_file && uid.is_some_and(|uid| !wanted.contains_key(uid)) {
            remove_sandbox(ctx, &sandbox.id).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd}\nspec:\n  containers: [{name: c, image: busybox:1.36}]\n";

    #[test]
    fn a_manifest_becomes_a_pod_of_this_node() {
        let pod = static_pod(MANIFEST, "n1", Path::new("/m/etcd.yaml")).unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("etcd-n1"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(pod.spec.as_ref().unwrap().node_name.as_deref(), Some("n1"));
        assert_eq!(pod.metadata.annotations.as_ref().unwrap()[SOURCE], "file");
        let uid = pod.metadata.uid.clone().unwrap();
        assert_eq!(uid.len(), 36);
        // Stable for the same content; another for other content.
        let again = static_pod(MANIFEST, "n1", Path::new("/m/etcd.yaml")).unwrap();
        assert_eq!(again.metadata.uid, Some(uid.clone()));
        let changed = static_pod(
            &MANIFEST.replace("busybox:1.36", "busybox:1.37"),
            "n1",
            Path::new("/m/etcd.yaml"),
        )
        .unwrap();
        assert_ne!(changed.metadata.uid, Some(uid));
    }

    #[test]
    fn other_kinds_are_refused() {
        assert!(
            static_pod(
                "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
                "n1",
                Path::new("/m/s.yaml")
            )
            .is_err()
        );
        assert!(static_pod("{not yaml", "n1", Path::new("/m/x.yaml")).is_err());
    }
}
