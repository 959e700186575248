//! Where a DaemonSet's pods belong, as upstream's `NodeShouldRunDaemonPod`: a node should run
//! the pod when it matches the pod's node selector and required node affinity and every
//! `NoSchedule`/`NoExecute` taint is tolerated; a pod already there may stay as long as the
//! `NoExecute` taints are tolerated. Daemon pods tolerate what upstream adds to them (a node
//! not ready, unreachable, under pressure or cordoned keeps its daemons).

use gantry_client::predicates::{term_matches, tolerates};
use k8s_openapi::api::core::v1::{Node, PodSpec, Toleration};
use serde_json::json;

/// Upstream's daemon tolerations (`AddOrUpdateDaemonPodTolerations`); the network one only
/// for host-network pods.
pub fn daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut list = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        list.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    list.into_iter()
        .map(|(key, effect)| Toleration {
            key: Some(key.to_owned()),
            operator: Some("Exists".to_owned()),
            effect: Some(effect.to_owned()),
            ..Toleration::default()
        })
        .collect()
}

/// The template's spec as a daemon pod on `node`: daemon tolerations added (those already
/// there kept), and required node affinity replaced by the node's name, as upstream binds daemon
/// pods through the scheduler.
pub fn pod_spec_for(template: &PodSpec, node: &str) -> PodSpec {
    let mut spec = template.clone();
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for toleration in daemon_tolerations(template.host_network.unwrap_or(false)) {
        let present = tolerations
            .iter()
            .any(|t| t.key == toleration.key && t.effect == toleration.effect);
        if !present {
            tolerations.push(toleration);
        }
    }
    let affinity = spec.affinity.get_or_insert_with(Default::default);
    let node_affinity = affinity.node_affinity.get_or_insert_with(Default::default);
    node_affinity.required_during_scheduling_ignored_during_execution = serde_json::from_value(json!({
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}],
    }))
    .ok();
    spec
}

/// `(should run, may continue running)` for the template's pod on `node`.
pub fn fits(template: &PodSpec, node: &Node) -> (bool, bool) {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let selector_ok = template
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let affinity_ok = template
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_none_or(|r| {
            r.node_selector_terms
                .iter()
                .any(|t| term_matches(t, &labels, name))
        });
    if !selector_ok || !affinity_ok {
        return (false, false);
    }
    let mut tolerations = template.tolerations.clone().unwrap_or_default();
    tolerations.extend(daemon_tolerations(template.host_network.unwrap_or(false)));
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let untolerated = |effect: &str| {
        taints
            .iter()
            .filter(|t| t.effect == effect)
            .any(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
    };
    let execute_ok = !untolerated("NoExecute");
    (execute_ok && !untolerated("NoSchedule"), execute_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": "n", "labels": labels}, "spec": {"taints": taints}}),
        )
        .unwrap()
    }

    fn spec(value: serde_json::Value) -> PodSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn selectors_and_taints_decide_and_daemons_tolerate_node_conditions() {
        let plain = spec(json!({"containers": []}));
        assert_eq!(fits(&plain, &node(json!({}), json!([]))), (true, true));
        let picky = spec(json!({"containers": [], "nodeSelector": {"disk": "ssd"}}));
        assert_eq!(
            fits(&picky, &node(json!({"disk": "hdd"}), json!([]))),
            (false, false)
        );
        let cordoned = node(
            json!({}),
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        );
        assert_eq!(
            fits(&plain, &cordoned),
            (true, true),
            "daemons run on cordoned nodes"
        );
        let dedicated = node(
            json!({}),
            json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
        );
        assert_eq!(
            fits(&plain, &dedicated),
            (false, true),
            "may stay, may not start"
        );
        let evicting = node(
            json!({}),
            json!([{"key": "dedicated", "value": "db", "effect": "NoExecute"}]),
        );
        assert_eq!(fits(&plain, &evicting), (false, false));
    }

    #[test]
    fn daemon_pods_are_pinned_to_their_node_by_affinity() {
        let pinned = pod_spec_for(&spec(json!({"containers": [], "hostNetwork": true})), "n1");
        let terms = &pinned
            .affinity
            .unwrap()
            .node_affinity
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .unwrap()
            .node_selector_terms;
        assert_eq!(
            terms[0].match_fields.as_ref().unwrap()[0].values,
            Some(vec!["n1".to_owned()])
        );
        assert_eq!(pinned.tolerations.unwrap().len(), 7);
    }
}
