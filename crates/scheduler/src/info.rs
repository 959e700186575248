//! What the scheduler knows of a pod and a node, computed once from the API objects: resource
//! requests (upstream's rules: the larger of the containers' sum and any init container, plus
//! the pod overhead), host ports, and the node's allocatable, taints and what its pods use.

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Amounts of the resources the scheduler counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Pods.
    pub pods: i64,
}

impl Resources {
    /// Reads `cpu`, `memory`, `ephemeral-storage` and `pods` from a resource list.
    pub fn from_list(
        list: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    ) -> Self {
        let read = |key: &str| {
            list.get(key)
                .and_then(|q| gantry_api::quantity::parse(&q.0).ok())
                .unwrap_or(0.0)
        };
        Self {
            milli_cpu: (read("cpu") * 1000.0).ceil() as i64,
            memory: read("memory").ceil() as i64,
            ephemeral_storage: read("ephemeral-storage").ceil() as i64,
            pods: read("pods") as i64,
        }
    }

    fn add(&mut self, other: &Resources) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.pods += other.pods;
    }

    fn sub(&mut self, other: &Resources) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.pods -= other.pods;
    }

    fn max(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
    }
}

/// A host port a pod asks for: (protocol, host IP, port).
pub type HostPort = (String, String, i32);

/// The scheduler's view of a pod.
#[derive(Debug, Clone)]
pub struct PodInfo {
    /// The pod as the API has it.
    pub pod: Pod,
    /// `namespace/name`.
    pub key: String,
    /// UID.
    pub uid: String,
    /// What it requests (`pods` = 1).
    pub requests: Resources,
    /// Host ports.
    pub ports: Vec<HostPort>,
    /// Priority (from its priority class, resolved by admission).
    pub priority: i32,
    /// Its PersistentVolumeClaims, resolved when its turn comes (see `volumes`).
    pub claims: Vec<crate::volumes::ClaimState>,
    /// Those of its claims (`namespace/name`) that allow one pod at a time, resolved then too.
    pub one_pod_claims: Vec<String>,
    /// The cluster-default spread constraints that apply to it (none when it has its own, or
    /// when nothing groups it), resolved when its turn comes (see `workloads`).
    pub default_spread: Vec<k8s_openapi::api::core::v1::TopologySpreadConstraint>,
}

impl PodInfo {
    /// Computes the view of `pod`.
    pub fn new(pod: Pod) -> Self {
        let none = k8s_openapi::api::core::v1::PodSpec::default();
        let spec = pod.spec.as_ref().unwrap_or(&none);
        let mut requests = Resources::default();
        for container in &spec.containers {
            if let Some(list) = container
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
            {
                requests.add(&Resources::from_list(list));
            }
        }
        for container in spec.init_containers.iter().flatten() {
            if let Some(list) = container
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
            {
                requests.max(&Resources::from_list(list));
            }
        }
        if let Some(overhead) = &spec.overhead {
            requests.add(&Resources::from_list(overhead));
        }
        requests.pods = 1;
        let ports = spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .filter(|p| p.host_port.is_some_and(|h| h > 0))
            .map(|p| {
                (
                    p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                    p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".to_owned()),
                    p.host_port.unwrap_or(0),
                )
            })
            .collect();
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        Self {
            key: format!("{namespace}/{name}"),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            priority: spec.priority.unwrap_or(0),
            claims: Vec::new(),
            one_pod_claims: Vec::new(),
            default_spread: Vec::new(),
            requests,
            ports,
            pod,
        }
    }

    /// The node an earlier preemption nominated for it (`status.nominatedNodeName`).
    pub fn nominated_node(&self) -> Option<&str> {
        self.pod
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref())
            .filter(|n| !n.is_empty())
    }

    /// Whether placing it depends on other pods' labels across nodes (pod affinity,
    /// anti-affinity, topology spread), beyond what they take on one node.
    pub fn has_pod_relations(&self) -> bool {
        let spec = self.pod.spec.as_ref();
        let affinity = spec.and_then(|s| s.affinity.as_ref());
        affinity.is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some())
            || spec.is_some_and(|s| {
                s.topology_spread_constraints
                    .as_ref()
                    .is_some_and(|c| !c.is_empty())
            })
    }

    /// The pod's tolerations.
    pub fn tolerations(&self) -> &[Toleration] {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default()
    }
}

/// The scheduler's view of a node and the pods on it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    /// Name.
    pub name: String,
    /// Labels (shared: preemption's trial copies of a node need not copy them).
    pub labels: std::sync::Arc<BTreeMap<String, String>>,
    /// Taints (shared, as the labels).
    pub taints: std::sync::Arc<[Taint]>,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// What it can give to pods.
    pub allocatable: Resources,
    /// What its pods request.
    pub requested: Resources,
    /// Host ports in use.
    pub used_ports: HashSet<HostPort>,
    /// The pods on it, by UID.
    pub pods: BTreeMap<String, PodEntry>,
    /// How many of them carry required pod anti-affinity (so that pods without affinity
    /// rules of their own look only at nodes where such pods are).
    pub anti_affinity_pods: usize,
    /// Pods nominated here by preemption, by UID: they hold their room against pods of lower
    /// priority while their victims go.
    pub nominated: Vec<(String, PodEntry)>,
    /// The images it holds, by every name (`status.images`), with their sizes.
    pub images: std::sync::Arc<HashMap<String, i64>>,
}

/// What a node keeps of each of its pods: what it takes, and what inter-pod affinity needs.
#[derive(Debug, Clone, Default)]
pub struct PodEntry {
    /// Its requests.
    pub requests: Resources,
    /// Its host ports.
    pub ports: Vec<HostPort>,
    /// Its namespace.
    pub namespace: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its pod affinity and anti-affinity (existing pods' anti-affinity keeps others away).
    pub affinity: Option<k8s_openapi::api::core::v1::Affinity>,
    /// Its name (preemption deletes victims by name).
    pub name: String,
    /// Its priority (preemption only removes lower ones).
    pub priority: i32,
    /// When it started (`status.startTime`, else its creation; RFC 3339, so ordered as text).
    pub start_time: String,
    /// Whether it is being deleted already.
    pub terminating: bool,
    /// The claims it mounts (`namespace/name`).
    pub claims: Vec<String>,
    /// Its inline disks that one node cannot share (see VolumeRestrictions), with whether it
    /// mounts them read-only.
    pub disks: Vec<(String, bool)>,
}

impl PodEntry {
    /// Whether the pod has required anti-affinity terms.
    pub fn has_required_anti_affinity(&self) -> bool {
        self.affinity
            .as_ref()
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some_and(|t| !t.is_empty())
    }

    /// The entry of `pod`.
    pub fn of(pod: &PodInfo) -> Self {
        Self {
            requests: pod.requests,
            ports: pod.ports.clone(),
            namespace: pod.pod.metadata.namespace.clone().unwrap_or_default(),
            labels: pod.pod.metadata.labels.clone().unwrap_or_default(),
            affinity: pod.pod.spec.as_ref().and_then(|s| s.affinity.clone()),
            name: pod.pod.metadata.name.clone().unwrap_or_default(),
            priority: pod.priority,
            start_time: pod
                .pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .or(pod.pod.metadata.creation_timestamp.as_ref())
                .and_then(|t| serde_json::to_value(t).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            terminating: pod.pod.metadata.deletion_timestamp.is_some(),
            claims: crate::volumes::claim_keys(&pod.pod).collect(),
            disks: crate::plugins::volume_restrictions::disks(&pod.pod),
        }
    }
}

impl NodeInfo {
    /// The view of `node`, with no pods yet.
    pub fn new(node: &Node) -> Self {
        let mut info = Self::default();
        info.update(node);
        info
    }

    /// Takes the node's labels, taints and allocatable, keeping its pods.
    pub fn update(&mut self, node: &Node) {
        self.name = node.metadata.name.clone().unwrap_or_default();
        self.labels = std::sync::Arc::new(node.metadata.labels.clone().unwrap_or_default());
        let spec = node.spec.as_ref();
        // A slice: its length sits beside the pointer, so nodes without taints cost no lookup.
        self.taints = spec
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        let status = node.status.as_ref();
        self.allocatable = status
            .and_then(|s| s.allocatable.as_ref())
            .map(Resources::from_list)
            .unwrap_or_default();
        let images = status.and_then(|s| s.images.as_ref()).into_iter().flatten();
        self.images = std::sync::Arc::new(
            images
                .flat_map(|i| {
                    let size = i.size_bytes.unwrap_or(0);
                    i.names.iter().flatten().map(move |n| (n.clone(), size))
                })
                .collect(),
        );
    }

    /// Counts a pod on this node (with only what it takes: tests and resource bookkeeping).
    pub fn add_pod(&mut self, uid: &str, requests: Resources, ports: Vec<HostPort>) {
        self.add_entry(
            uid,
            PodEntry {
                requests,
                ports,
                ..PodEntry::default()
            },
        );
    }

    /// Counts a pod on this node.
    pub fn add_entry(&mut self, uid: &str, entry: PodEntry) {
        self.remove_pod(uid);
        if entry.has_required_anti_affinity() {
            self.anti_affinity_pods += 1;
        }
        self.requested.add(&entry.requests);
        self.used_ports.extend(entry.ports.iter().cloned());
        self.pods.insert(uid.to_owned(), entry);
    }

    /// A copy of the node with what its pods take but not the pods themselves (for trials that
    /// only weigh resources and ports).
    pub fn without_pods(&self) -> Self {
        Self {
            name: self.name.clone(),
            labels: std::sync::Arc::clone(&self.labels),
            taints: std::sync::Arc::clone(&self.taints),
            unschedulable: self.unschedulable,
            allocatable: self.allocatable,
            requested: self.requested,
            used_ports: self.used_ports.clone(),
            pods: BTreeMap::new(),
            anti_affinity_pods: self.anti_affinity_pods,
            nominated: Vec::new(),
            images: std::sync::Arc::clone(&self.images),
        }
    }

    /// Counts what a pod takes, without keeping the pod (see `without_pods`).
    pub fn count(&mut self, entry: &PodEntry) {
        self.requested.add(&entry.requests);
        self.used_ports.extend(entry.ports.iter().cloned());
    }

    /// Stops counting what a pod takes (see `without_pods`).
    pub fn uncount(&mut self, entry: &PodEntry) {
        self.requested.sub(&entry.requests);
        for port in &entry.ports {
            self.used_ports.remove(port);
        }
    }

    /// Stops counting a pod.
    pub fn remove_pod(&mut self, uid: &str) {
        if let Some(entry) = self.pods.remove(uid) {
            if entry.has_required_anti_affinity() {
                self.anti_affinity_pods -= 1;
            }
            self.requested.sub(&entry.requests);
            for port in entry.ports {
                self.used_ports.remove(&port);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_take_the_larger_of_containers_and_init_containers_plus_overhead() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "d", "uid": "u"},
            "spec": {
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
                ],
                "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "16Mi"}}}],
                "overhead": {"cpu": "10m"}
            }
        }))
        .unwrap();
        let info = PodInfo::new(pod);
        assert_eq!(info.requests.milli_cpu, 1010);
        assert_eq!(info.requests.memory, 64 * 1024 * 1024);
        assert_eq!(info.requests.pods, 1);
        assert_eq!(info.key, "d/p");
    }

    #[test]
    fn node_usage_follows_its_pods() {
        let mut node = NodeInfo::default();
        let one = Resources {
            milli_cpu: 100,
            memory: 10,
            ephemeral_storage: 0,
            pods: 1,
        };
        node.add_pod("a", one, vec![("TCP".into(), "0.0.0.0".into(), 80)]);
        node.add_pod("a", one, vec![("TCP".into(), "0.0.0.0".into(), 80)]);
        assert_eq!(
            node.requested.milli_cpu, 100,
            "adding a pod twice counts it once"
        );
        assert_eq!(node.used_ports.len(), 1);
        node.remove_pod("a");
        assert_eq!(node.requested, Resources::default());
        assert!(node.used_ports.is_empty());
    }
}
