//! NodeAffinity: `nodeSelector` and required node affinity decide where a pod may go (terms
//! are ORed, expressions within a term ANDed); preferred terms add their weights to a node's
//! score.

use crate::framework::{Plugin, Status, normalize_to_max};
use crate::info::{NodeInfo, PodInfo};
use k8s_openapi::api::core::v1::NodeSelectorTerm;

/// Upstream's message.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

/// Whether `node` satisfies one node selector term (an empty term matches nothing, as
/// upstream).
pub fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    gantry_client::predicates::term_matches(term, &node.labels, &node.name)
}

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let spec = pod.pod.spec.as_ref();
        let selector_ok = spec
            .and_then(|s| s.node_selector.as_ref())
            .is_none_or(|selector| selector.iter().all(|(k, v)| node.labels.get(k) == Some(v)));
        let required = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            });
        let affinity_ok =
            required.is_none_or(|r| r.node_selector_terms.iter().any(|t| term_matches(t, node)));
        if selector_ok && affinity_ok {
            Status::Success
        } else {
            Status::unresolvable(REASON)
        }
    }

    fn scores(&self) -> bool {
        true
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        pod.pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map_or(0, |terms| {
                terms
                    .iter()
                    .filter(|t| term_matches(&t.preference, node))
                    .map(|t| i64::from(t.weight))
                    .sum()
            })
    }

    fn normalize(&self, scores: &mut [i64]) {
        normalize_to_max(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, labels: serde_json::Value) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: std::sync::Arc::new(serde_json::from_value(labels).unwrap()),
            ..NodeInfo::default()
        }
    }

    fn pod(spec: serde_json::Value) -> PodInfo {
        PodInfo::new(serde_json::from_value(json!({"spec": spec})).unwrap())
    }

    #[test]
    fn node_selector_and_required_terms_filter() {
        let ssd = node("a", json!({"disk": "ssd", "zone": "z1"}));
        let hdd = node("b", json!({"disk": "hdd", "zone": "z2"}));
        let selector = pod(json!({"containers": [], "nodeSelector": {"disk": "ssd"}}));
        assert!(NodeAffinity.filter(&selector, &ssd).is_success());
        assert_eq!(
            NodeAffinity.filter(&selector, &hdd),
            Status::unresolvable(REASON)
        );
        let required = pod(
            json!({"containers": [], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}
            ]}}}}),
        );
        assert!(
            NodeAffinity.filter(&required, &ssd).is_success(),
            "the second term matches by name"
        );
        assert!(
            NodeAffinity.filter(&required, &hdd).is_success(),
            "the first term matches by zone"
        );
        assert!(
            !NodeAffinity
                .filter(&required, &node("c", json!({"zone": "z3"})))
                .is_success()
        );
    }

    #[test]
    fn preferred_terms_score_by_weight() {
        let pod = pod(
            json!({"containers": [], "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 80, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
                {"weight": 20, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2"]}]}}
            ]}}}),
        );
        let mut scores = [
            NodeAffinity.score(&pod, &node("a", json!({"disk": "ssd"}))),
            NodeAffinity.score(&pod, &node("b", json!({"zone": "z2"}))),
        ];
        NodeAffinity.normalize(&mut scores);
        assert_eq!(scores, [100, 25]);
    }
}
