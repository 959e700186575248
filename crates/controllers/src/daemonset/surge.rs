//! The rolling update with `maxSurge` (upstream's surge mode): on a node running an old pod,
//! a new pod starts beside it — at once when the old one is not available anyway, otherwise
//! while fewer than `maxSurge` nodes are surging — and the old pod goes once the new one is
//! available, so that a node is never without an available daemon.

use k8s_openapi::api::core::v1::Pod;
use std::sync::Arc;

/// What to do now: the nodes that get a new pod, and the old pods to delete.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Nodes to create a pod of the current revision on.
    pub create: Vec<String>,
    /// Old pods whose replacement is available.
    pub delete: Vec<Arc<Pod>>,
}

/// The plan for `nodes` (each eligible node with its live pods).
pub fn plan(
    nodes: &[(String, Vec<Arc<Pod>>)],
    current: impl Fn(&Pod) -> bool,
    available: impl Fn(&Pod) -> bool,
    max_surge: i32,
) -> Plan {
    let mut plan = Plan::default();
    // Nodes already running an old and a new pod count against the surge.
    let mut surging = nodes
        .iter()
        .filter(|(_, pods)| pods.iter().any(|p| current(p)) && pods.iter().any(|p| !current(p)))
        .count() as i32;
    for (node, pods) in nodes {
        let new = pods.iter().find(|p| current(p));
        let old: Vec<&Arc<Pod>> = pods.iter().filter(|p| !current(p)).collect();
        if old.is_empty() {
            continue;
        }
        match new {
            Some(new) if available(new) => plan.delete.extend(old.into_iter().cloned()),
            Some(_) => {}
            None if !old.iter().any(|p| available(p)) => plan.create.push(node.clone()),
            None if surging < max_surge => {
                surging += 1;
                plan.create.push(node.clone());
            }
            None => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, revision: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(
                json!({"metadata": {"name": name, "labels": {"rev": revision}}}),
            )
            .unwrap(),
        )
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<&str> {
        pods.iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect()
    }

    #[test]
    fn new_pods_start_beside_old_ones_within_the_surge_and_old_ones_go_when_replaced() {
        let current = |p: &Pod| p.metadata.labels.as_ref().unwrap()["rev"] == "new";
        // A pod named `*-up` is available.
        let available = |p: &Pod| {
            p.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with("-up"))
        };
        let nodes = vec![
            ("a".to_owned(), vec![pod("a-old-up", "old")]),
            ("b".to_owned(), vec![pod("b-old-up", "old")]),
            ("c".to_owned(), vec![pod("c-old-down", "old")]),
            (
                "d".to_owned(),
                vec![pod("d-old-up", "old"), pod("d-new-up", "new")],
            ),
            ("e".to_owned(), vec![pod("e-new-up", "new")]),
        ];
        let plan = plan(&nodes, current, available, 2);
        // d surges already, so one more node (a) may; c's old pod serves nothing: at once.
        assert_eq!(plan.create, ["a", "c"]);
        assert_eq!(names(&plan.delete), ["d-old-up"]);
        let waiting = vec![(
            "d".to_owned(),
            vec![pod("d-old-up", "old"), pod("d-new-down", "new")],
        )];
        assert_eq!(
            super::plan(&waiting, current, available, 1),
            Plan::default()
        );
    }
}
