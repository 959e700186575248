//! What the scheduler knows of storage: PersistentVolumeClaims, PersistentVolumes and
//! StorageClasses, fed by watches, so that a pod's claims are resolved when its turn comes —
//! missing, bound to a volume (whose node affinity then limits the nodes), or waiting for a
//! binding (at once, or for the pod's node with `WaitForFirstConsumer`).

use crate::Shared;
use crate::watch::{self, Seen, Watched};
use k8s_openapi::api::core::v1::{NodeSelector, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use std::collections::HashMap;
use std::sync::Arc;

/// The annotation naming the node a delayed claim's first pod goes to.
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

/// A pod's claim, as scheduling sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimState {
    /// No such claim.
    Missing(String),
    /// The claim is being deleted.
    Deleting(String),
    /// Not bound, and its class binds at once: the volume controller must bind it first.
    UnboundImmediate(String),
    /// Not bound; its class waits for the pod's node (the provisioner follows the decision).
    UnboundDelayed(String),
    /// Bound to a volume that only some nodes reach (`None`: any node).
    Bound(Option<NodeSelector>),
}

#[derive(Debug, Clone)]
struct Claim {
    deleting: bool,
    /// `ReadWriteOncePod`: one pod in the whole cluster at a time.
    one_pod: bool,
    volume: Option<String>,
    class: Option<String>,
}

/// Claims, volumes and classes.
#[derive(Debug, Default)]
pub struct Storage {
    claims: HashMap<String, Claim>,
    /// Volume name → its node affinity.
    volumes: HashMap<String, Option<NodeSelector>>,
    /// Class name → whether it waits for the first consumer.
    delayed: HashMap<String, bool>,
}

impl Storage {
    /// The claims (`namespace/name`) of `pod` that only one pod may use at a time.
    pub fn one_pod_claims(&self, pod: &Pod) -> Vec<String> {
        claim_keys(pod)
            .filter(|key| self.claims.get(key).is_some_and(|c| c.one_pod))
            .collect()
    }

    /// The states of the claims `pod` mounts (none when it mounts none).
    pub fn resolve(&self, pod: &Pod) -> Vec<ClaimState> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
        volumes
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|source| {
                let name = source.claim_name.clone();
                match self.claims.get(&format!("{namespace}/{name}")) {
                    None => ClaimState::Missing(name),
                    Some(claim) if claim.deleting => ClaimState::Deleting(name),
                    Some(Claim {
                        volume: Some(volume),
                        ..
                    }) => ClaimState::Bound(self.volumes.get(volume).cloned().flatten()),
                    Some(claim) => {
                        let delayed = claim
                            .class
                            .as_ref()
                            .and_then(|c| self.delayed.get(c))
                            .copied()
                            .unwrap_or(false);
                        if delayed {
                            ClaimState::UnboundDelayed(name)
                        } else {
                            ClaimState::UnboundImmediate(name)
                        }
                    }
                }
            })
            .collect()
    }
}

/// Upstream's VolumeBinding pre-bind for claims that waited for their pod's node: names the
/// node on each (`volume.kubernetes.io/selected-node`, which the provisioner follows) and
/// waits until every one is bound (up to upstream's 600 s bind timeout), so that the node
/// never starts a pod whose volume does not exist yet.
pub(crate) async fn bind_delayed_claims(
    shared: &Shared,
    pod: &crate::info::PodInfo,
    node: &str,
) -> Result<(), String> {
    let delayed: Vec<&str> = pod
        .claims
        .iter()
        .filter_map(|c| match c {
            ClaimState::UnboundDelayed(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    if delayed.is_empty() {
        return Ok(());
    }
    let namespace = pod.pod.metadata.namespace.as_deref().unwrap_or_default();
    let api: kube::Api<PersistentVolumeClaim> =
        kube::Api::namespaced(shared.client.clone(), namespace);
    let patch = serde_json::json!({"metadata": {"annotations": {SELECTED_NODE: node}}});
    for name in &delayed {
        api.patch(
            name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let waiting = shared
            .storage()
            .resolve(&pod.pod)
            .iter()
            .any(|c| matches!(c, ClaimState::UnboundDelayed(_) | ClaimState::Missing(_)));
        if !waiting {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "binding volumes: timed out waiting for the condition ({})",
                delayed.join(", ")
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The `namespace/name` of every claim `pod` mounts.
pub fn claim_keys(pod: &Pod) -> impl Iterator<Item = String> + '_ {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(move |c| format!("{namespace}/{}", c.claim_name))
}

fn key<K: kube::Resource>(object: &K) -> String {
    let meta = object.meta();
    match &meta.namespace {
        Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or_default()),
        None => meta.name.clone().unwrap_or_default(),
    }
}

/// Follows one kind into the storage view with `apply` / removal by key; a change may make
/// waiting pods schedulable.
async fn follow<K>(shared: Arc<Shared>, apply: fn(&mut Storage, &K), remove: fn(&mut Storage, &str))
where
    K: Watched,
{
    watch::each::<K>(shared.client.clone(), "storage", |seen| {
        match seen {
            Seen::Present(object) => apply(&mut shared.storage(), &object),
            Seen::Gone(object) => remove(&mut shared.storage(), &key(&object)),
        }
        shared.queue.move_all();
    })
    .await;
}

/// Watches claims, volumes and classes until aborted.
pub(crate) fn watch(shared: &Arc<Shared>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(follow::<PersistentVolumeClaim>(
            Arc::clone(shared),
            |s, c| {
                let spec = c.spec.as_ref();
                s.claims.insert(
                    key(c),
                    Claim {
                        deleting: c.metadata.deletion_timestamp.is_some(),
                        one_pod: spec
                            .and_then(|s| s.access_modes.as_ref())
                            .is_some_and(|m| m.iter().any(|m| m == "ReadWriteOncePod")),
                        volume: spec
                            .and_then(|s| s.volume_name.clone())
                            .filter(|v| !v.is_empty()),
                        class: spec.and_then(|s| s.storage_class_name.clone()),
                    },
                );
            },
            |s, k| {
                s.claims.remove(k);
            },
        )),
        tokio::spawn(follow::<PersistentVolume>(
            Arc::clone(shared),
            |s, v| {
                let affinity = v
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_affinity.as_ref())
                    .and_then(|a| a.required.clone());
                s.volumes.insert(key(v), affinity);
            },
            |s, k| {
                s.volumes.remove(k);
            },
        )),
        tokio::spawn(follow::<StorageClass>(
            Arc::clone(shared),
            |s, c| {
                let delayed = c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer");
                s.delayed.insert(key(c), delayed);
            },
            |s, k| {
                s.delayed.remove(k);
            },
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_resolve_to_what_scheduling_needs() {
        let mut storage = Storage::default();
        let claim = |volume: Option<&str>, class: Option<&str>| Claim {
            deleting: false,
            one_pod: class == Some("local"),
            volume: volume.map(str::to_owned),
            class: class.map(str::to_owned),
        };
        storage
            .claims
            .insert("d/bound".into(), claim(Some("pv1"), None));
        storage
            .claims
            .insert("d/now".into(), claim(None, Some("fast")));
        storage
            .claims
            .insert("d/later".into(), claim(None, Some("local")));
        storage.delayed.insert("fast".into(), false);
        storage.delayed.insert("local".into(), true);
        let selector: NodeSelector = serde_json::from_value(json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}))
        .unwrap();
        storage.volumes.insert("pv1".into(), Some(selector.clone()));
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [], "volumes": [
                {"name": "a", "persistentVolumeClaim": {"claimName": "bound"}},
                {"name": "b", "persistentVolumeClaim": {"claimName": "now"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "later"}},
                {"name": "d", "persistentVolumeClaim": {"claimName": "gone"}},
                {"name": "e", "emptyDir": {}}
            ]}
        }))
        .unwrap();
        assert_eq!(
            storage.resolve(&pod),
            [
                ClaimState::Bound(Some(selector)),
                ClaimState::UnboundImmediate("now".into()),
                ClaimState::UnboundDelayed("later".into()),
                ClaimState::Missing("gone".into()),
            ]
        );
        assert_eq!(storage.one_pod_claims(&pod), ["d/later"]);
    }
}
