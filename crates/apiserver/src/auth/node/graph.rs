//! What each node may reach, as upstream's node-authorizer graph knows it: the pods bound to a
//! node, and from each pod the Secrets, ConfigMaps, PersistentVolumeClaims and ServiceAccount it
//! uses; from a claim, its PersistentVolume. Kept in memory, followed from the store.

use crate::follow;
use gantry_store::KeyValue;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

const PODS: &str = "/registry/core/pods/";
const CLAIMS: &str = "/registry/core/persistentvolumeclaims/";

/// What one bound pod uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodUses {
    /// The node it is bound to.
    pub node: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Secret names.
    pub secrets: BTreeSet<String>,
    /// ConfigMap names.
    pub config_maps: BTreeSet<String>,
    /// PersistentVolumeClaim names.
    pub claims: BTreeSet<String>,
    /// The ServiceAccount.
    pub service_account: String,
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn items<'a>(value: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Where a volume names a Secret: its own source, the storage plugins' credentials, CSI's.
const VOLUME_SECRETS: &[&str] = &[
    "/secret/secretName",
    "/azureFile/secretName",
    "/cephfs/secretRef/name",
    "/cinder/secretRef/name",
    "/flexVolume/secretRef/name",
    "/iscsi/secretRef/name",
    "/rbd/secretRef/name",
    "/scaleIO/secretRef/name",
    "/storageos/secretRef/name",
    "/csi/nodePublishSecretRef/name",
];

impl PodUses {
    /// What `pod` uses, if it is bound to a node.
    pub fn of(pod: &Value) -> Option<Self> {
        let node = text(pod, "/spec/nodeName")?;
        // A mirror pod leads its node nowhere: the kubelet made it from a file.
        if pod
            .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
            .is_some()
        {
            return Some(Self {
                node: node.to_owned(),
                namespace: text(pod, "/metadata/namespace")
                    .unwrap_or("default")
                    .to_owned(),
                name: text(pod, "/metadata/name")?.to_owned(),
                ..Self::default()
            });
        }
        let mut uses = references(pod);
        uses.node = node.to_owned();
        Some(uses).filter(|uses| !uses.name.is_empty())
    }
}

/// What a pod references, wherever it is bound (`node` left empty): the Secrets and ConfigMaps
/// of its volumes, environment and image pulls, its claims and its ServiceAccount.
pub fn references(pod: &Value) -> PodUses {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let name = text(pod, "/metadata/name").unwrap_or("").to_owned();
    let mut uses = PodUses {
        namespace: text(pod, "/metadata/namespace")
            .unwrap_or("default")
            .to_owned(),
        service_account: text(spec, "/serviceAccountName")
            .unwrap_or("default")
            .to_owned(),
        ..PodUses::default()
    };
    for secret in items(spec, "/imagePullSecrets").filter_map(|s| text(s, "/name")) {
        uses.secrets.insert(secret.to_owned());
    }
    for volume in items(spec, "/volumes") {
        for pointer in VOLUME_SECRETS {
            if let Some(secret) = text(volume, pointer) {
                uses.secrets.insert(secret.to_owned());
            }
        }
        if let Some(map) = text(volume, "/configMap/name") {
            uses.config_maps.insert(map.to_owned());
        }
        for source in items(volume, "/projected/sources") {
            if let Some(secret) = text(source, "/secret/name") {
                uses.secrets.insert(secret.to_owned());
            }
            if let Some(map) = text(source, "/configMap/name") {
                uses.config_maps.insert(map.to_owned());
            }
        }
        if let Some(claim) = text(volume, "/persistentVolumeClaim/claimName") {
            uses.claims.insert(claim.to_owned());
        }
        // A generic ephemeral volume's claim is named after the pod and the volume.
        if volume.get("ephemeral").is_some()
            && let Some(volume_name) = text(volume, "/name")
        {
            uses.claims.insert(format!("{name}-{volume_name}"));
        }
    }
    for list in ["/containers", "/initContainers", "/ephemeralContainers"] {
        for container in items(spec, list) {
            for env in items(container, "/env") {
                if let Some(secret) = text(env, "/valueFrom/secretKeyRef/name") {
                    uses.secrets.insert(secret.to_owned());
                }
                if let Some(map) = text(env, "/valueFrom/configMapKeyRef/name") {
                    uses.config_maps.insert(map.to_owned());
                }
            }
            for source in items(container, "/envFrom") {
                if let Some(secret) = text(source, "/secretRef/name") {
                    uses.secrets.insert(secret.to_owned());
                }
                if let Some(map) = text(source, "/configMapRef/name") {
                    uses.config_maps.insert(map.to_owned());
                }
            }
        }
    }
    uses.name = name;
    uses
}

/// A kind of object a node may reach through its pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// A Secret in a namespace.
    Secret,
    /// A ConfigMap in a namespace.
    ConfigMap,
    /// A PersistentVolumeClaim in a namespace.
    Claim,
    /// A ServiceAccount in a namespace.
    ServiceAccount,
    /// A PersistentVolume (no namespace), through a claim.
    Volume,
    /// A pod in a namespace, bound to the node.
    Pod,
}

#[derive(Debug, Default)]
struct Graph {
    /// Store key → what the pod uses (bound pods only).
    pods: HashMap<String, PodUses>,
    /// Node → store keys of its pods.
    by_node: HashMap<String, BTreeSet<String>>,
    /// `namespace/claim` → the volume it is bound to.
    claims: HashMap<String, String>,
}

impl Graph {
    fn put(&mut self, key: &str, value: &[u8]) {
        let Ok(object) = serde_json::from_slice::<Value>(value) else {
            return;
        };
        if key.starts_with(CLAIMS) {
            match text(&object, "/spec/volumeName") {
                Some(volume) => self.claims.insert(claim_key(key), volume.to_owned()),
                None => self.claims.remove(&claim_key(key)),
            };
            return;
        }
        self.delete(key);
        if let Some(uses) = PodUses::of(&object) {
            self.by_node
                .entry(uses.node.clone())
                .or_default()
                .insert(key.to_owned());
            self.pods.insert(key.to_owned(), uses);
        }
    }

    fn delete(&mut self, key: &str) {
        if key.starts_with(CLAIMS) {
            self.claims.remove(&claim_key(key));
            return;
        }
        if let Some(old) = self.pods.remove(key)
            && let Some(keys) = self.by_node.get_mut(&old.node)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.by_node.remove(&old.node);
            }
        }
    }

    fn pods_on<'a>(&'a self, node: &str) -> impl Iterator<Item = &'a PodUses> {
        self.by_node
            .get(node)
            .into_iter()
            .flatten()
            .filter_map(|key| self.pods.get(key))
    }
}

/// `namespace/name` of a claim's store key.
fn claim_key(key: &str) -> String {
    key.strip_prefix(CLAIMS).unwrap_or(key).to_owned()
}

/// The graph, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct NodeGraph {
    graph: Arc<RwLock<Graph>>,
}

impl NodeGraph {
    /// Whether a pod bound to `node` uses the object (`namespace` is ignored for volumes).
    pub fn reaches(&self, node: &str, kind: Reached, namespace: &str, name: &str) -> bool {
        let graph = self.graph.read().unwrap_or_else(PoisonError::into_inner);
        let mut pods = graph.pods_on(node);
        match kind {
            Reached::Volume => pods.any(|pod| {
                pod.claims.iter().any(|claim| {
                    graph
                        .claims
                        .get(&format!("{}/{claim}", pod.namespace))
                        .is_some_and(|volume| volume == name)
                })
            }),
            kind => pods
                .filter(|pod| pod.namespace == namespace)
                .any(|pod| match kind {
                    Reached::Secret => pod.secrets.contains(name),
                    Reached::ConfigMap => pod.config_maps.contains(name),
                    Reached::Claim => pod.claims.contains(name),
                    Reached::Pod => pod.name == name,
                    _ => pod.service_account == name,
                }),
        }
    }

    /// The node a pod is bound to, if it exists and is bound.
    pub fn node_of(&self, namespace: &str, pod: &str) -> Option<String> {
        let graph = self.graph.read().unwrap_or_else(PoisonError::into_inner);
        graph
            .pods
            .get(&format!("{PODS}{namespace}/{pod}"))
            .map(|uses| uses.node.clone())
    }

    /// Adds or replaces an object as stored under `key` (tests feed the graph this way).
    pub fn insert(&self, key: &str, object: &Value) {
        self.graph
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .put(key, object.to_string().as_bytes());
    }
}

impl follow::View for NodeGraph {
    const WHAT: &'static str = "the node authorizer's graph";

    fn prefixes(&self) -> Vec<String> {
        vec![PODS.to_owned(), CLAIMS.to_owned()]
    }

    fn reload(&self, kvs: &[KeyValue]) {
        let mut graph = Graph::default();
        for kv in kvs {
            graph.put(&kv.key, &kv.value);
        }
        *self.graph.write().unwrap_or_else(PoisonError::into_inner) = graph;
    }

    fn apply(&self, changes: &[(String, Option<&[u8]>)]) {
        let mut graph = self.graph.write().unwrap_or_else(PoisonError::into_inner);
        for (key, value) in changes {
            match value {
                Some(value) => graph.put(key, value),
                None => graph.delete(key),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(node: Option<&str>) -> Value {
        json!({"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"nodeName": node, "serviceAccountName": "builder",
                "imagePullSecrets": [{"name": "pull"}],
                "volumes": [
                    {"name": "cert", "secret": {"secretName": "tls"}},
                    {"name": "conf", "configMap": {"name": "settings"}},
                    {"name": "api", "projected": {"sources": [
                        {"configMap": {"name": "kube-root-ca.crt"}},
                        {"secret": {"name": "projected"}}]}},
                    {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}}],
                "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init-env"}}]}],
                "containers": [{"name": "c", "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "env", "key": "a"}}},
                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "env-map", "key": "b"}}}],
                    "envFrom": [{"configMapRef": {"name": "env-from"}}]}]}})
    }

    #[test]
    fn a_bound_pod_leads_its_node_to_everything_it_uses() {
        let graph = NodeGraph::default();
        graph.insert("/registry/core/pods/shop/web", &pod(Some("n1")));
        graph.insert(
            "/registry/core/persistentvolumeclaims/shop/data",
            &json!({"spec": {"volumeName": "pv-7"}}),
        );
        for secret in ["pull", "tls", "projected", "init-env", "env"] {
            assert!(
                graph.reaches("n1", Reached::Secret, "shop", secret),
                "{secret}"
            );
        }
        for map in ["settings", "kube-root-ca.crt", "env-map", "env-from"] {
            assert!(
                graph.reaches("n1", Reached::ConfigMap, "shop", map),
                "{map}"
            );
        }
        assert!(graph.reaches("n1", Reached::Claim, "shop", "data"));
        assert!(graph.reaches("n1", Reached::Claim, "shop", "web-scratch"));
        assert!(graph.reaches("n1", Reached::ServiceAccount, "shop", "builder"));
        assert!(graph.reaches("n1", Reached::Volume, "", "pv-7"));
        assert_eq!(graph.node_of("shop", "web").as_deref(), Some("n1"));

        // Not another node, not another namespace, not what the pod does not use.
        assert!(!graph.reaches("n2", Reached::Secret, "shop", "tls"));
        assert!(!graph.reaches("n1", Reached::Secret, "other", "tls"));
        assert!(!graph.reaches("n1", Reached::Secret, "shop", "settings"));
        assert!(!graph.reaches("n1", Reached::Volume, "", "pv-8"));
    }

    #[test]
    fn unbinding_or_deleting_the_pod_cuts_the_edges() {
        let graph = NodeGraph::default();
        let key = "/registry/core/pods/shop/web";
        graph.insert(key, &pod(None));
        assert!(!graph.reaches("n1", Reached::Secret, "shop", "tls"));
        assert_eq!(graph.node_of("shop", "web"), None);
        graph.insert(key, &pod(Some("n1")));
        assert!(graph.reaches("n1", Reached::Secret, "shop", "tls"));
        follow::View::apply(&graph, &[(key.to_owned(), None)]);
        assert!(!graph.reaches("n1", Reached::Secret, "shop", "tls"));
    }
}
