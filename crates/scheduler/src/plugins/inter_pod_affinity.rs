//! InterPodAffinity: which pods must run together and which apart, by topology domain (the
//! value of a node label such as `kubernetes.io/hostname` or `topology.kubernetes.io/zone`).
//!
//! Filter, as upstream: the pod's required affinity terms each need a matching pod in the
//! node's domain (unless no pod matches anywhere and the pod matches its own term — the first
//! of a group); its required anti-affinity terms forbid domains holding a matching pod; and
//! existing pods' required anti-affinity forbids their domains to pods they select. Preferred
//! terms add or subtract their weights per matching pod in the domain.

use crate::framework::{Plugin, State, Status, normalize_min_max};
use crate::info::{NodeInfo, PodEntry, PodInfo};
use k8s_openapi::api::core::v1::PodAffinityTerm;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Upstream's messages.
pub const AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// Upstream's messages.
pub const ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// Upstream's messages.
pub const EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";

/// Whether `labels` satisfy a label selector (a missing selector selects nothing).
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return false;
    };
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_ok = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_ok && expressions_ok
}

/// Whether a pod (namespace, labels) is one that `term`, written in a pod of `owner_namespace`,
/// selects. An empty namespace list means the owner's namespace; a namespace selector is
/// taken as every namespace (namespace labels are not in the scheduler's cache yet).
pub fn term_selects(
    term: &PodAffinityTerm,
    owner_namespace: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let namespaces = term.namespaces.as_deref().unwrap_or_default();
    let in_namespace = if term.namespace_selector.is_some() {
        true
    } else if namespaces.is_empty() {
        namespace == owner_namespace
    } else {
        namespaces.iter().any(|n| n == namespace)
    };
    in_namespace && selects(term.label_selector.as_ref(), labels)
}

/// A domain: (topology key, value).
type Domain = (String, String);

#[derive(Debug, Default)]
struct Prepared {
    /// Per required affinity term: the domains holding a matching pod, and whether the pod may
    /// start the group (no match anywhere, and it matches its own term).
    affinity: Vec<(String, HashSet<String>, bool)>,
    /// Per required anti-affinity term: the domains holding a matching pod.
    anti: Vec<(String, HashSet<String>)>,
    /// Domains where an existing pod's anti-affinity selects this pod.
    existing_anti: HashSet<Domain>,
    /// Preferred terms: weight per domain (affinity positive, anti-affinity negative).
    preferred: HashMap<Domain, i64>,
}

fn terms(pod_affinity: Option<&Vec<PodAffinityTerm>>) -> &[PodAffinityTerm] {
    pod_affinity.map(Vec::as_slice).unwrap_or_default()
}

fn domain_of(node: &NodeInfo, key: &str) -> Option<Domain> {
    node.labels.get(key).map(|v| (key.to_owned(), v.clone()))
}

fn prepare(pod: &PodInfo, nodes: &[&NodeInfo]) -> Prepared {
    let namespace = pod.pod.metadata.namespace.clone().unwrap_or_default();
    let labels = pod.pod.metadata.labels.clone().unwrap_or_default();
    let affinity = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.clone())
        .unwrap_or_default();
    let required_affinity = terms(affinity.pod_affinity.as_ref().and_then(|a| {
        a.required_during_scheduling_ignored_during_execution
            .as_ref()
    }));
    let required_anti = terms(affinity.pod_anti_affinity.as_ref().and_then(|a| {
        a.required_during_scheduling_ignored_during_execution
            .as_ref()
    }));
    let preferred_affinity = affinity
        .pod_affinity
        .as_ref()
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .clone()
        })
        .unwrap_or_default();
    let preferred_anti = affinity
        .pod_anti_affinity
        .as_ref()
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .clone()
        })
        .unwrap_or_default();

    let mut prepared = Prepared {
        affinity: required_affinity
            .iter()
            .map(|t| (t.topology_key.clone(), HashSet::new(), false))
            .collect(),
        anti: required_anti
            .iter()
            .map(|t| (t.topology_key.clone(), HashSet::new()))
            .collect(),
        ..Prepared::default()
    };
    let mut matched_anywhere = vec![false; required_affinity.len()];
    // A pod without terms of its own only needs the nodes whose pods have anti-affinity.
    let own_terms = !(required_affinity.is_empty()
        && required_anti.is_empty()
        && preferred_affinity.is_empty()
        && preferred_anti.is_empty());
    for node in nodes {
        if !own_terms && node.anti_affinity_pods == 0 {
            continue;
        }
        for entry in node.pods.values() {
            let PodEntry {
                namespace: their_ns,
                labels: their_labels,
                affinity: their_affinity,
                ..
            } = entry;
            for (i, term) in required_affinity.iter().enumerate() {
                if term_selects(term, &namespace, their_ns, their_labels) {
                    matched_anywhere[i] = true;
                    if let Some((_, value)) = domain_of(node, &term.topology_key) {
                        prepared.affinity[i].1.insert(value);
                    }
                }
            }
            for (i, term) in required_anti.iter().enumerate() {
                if term_selects(term, &namespace, their_ns, their_labels)
                    && let Some((_, value)) = domain_of(node, &term.topology_key)
                {
                    prepared.anti[i].1.insert(value);
                }
            }
            // Existing pods' required anti-affinity that selects the incoming pod.
            let theirs = terms(
                their_affinity
                    .as_ref()
                    .and_then(|a| a.pod_anti_affinity.as_ref())
                    .and_then(|a| {
                        a.required_during_scheduling_ignored_during_execution
                            .as_ref()
                    }),
            );
            for term in theirs {
                if term_selects(term, their_ns, &namespace, &labels)
                    && let Some(domain) = domain_of(node, &term.topology_key)
                {
                    prepared.existing_anti.insert(domain);
                }
            }
            for (weighted, sign) in preferred_affinity
                .iter()
                .map(|w| (w, 1))
                .chain(preferred_anti.iter().map(|w| (w, -1)))
            {
                let term = &weighted.pod_affinity_term;
                if term_selects(term, &namespace, their_ns, their_labels)
                    && let Some(domain) = domain_of(node, &term.topology_key)
                {
                    *prepared.preferred.entry(domain).or_default() +=
                        sign * i64::from(weighted.weight);
                }
            }
        }
    }
    for (i, term) in required_affinity.iter().enumerate() {
        prepared.affinity[i].2 =
            !matched_anywhere[i] && term_selects(term, &namespace, &namespace, &labels);
    }
    prepared
}

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct InterPodAffinity;

fn prepared(state: &State) -> Option<&Prepared> {
    state.as_ref().and_then(|s| s.downcast_ref::<Prepared>())
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        "InterPodAffinity"
    }

    fn prepare(&self, pod: &PodInfo, nodes: &[&NodeInfo]) -> State {
        let prepared = prepare(pod, nodes);
        let nothing = prepared.affinity.is_empty()
            && prepared.anti.is_empty()
            && prepared.existing_anti.is_empty()
            && prepared.preferred.is_empty();
        (!nothing).then(|| Box::new(prepared) as Box<dyn std::any::Any + Send + Sync>)
    }

    fn filter_with(&self, state: &State, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(prepared) = prepared(state) else {
            return Status::Success;
        };
        if node
            .labels
            .iter()
            .any(|(k, v)| prepared.existing_anti.contains(&(k.clone(), v.clone())))
        {
            return Status::unschedulable(EXISTING_ANTI_AFFINITY);
        }
        for (key, values, may_start) in &prepared.affinity {
            let here = node.labels.get(key);
            let ok = match here {
                Some(value) => values.contains(value) || *may_start,
                None => false,
            };
            if !ok {
                return Status::unresolvable(AFFINITY);
            }
        }
        for (key, values) in &prepared.anti {
            if node.labels.get(key).is_some_and(|v| values.contains(v)) {
                return Status::unschedulable(ANTI_AFFINITY);
            }
        }
        Status::Success
    }

    fn scores(&self) -> bool {
        true
    }

    fn score_with(&self, state: &State, _pod: &PodInfo, node: &NodeInfo) -> i64 {
        prepared(state).map_or(0, |p| {
            // The preferred domains are few; the node's labels are looked up, never copied.
            p.preferred
                .iter()
                .filter(|((key, value), _)| node.labels.get(key) == Some(value))
                .map(|(_, weight)| *weight)
                .sum()
        })
    }

    fn normalize(&self, scores: &mut [i64]) {
        normalize_min_max(scores, false, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::Resources;
    use serde_json::json;

    fn node(name: &str, zone: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: std::sync::Arc::new(
                serde_json::from_value(json!({"kubernetes.io/hostname": name, "zone": zone}))
                    .unwrap(),
            ),
            allocatable: Resources {
                milli_cpu: 4000,
                memory: 8 << 30,
                ephemeral_storage: 0,
                pods: 110,
            },
            ..NodeInfo::default()
        }
    }

    fn pod(name: &str, labels: serde_json::Value, affinity: serde_json::Value) -> PodInfo {
        PodInfo::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "d", "uid": name, "labels": labels},
                "spec": {"containers": [], "affinity": affinity}
            }))
            .unwrap(),
        )
    }

    fn feasible(incoming: &PodInfo, nodes: &[NodeInfo]) -> Vec<String> {
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let state = InterPodAffinity.prepare(incoming, &refs);
        nodes
            .iter()
            .filter(|n| {
                InterPodAffinity
                    .filter_with(&state, incoming, n)
                    .is_success()
            })
            .map(|n| n.name.clone())
            .collect()
    }

    fn anti_self(name: &str, key: &str) -> PodInfo {
        pod(
            name,
            json!({"app": "web"}),
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": key}
            ]}}),
        )
    }

    #[test]
    fn anti_affinity_by_hostname_spreads_replicas() {
        let mut nodes = vec![node("a", "z1"), node("b", "z1"), node("c", "z2")];
        let first = anti_self("web-1", "kubernetes.io/hostname");
        nodes[0].add_entry("web-1", PodEntry::of(&first));
        assert_eq!(
            feasible(&anti_self("web-2", "kubernetes.io/hostname"), &nodes),
            ["b", "c"]
        );
    }

    #[test]
    fn anti_affinity_by_zone_and_existing_pods_rules() {
        let mut nodes = vec![node("a", "z1"), node("b", "z1"), node("c", "z2")];
        nodes[0].add_entry("web-1", PodEntry::of(&anti_self("web-1", "zone")));
        // The incoming pod's own rule forbids zone z1.
        assert_eq!(feasible(&anti_self("web-2", "zone"), &nodes), ["c"]);
        // A pod without rules of its own is kept out of z1 by web-1's rule, since it matches.
        let plain = pod("plain", json!({"app": "web"}), json!({}));
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let state = InterPodAffinity.prepare(&plain, &refs);
        assert_eq!(
            InterPodAffinity.filter_with(&state, &plain, &nodes[1]),
            Status::unschedulable(EXISTING_ANTI_AFFINITY)
        );
    }

    #[test]
    fn affinity_needs_a_matching_pod_in_the_domain_except_for_the_first() {
        let mut nodes = vec![node("a", "z1"), node("b", "z2")];
        let with_cache = |name: &str| {
            pod(
                name,
                json!({"app": "web"}),
                json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}
                ]}}),
            )
        };
        // No cache pod anywhere, and the pod is not a cache: nowhere.
        assert!(feasible(&with_cache("w"), &nodes).is_empty());
        nodes[1].add_entry(
            "cache",
            PodEntry::of(&pod("cache", json!({"app": "cache"}), json!({}))),
        );
        assert_eq!(feasible(&with_cache("w"), &nodes), ["b"]);
        // The first pod of a group that selects itself may go anywhere.
        let group = pod(
            "g",
            json!({"app": "g"}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "g"}}, "topologyKey": "zone"}
            ]}}),
        );
        assert_eq!(feasible(&group, &nodes), ["a", "b"]);
    }

    #[test]
    fn preferred_terms_score_domains() {
        let mut nodes = [node("a", "z1"), node("b", "z2")];
        nodes[0].add_entry(
            "db",
            PodEntry::of(&pod("db", json!({"app": "db"}), json!({}))),
        );
        let near_db = pod(
            "p",
            json!({}),
            json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}}
            ]}}),
        );
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let state = InterPodAffinity.prepare(&near_db, &refs);
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| InterPodAffinity.score_with(&state, &near_db, n))
            .collect();
        InterPodAffinity.normalize(&mut scores);
        assert_eq!(scores, [100, 0]);
    }
}
