//! NodeAffinity: `nodeSelector` and required node affinity decide where a pod may go (terms
//! are ORed, expressions within a term ANDed); preferred terms add their weights to a node's
//! score.

use crate::framework::{Plugin, Status, normalize_to_max};
use crate::info::{NodeInfo, PodInfo};
use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};

/// Upstream's message.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

fn requirement_matches(requirement: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = requirement.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(number), values.first().and_then(|x| number(x))), (Some(v), Some(x)) if v > x)
        }
        "Lt" => {
            matches!((value.and_then(number), values.first().and_then(|x| number(x))), (Some(v), Some(x)) if v < x)
        }
        _ => false,
    }
}

/// Whether `node` satisfies one node selector term (an empty term matches nothing, as
/// upstream).
pub fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|r| requirement_matches(r, node.labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(node.name.as_str());
            requirement_matches(r, value)
        })
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
    fn operators_follow_upstream() {
        let requirement = |op: &str, values: &[&str]| NodeSelectorRequirement {
            key: "k".into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        };
        assert!(requirement_matches(&requirement("NotIn", &["a"]), None));
        assert!(requirement_matches(&requirement("Gt", &["5"]), Some("7")));
        assert!(!requirement_matches(&requirement("Lt", &["5"]), Some("7")));
        assert!(requirement_matches(&requirement("DoesNotExist", &[]), None));
        assert!(!requirement_matches(&requirement("Exists", &[]), None));
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
