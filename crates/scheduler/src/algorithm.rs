//! One scheduling decision: pre-filter, filter every node (or, in large clusters, enough of
//! them, as upstream's `percentageOfNodesToScore`), score the feasible ones with every scoring
//! plugin (normalized, weighted), and pick the best (ties at random). A pod that fits nowhere
//! gets upstream's message: `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) didn't
//! match Pod's node affinity/selector.`

use crate::framework::{Reason, State, Status};
use crate::info::{NodeInfo, PodEntry, PodInfo};
use crate::plugins::Weighted;
use crate::tally::Tally;

/// Why a pod fits nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    /// The message users see.
    pub message: String,
    /// The nodes (positions in the list scheduled over) that refused the pod only for reasons
    /// a change there could fix (not `UnschedulableAndUnresolvable`): where preemption may help.
    pub resolvable: Vec<usize>,
}

/// Upstream's error when the cluster has no nodes at all.
fn no_nodes() -> FitError {
    FitError {
        message: "no nodes available to schedule pods".to_owned(),
        resolvable: Vec::new(),
    }
}

/// Upstream's rule for how many feasible nodes are enough: all below 100 nodes; otherwise
/// `50 − nodes/125` percent (at least 5%), and never fewer than 100.
pub fn feasible_nodes_to_find(nodes: usize, percentage: Option<u32>) -> usize {
    if nodes < 100 {
        return nodes;
    }
    let percent = match percentage {
        Some(p) if p > 0 => p.min(100) as usize,
        _ => 50usize.saturating_sub(nodes / 125).max(5),
    };
    (nodes * percent / 100).max(100).min(nodes)
}

/// Runs every plugin's pre-filter, then computes their per-attempt state.
pub fn prepare(
    plugins: &[Weighted],
    pod: &PodInfo,
    nodes: &[&NodeInfo],
) -> Result<Vec<State>, FitError> {
    if nodes.is_empty() {
        return Err(no_nodes());
    }
    for weighted in plugins.iter().filter(|w| w.filter) {
        let status = weighted.plugin.pre_filter(pod);
        if !status.is_success() {
            // Upstream states a pre-filter's refusal once, not counted per node.
            let reasons: Vec<String> = status.reasons().iter().map(|r| r.to_string()).collect();
            return Err(FitError {
                message: format!(
                    "0/{} nodes are available: {}.",
                    nodes.len(),
                    reasons.join(", ")
                ),
                resolvable: Vec::new(),
            });
        }
    }
    Ok(plugins
        .iter()
        .map(|w| w.plugin.prepare(pod, nodes))
        .collect())
}

/// The first filter that refuses the pod on the node, or success.
pub fn filter(plugins: &[Weighted], states: &[State], pod: &PodInfo, node: &NodeInfo) -> Status {
    plugins
        .iter()
        .zip(states)
        .filter(|(w, _)| w.filter)
        .map(|(w, state)| w.plugin.filter_with(state, pod, node))
        .find(|s| !s.is_success())
        .unwrap_or(Status::Success)
}

/// `filter`, counting the pods nominated onto the node with at least the pod's priority as if
/// they ran there already (as upstream does), so that preemption's room is not taken.
fn filter_nominated(
    plugins: &[Weighted],
    states: &[State],
    pod: &PodInfo,
    node: &NodeInfo,
) -> Status {
    // Upstream's two passes, without and with the nominated pods: the pod must fit both. A
    // node refusing it already needs no second pass (pods added never make room).
    let alone = filter(plugins, states, pod, node);
    if node.nominated.is_empty() || !alone.is_success() {
        return alone;
    }
    let ahead: Vec<&(String, PodEntry)> = node
        .nominated
        .iter()
        .filter(|(uid, entry)| *uid != pod.uid && entry.priority >= pod.priority)
        .collect();
    if ahead.is_empty() {
        return alone;
    }
    // Only pod relations need the nominated pods themselves; otherwise what they take will do.
    if pod.has_pod_relations() || ahead.iter().any(|(_, e)| e.affinity.is_some()) {
        let mut with = node.clone();
        for (uid, entry) in ahead {
            with.add_entry(uid, entry.clone());
        }
        return filter(plugins, states, pod, &with);
    }
    let mut with = node.without_pods();
    for (_, entry) in ahead {
        with.count(entry);
    }
    filter(plugins, states, pod, &with)
}

/// Reserve and permit for the chosen node: every plugin's reserve, then every permit; on the
/// first failure, what was reserved is un-reserved in reverse order and the failure returned.
pub fn reserve_and_permit(plugins: &[Weighted], pod: &PodInfo, node: &str) -> Result<(), Status> {
    let mut reserved = 0;
    let mut failure = None;
    for weighted in plugins {
        let status = weighted.plugin.reserve(pod, node);
        if !status.is_success() {
            failure = Some(status);
            break;
        }
        reserved += 1;
    }
    if failure.is_none() {
        failure = plugins
            .iter()
            .map(|w| w.plugin.permit(pod, node))
            .find(|s| !s.is_success());
    }
    match failure {
        None => Ok(()),
        Some(status) => {
            for weighted in plugins[..reserved].iter().rev() {
                weighted.plugin.unreserve(pod, node);
            }
            Err(status)
        }
    }
}

/// Every plugin's pre-bind, stopping at the first failure (after which all un-reserve).
pub fn pre_bind(plugins: &[Weighted], pod: &PodInfo, node: &str) -> Result<(), Status> {
    match plugins
        .iter()
        .map(|w| w.plugin.pre_bind(pod, node))
        .find(|s| !s.is_success())
    {
        None => Ok(()),
        Some(status) => {
            for weighted in plugins.iter().rev() {
                weighted.plugin.unreserve(pod, node);
            }
            Err(status)
        }
    }
}

/// Chooses a node for `pod` among `nodes`, starting the search at `start` (rotated between
/// pods so that partial searches spread out). A pod nominated to a node by an earlier
/// preemption takes it if it fits there now. Returns the node's name.
pub fn schedule(
    plugins: &[Weighted],
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    start: usize,
    percentage: Option<u32>,
) -> Result<String, FitError> {
    let states = prepare(plugins, pod, nodes)?;
    schedule_with(plugins, &states, pod, nodes, start, percentage)
}

/// `schedule`, given the attempt's state from `prepare` (which preemption reuses when the pod
/// fits nowhere).
pub fn schedule_with(
    plugins: &[Weighted],
    states: &[State],
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    start: usize,
    percentage: Option<u32>,
) -> Result<String, FitError> {
    let total = nodes.len();
    if total == 0 {
        return Err(no_nodes());
    }
    if let Some(nominated) = pod.nominated_node()
        && let Some(node) = nodes.iter().find(|n| n.name == nominated)
        && filter_nominated(plugins, states, pod, node).is_success()
    {
        return Ok(node.name.clone());
    }
    let wanted = feasible_nodes_to_find(total, percentage);
    let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(wanted.min(total));
    let mut reasons = Tally::default();
    let mut resolvable = Vec::new();
    for i in 0..total {
        let at = (start + i) % total;
        let node = nodes[at];
        match filter_nominated(plugins, states, pod, node) {
            Status::Success => {
                feasible.push(node);
                if feasible.len() >= wanted {
                    break;
                }
            }
            Status::Error(e) => reasons.add(Reason::Owned(e), 1),
            Status::Unschedulable(list) => {
                resolvable.push(at);
                reasons.add_all(list);
            }
            Status::UnschedulableAndUnresolvable(list) => reasons.add_all(list),
        }
    }
    if feasible.is_empty() {
        return Err(FitError {
            message: reasons.message(total),
            resolvable,
        });
    }
    if feasible.len() == 1 {
        return Ok(feasible[0].name.clone());
    }
    let mut totals = vec![0i64; feasible.len()];
    for (weighted, state) in plugins
        .iter()
        .zip(states)
        .filter(|(w, _)| w.plugin.scores() && w.weight > 0)
    {
        let mut scores: Vec<i64> = feasible
            .iter()
            .map(|n| weighted.plugin.score_with(state, pod, n))
            .collect();
        weighted.plugin.normalize(&mut scores);
        for (total, score) in totals.iter_mut().zip(scores) {
            *total += score * weighted.weight;
        }
    }
    let best = totals.iter().copied().max().unwrap_or(0);
    let ties: Vec<usize> = (0..feasible.len()).filter(|i| totals[*i] == best).collect();
    let pick = ties[fastrand::usize(..ties.len())];
    Ok(feasible[pick].name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::Resources;
    use crate::plugins::default_plugins;
    use serde_json::json;

    fn node(name: &str, cpu: i64, labels: serde_json::Value) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: std::sync::Arc::new(serde_json::from_value(labels).unwrap()),
            allocatable: Resources {
                milli_cpu: cpu,
                memory: 8 << 30,
                ephemeral_storage: 0,
                pods: 110,
            },
            ..NodeInfo::default()
        }
    }

    fn pod(spec: serde_json::Value) -> PodInfo {
        PodInfo::new(
            serde_json::from_value(
                json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": spec}),
            )
            .unwrap(),
        )
    }

    #[test]
    fn the_failure_message_counts_reasons_as_upstream() {
        let nodes = [
            node("a", 500, json!({})),
            node("b", 500, json!({})),
            node("c", 4000, json!({"disk": "hdd"})),
        ];
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let p = pod(
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}], "nodeSelector": {"disk": "ssd"}}),
        );
        let error = schedule(&default_plugins(), &p, &refs, 0, None).unwrap_err();
        assert_eq!(
            error.message,
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
        );
        let big =
            pod(json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]}));
        let error = schedule(&default_plugins(), &big, &refs[..2], 0, None).unwrap_err();
        assert_eq!(
            error.message,
            "0/2 nodes are available: 2 Insufficient cpu."
        );
    }

    #[test]
    fn the_emptier_node_wins() {
        let mut busy = node("busy", 4000, json!({}));
        busy.add_pod(
            "x",
            Resources {
                milli_cpu: 3000,
                memory: 1 << 30,
                ephemeral_storage: 0,
                pods: 1,
            },
            vec![],
        );
        let idle = node("idle", 4000, json!({}));
        let p =
            pod(json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m"}}}]}));
        for start in 0..2 {
            assert_eq!(
                schedule(&default_plugins(), &p, &[&busy, &idle], start, None).unwrap(),
                "idle"
            );
        }
    }

    #[test]
    fn large_clusters_score_a_share_of_their_nodes() {
        assert_eq!(feasible_nodes_to_find(50, None), 50);
        assert_eq!(feasible_nodes_to_find(1000, None), 420);
        assert_eq!(feasible_nodes_to_find(5000, None), 500);
        assert_eq!(feasible_nodes_to_find(5000, Some(100)), 5000);
    }

    /// A plugin that refuses at one point and records what it was asked.
    #[derive(Debug, Default)]
    struct Gate {
        refuse_permit: bool,
        log: std::sync::Mutex<Vec<String>>,
    }

    impl crate::framework::Plugin for Gate {
        fn name(&self) -> &'static str {
            "Gate"
        }
        fn reserve(&self, _pod: &PodInfo, node: &str) -> Status {
            self.log.lock().unwrap().push(format!("reserve {node}"));
            Status::Success
        }
        fn unreserve(&self, _pod: &PodInfo, node: &str) {
            self.log.lock().unwrap().push(format!("unreserve {node}"));
        }
        fn permit(&self, _pod: &PodInfo, _node: &str) -> Status {
            if self.refuse_permit {
                Status::unschedulable("not permitted")
            } else {
                Status::Success
            }
        }
    }

    #[test]
    fn a_refused_permit_unreserves_what_was_reserved() {
        let p = pod(json!({"containers": []}));
        let gate = std::sync::Arc::new(Gate {
            refuse_permit: true,
            ..Gate::default()
        });
        let plugins = vec![Weighted {
            plugin: gate.clone(),
            weight: 0,
            filter: true,
        }];
        assert_eq!(
            reserve_and_permit(&plugins, &p, "n"),
            Err(Status::unschedulable("not permitted"))
        );
        assert_eq!(*gate.log.lock().unwrap(), ["reserve n", "unreserve n"]);
        let open = std::sync::Arc::new(Gate::default());
        let plugins = vec![Weighted {
            plugin: open.clone(),
            weight: 0,
            filter: true,
        }];
        assert_eq!(reserve_and_permit(&plugins, &p, "n"), Ok(()));
        assert_eq!(pre_bind(&plugins, &p, "n"), Ok(()));
        assert_eq!(*open.log.lock().unwrap(), ["reserve n"]);
    }
}
