//! PodTopologySpread: pods that match a constraint's selector are spread evenly over the
//! domains of its topology key. `DoNotSchedule` constraints filter — placing the pod must not
//! make its domain exceed the least-populated domain by more than `maxSkew` — and
//! `ScheduleAnyway` constraints score, preferring the emptier domains.
//!
//! Domains are the values of the key among the nodes the pod could go to by its node
//! selector and required node affinity (upstream's default `nodeAffinityPolicy: Honor`);
//! `minDomains` counts missing domains as empty. A pod with no constraints of its own gets the
//! profile's default constraints (upstream's `System` defaults: max skew 3 over hosts and 5
//! over zones, `ScheduleAnyway`) among the pods its Services and controllers select, when any
//! do (resolved when its turn comes, into `PodInfo::default_spread`).

use crate::framework::{MAX_NODE_SCORE, Plugin, State, Status, normalize_min_max};
use crate::info::{NodeInfo, PodInfo};
use crate::plugins::inter_pod_affinity::selects;
use crate::plugins::node_affinity::NodeAffinity;
use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use std::collections::HashMap;

/// Upstream's messages.
pub const SKEW: &str = "node(s) didn't match pod topology spread constraints";
/// Upstream's messages.
pub const MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

#[derive(Debug)]
struct Counted {
    key: String,
    max_skew: i64,
    hard: bool,
    /// Matching pods per domain value (every eligible domain present, possibly 0).
    counts: HashMap<String, i64>,
    /// The least-populated domain's count (0 when fewer domains than `minDomains`).
    min: i64,
    /// Whether the incoming pod matches the selector itself.
    self_match: i64,
}

/// Whether the pod states constraints of its own.
pub fn has_own_constraints(pod: &PodInfo) -> bool {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .is_some_and(|c| !c.is_empty())
}

fn constraints(pod: &PodInfo) -> &[TopologySpreadConstraint] {
    match pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
    {
        Some(own) if !own.is_empty() => own,
        _ => &pod.default_spread,
    }
}

/// Upstream's `System` default constraints (their selector comes from the pod's Services and
/// controllers).
pub fn system_defaults() -> Vec<TopologySpreadConstraint> {
    [
        ("kubernetes.io/hostname", 3),
        ("topology.kubernetes.io/zone", 5),
    ]
    .into_iter()
    .map(|(key, skew)| TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.to_owned(),
        when_unsatisfiable: "ScheduleAnyway".to_owned(),
        ..TopologySpreadConstraint::default()
    })
    .collect()
}

fn count(pod: &PodInfo, nodes: &[&NodeInfo]) -> Vec<Counted> {
    let namespace = pod.pod.metadata.namespace.clone().unwrap_or_default();
    let labels = pod.pod.metadata.labels.clone().unwrap_or_default();
    let eligible: Vec<&&NodeInfo> = nodes
        .iter()
        .filter(|n| NodeAffinity.filter(pod, n).is_success())
        .collect();
    constraints(pod)
        .iter()
        .map(|c| {
            let mut counts: HashMap<String, i64> = HashMap::new();
            for node in &eligible {
                let Some(value) = node.labels.get(&c.topology_key) else {
                    continue;
                };
                let matching = node
                    .pods
                    .values()
                    .filter(|e| {
                        e.namespace == namespace && selects(c.label_selector.as_ref(), &e.labels)
                    })
                    .count() as i64;
                *counts.entry(value.clone()).or_default() += matching;
            }
            let domains = counts.len() as i64;
            let min = if c.min_domains.is_some_and(|m| i64::from(m) > domains) {
                0
            } else {
                counts.values().copied().min().unwrap_or(0)
            };
            Counted {
                key: c.topology_key.clone(),
                max_skew: i64::from(c.max_skew),
                hard: c.when_unsatisfiable == "DoNotSchedule",
                counts,
                min,
                self_match: i64::from(selects(c.label_selector.as_ref(), &labels)),
            }
        })
        .collect()
}

fn counted(state: &State) -> Option<&Vec<Counted>> {
    state
        .as_ref()
        .and_then(|s| s.downcast_ref::<Vec<Counted>>())
}

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        "PodTopologySpread"
    }

    fn prepare(&self, pod: &PodInfo, nodes: &[&NodeInfo]) -> State {
        if constraints(pod).is_empty() {
            return None;
        }
        Some(Box::new(count(pod, nodes)))
    }

    fn filter_with(&self, state: &State, _pod: &PodInfo, node: &NodeInfo) -> Status {
        for c in counted(state).into_iter().flatten().filter(|c| c.hard) {
            let Some(value) = node.labels.get(&c.key) else {
                return Status::unresolvable(MISSING_LABEL);
            };
            let here = c.counts.get(value).copied().unwrap_or(0);
            if here + c.self_match - c.min > c.max_skew {
                return Status::unschedulable(SKEW);
            }
        }
        Status::Success
    }

    fn scores(&self) -> bool {
        true
    }

    fn score_with(&self, state: &State, _pod: &PodInfo, node: &NodeInfo) -> i64 {
        counted(state).map_or(0, |all| {
            all.iter()
                .filter(|c| !c.hard)
                .map(|c| {
                    node.labels
                        .get(&c.key)
                        .and_then(|v| c.counts.get(v))
                        .copied()
                        .unwrap_or(0)
                })
                .sum()
        })
    }

    fn normalize(&self, scores: &mut [i64]) {
        // Fewer matching pods in the domain is better: the emptiest gets MAX_NODE_SCORE.
        normalize_min_max(scores, true, MAX_NODE_SCORE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::{PodEntry, Resources};
    use serde_json::json;

    fn node(name: &str, zone: Option<&str>) -> NodeInfo {
        let mut labels = json!({"kubernetes.io/hostname": name});
        if let Some(zone) = zone {
            labels["zone"] = json!(zone);
        }
        NodeInfo {
            name: name.into(),
            labels: std::sync::Arc::new(serde_json::from_value(labels).unwrap()),
            allocatable: Resources {
                milli_cpu: 4000,
                memory: 8 << 30,
                ephemeral_storage: 0,
                pods: 110,
            },
            ..NodeInfo::default()
        }
    }

    fn pod(name: &str, when: &str, max_skew: i32) -> PodInfo {
        PodInfo::new(serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "d", "uid": name, "labels": {"app": "web"}},
            "spec": {"containers": [], "topologySpreadConstraints": [
                {"maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"app": "web"}}}
            ]}
        })).unwrap())
    }

    fn add(node: &mut NodeInfo, name: &str) {
        node.add_entry(name, PodEntry::of(&pod(name, "DoNotSchedule", 1)));
    }

    #[test]
    fn the_skew_may_not_exceed_max_skew() {
        let mut nodes = [
            node("a", Some("z1")),
            node("b", Some("z2")),
            node("c", None),
        ];
        add(&mut nodes[0], "w1");
        let incoming = pod("w2", "DoNotSchedule", 1);
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let state = PodTopologySpread.prepare(&incoming, &refs);
        // z1 has 1, z2 has 0: another in z1 would make a skew of 2.
        assert_eq!(
            PodTopologySpread.filter_with(&state, &incoming, &nodes[0]),
            Status::unschedulable(SKEW)
        );
        assert!(
            PodTopologySpread
                .filter_with(&state, &incoming, &nodes[1])
                .is_success()
        );
        assert_eq!(
            PodTopologySpread.filter_with(&state, &incoming, &nodes[2]),
            Status::unresolvable(MISSING_LABEL)
        );
    }

    #[test]
    fn schedule_anyway_prefers_the_emptier_domain() {
        let mut nodes = [node("a", Some("z1")), node("b", Some("z2"))];
        add(&mut nodes[0], "w1");
        add(&mut nodes[0], "w2");
        let incoming = pod("w3", "ScheduleAnyway", 1);
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let state = PodTopologySpread.prepare(&incoming, &refs);
        assert!(
            PodTopologySpread
                .filter_with(&state, &incoming, &nodes[0])
                .is_success(),
            "soft constraints do not filter"
        );
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| PodTopologySpread.score_with(&state, &incoming, n))
            .collect();
        PodTopologySpread.normalize(&mut scores);
        assert_eq!(scores, [0, 100]);
    }

    #[test]
    fn pods_without_constraints_spread_by_the_defaults_among_their_group() {
        let mut nodes = [node("a", Some("z1")), node("b", Some("z1"))];
        add(&mut nodes[0], "w1");
        let mut incoming = PodInfo::new(
            serde_json::from_value(json!({
                "metadata": {"name": "w2", "namespace": "d", "uid": "w2", "labels": {"app": "web"}},
                "spec": {"containers": []}
            }))
            .unwrap(),
        );
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        assert!(
            PodTopologySpread.prepare(&incoming, &refs).is_none(),
            "nothing groups the pod: no spreading"
        );
        let selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector =
            serde_json::from_value(json!({"matchLabels": {"app": "web"}})).unwrap();
        incoming.default_spread = system_defaults()
            .into_iter()
            .map(|c| TopologySpreadConstraint {
                label_selector: Some(selector.clone()),
                ..c
            })
            .collect();
        let state = PodTopologySpread.prepare(&incoming, &refs);
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| PodTopologySpread.score_with(&state, &incoming, n))
            .collect();
        PodTopologySpread.normalize(&mut scores);
        assert_eq!(scores, [0, 100], "the host without a web pod is preferred");
    }
}
