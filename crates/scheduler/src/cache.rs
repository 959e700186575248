//! The scheduler's cache: every node and the pods assigned to it, fed by watches, plus the
//! pods the scheduler has *assumed* onto a node while their binding is in flight — so the next
//! decision already counts them and throughput does not wait for the API round trip. An
//! assumption the watch never confirms expires.

use crate::info::{NodeInfo, PodEntry, PodInfo};
use crate::plugins::default_preemption::Candidate;
use k8s_openapi::api::core::v1::{Node, Pod};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an assumed pod waits for its binding to show in the watch.
pub const ASSUME_TTL: Duration = Duration::from_secs(30);

/// Nodes in a vector (each decision walks them all: a slice is cheaper to walk than a map),
/// indexed by name.
#[derive(Debug, Default)]
struct Nodes {
    list: Vec<NodeInfo>,
    index: HashMap<String, usize>,
}

impl Nodes {
    fn get_mut(&mut self, name: &str) -> Option<&mut NodeInfo> {
        let at = *self.index.get(name)?;
        self.list.get_mut(at)
    }

    fn insert(&mut self, name: String, info: NodeInfo) {
        self.index.insert(name, self.list.len());
        self.list.push(info);
    }

    fn remove(&mut self, name: &str) {
        let Some(at) = self.index.remove(name) else {
            return;
        };
        self.list.swap_remove(at);
        if let Some(moved) = self.list.get(at) {
            self.index.insert(moved.name.clone(), at);
        }
    }
}

/// Nodes and their pods.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: Nodes,
    /// Pod UID → the node it counts on, and what it takes there (kept for pods whose node
    /// the cache has not seen yet).
    placed: HashMap<String, (String, PodEntry)>,
    /// Pods assumed but not yet seen bound, with when.
    assumed: HashMap<String, Instant>,
    /// Pod UID → the node it is nominated to (the node keeps the pod's entry).
    nominated: HashMap<String, String>,
}

fn is_terminal(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed")
}

impl Cache {
    /// Adds or updates a node (its pods stay counted).
    pub fn set_node(&mut self, node: &Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        match self.nodes.get_mut(&name) {
            Some(info) => info.update(node),
            None => {
                let mut info = NodeInfo::new(node);
                // Pods seen before their node count on it now.
                for (uid, (placed, entry)) in &self.placed {
                    if *placed == name {
                        info.add_entry(uid, entry.clone());
                    }
                }
                self.nodes.insert(name, info);
            }
        }
    }

    /// Removes a node.
    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// Records a pod the watch shows: counted on its node when assigned and still running,
    /// forgotten otherwise.
    pub fn set_pod(&mut self, pod: Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if node.is_empty() || is_terminal(&pod) {
            if !self.assumed.contains_key(&uid) {
                self.remove_pod(&uid);
            }
            return;
        }
        self.assumed.remove(&uid);
        self.forget_nomination(&uid);
        let info = PodInfo::new(pod);
        self.place(&uid, &node, &info);
    }

    fn place(&mut self, uid: &str, node: &str, info: &PodInfo) {
        if let Some((previous, _)) = self.placed.get(uid)
            && previous != node
            && let Some(old) = self.nodes.get_mut(previous)
        {
            old.remove_pod(uid);
        }
        let mut entry = PodEntry::of(info);
        if let Some(target) = self.nodes.get_mut(node) {
            // A victim stays marked as leaving through the updates before its deletion.
            entry.terminating |= target.pods.get(uid).is_some_and(|e| e.terminating);
            target.add_entry(uid, entry.clone());
        }
        self.placed.insert(uid.to_owned(), (node.to_owned(), entry));
    }

    /// Forgets a pod (deleted, or its assumption failed).
    pub fn remove_pod(&mut self, uid: &str) {
        self.assumed.remove(uid);
        self.forget_nomination(uid);
        if let Some((node, _)) = self.placed.remove(uid)
            && let Some(info) = self.nodes.get_mut(&node)
        {
            info.remove_pod(uid);
        }
    }

    /// Counts `pod` on `node` before its binding is confirmed.
    pub fn assume(&mut self, pod: &PodInfo, node: &str) {
        self.place(&pod.uid, node, pod);
        self.assumed.insert(pod.uid.clone(), Instant::now());
    }

    /// Drops assumptions older than the TTL; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let stale: Vec<String> = self
            .assumed
            .iter()
            .filter(|(_, at)| now.duration_since(**at) > ASSUME_TTL)
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in &stale {
            self.remove_pod(uid);
        }
        stale.len()
    }

    /// Records that `pod` waits for room on the candidate's node, whose victims are now leaving
    /// (counted as terminating, as upstream sees them once deleted, so that the pod waits for
    /// them instead of preempting again).
    pub fn nominate(&mut self, pod: &PodInfo, candidate: &Candidate) {
        if let Some(info) = self.nodes.get_mut(&candidate.node) {
            for victim in &candidate.victims {
                if let Some(entry) = info.pods.get_mut(&victim.uid) {
                    entry.terminating = true;
                }
            }
        }
        self.nominate_to(pod, &candidate.node);
    }

    /// Records that `pod` waits for room on `node` (the API says it is nominated there).
    pub fn nominate_to(&mut self, pod: &PodInfo, node: &str) {
        self.forget_nomination(&pod.uid);
        if let Some(info) = self.nodes.get_mut(node) {
            info.nominated.push((pod.uid.clone(), PodEntry::of(pod)));
        }
        self.nominated.insert(pod.uid.clone(), node.to_owned());
    }

    /// Drops a pod's nomination (bound, deleted, or nominated elsewhere).
    pub fn forget_nomination(&mut self, uid: &str) {
        if let Some(node) = self.nominated.remove(uid)
            && let Some(info) = self.nodes.get_mut(&node)
        {
            info.nominated.retain(|(u, _)| u != uid);
        }
    }

    /// The node `uid` is nominated to.
    pub fn nomination_of(&self, uid: &str) -> Option<String> {
        self.nominated.get(uid).cloned()
    }

    /// The pods nominated onto `node`.
    pub fn nominated_on(&self, node: &str) -> &[(String, PodEntry)] {
        self.nodes
            .index
            .get(node)
            .and_then(|at| self.nodes.list.get(*at))
            .map_or(&[], |info| info.nominated.as_slice())
    }

    /// Every node.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.list.iter()
    }

    /// How many nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.list.len()
    }
}
