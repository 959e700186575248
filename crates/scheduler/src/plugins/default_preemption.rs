//! DefaultPreemption, upstream's post-filter: when a pod fits nowhere, find a node where
//! removing pods of lower priority makes room, remove as few and as unimportant ones as
//! possible there, and nominate the node for the pod.
//!
//! Per node (only those whose refusal a change could fix): take away every lower-priority pod;
//! if the pod still does not fit, the node is no candidate. Otherwise give the pods back, most
//! important first — those whose PodDisruptionBudget would be violated before the others —
//! keeping each one that still leaves room; the rest are the victims. Among the candidates
//! (by default at least 10% of the nodes or 100, from a random offset) the best has the fewest budget
//! violations, then the lowest-priority most important victim, then the smallest sum of
//! priorities, then the fewest victims, then the most recently started most important victims.

use crate::algorithm::{self, FitError};
use crate::config::PreemptionArgs;
use crate::framework::{Reasons, State, Status};
use crate::info::{NodeInfo, PodEntry, PodInfo};
use crate::plugins::Weighted;
use crate::tally::Tally;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// The plugin's name, as in upstream's configuration.
pub const NAME: &str = "DefaultPreemption";

/// What preemption needs of a PodDisruptionBudget.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Its namespace (it covers pods there only).
    pub namespace: String,
    /// The pods it covers (none when absent or empty, as upstream).
    pub selector: Option<LabelSelector>,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

impl Budget {
    fn covers(&self, pod: &PodEntry) -> bool {
        let empty = self
            .selector
            .as_ref()
            .is_none_or(|s| s.match_labels.is_none() && s.match_expressions.is_none());
        !empty
            && pod.namespace == self.namespace
            && super::inter_pod_affinity::selects(self.selector.as_ref(), &pod.labels)
    }
}

/// A pod to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Victim {
    /// UID.
    pub uid: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Priority.
    pub priority: i32,
    /// Start time (RFC 3339).
    pub start_time: String,
}

/// A node where preemption makes room, and at what cost.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The node.
    pub node: String,
    /// The pods to remove, most important first.
    pub victims: Vec<Victim>,
    /// How many of them a PodDisruptionBudget protects.
    pub budget_violations: usize,
}

const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// Why the pod may not preempt at all, if so (upstream's `PodEligibleToPreemptOthers`).
pub fn ineligible(pod: &PodInfo, nodes: &[&NodeInfo]) -> Option<&'static str> {
    let policy = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref());
    if policy == Some("Never") {
        return Some("not eligible due to preemptionPolicy=Never.");
    }
    // Victims of an earlier round are still leaving the nominated node: wait for them.
    let nominated = pod.nominated_node()?;
    let node = nodes.iter().find(|n| n.name == nominated)?;
    node.pods
        .values()
        .any(|p| p.terminating && p.priority < pod.priority)
        .then_some("not eligible due to a terminating pod on the nominated node.")
}

/// Whether a pod sorts before another when giving pods back: higher priority, then started
/// earlier (upstream's `MoreImportantPod`).
fn more_important(a: &PodEntry, b: &PodEntry) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| a.start_time.cmp(&b.start_time))
}

/// Chooses the victims on one node, or says why there are none.
fn victims_on(
    plugins: &[Weighted],
    states: &[State],
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    index: usize,
    budgets: &[Budget],
) -> Result<Candidate, Reasons> {
    let node = nodes[index];
    let mut lower: Vec<(&String, &PodEntry)> = node
        .pods
        .iter()
        .filter(|(_, p)| p.priority < pod.priority)
        .collect();
    if lower.is_empty() {
        return Err(smallvec::smallvec![NO_VICTIMS.into()]);
    }
    // Pod affinity and spreading look at the pods on nodes, across nodes: with them the trial
    // is a full copy of the node and state is recomputed for each trial; otherwise only what
    // the node's pods take matters, so the trial counts that alone (no copy of its pods).
    let relations = pod.has_pod_relations() || lower.iter().any(|(_, p)| p.affinity.is_some());
    let mut trial = if relations {
        node.clone()
    } else {
        node.without_pods()
    };
    let take = |trial: &mut NodeInfo, uid: &str, entry: &PodEntry| {
        if relations {
            trial.remove_pod(uid);
        } else {
            trial.uncount(entry);
        }
    };
    let give = |trial: &mut NodeInfo, uid: &str, entry: &PodEntry| {
        if relations {
            trial.add_entry(uid, entry.clone());
        } else {
            trial.count(entry);
        }
    };
    for (uid, entry) in &lower {
        take(&mut trial, uid, entry);
    }
    // Pods already nominated here with at least this priority keep their room: two preemptors
    // must not count on the same victims.
    for (uid, entry) in &node.nominated {
        if *uid != pod.uid && entry.priority >= pod.priority {
            give(&mut trial, uid, entry);
        }
    }
    let fits = |trial: &NodeInfo| {
        if !relations {
            return algorithm::filter(plugins, states, pod, trial);
        }
        let mut view: Vec<&NodeInfo> = nodes.to_vec();
        view[index] = trial;
        match algorithm::prepare(plugins, pod, &view) {
            Ok(fresh) => algorithm::filter(plugins, &fresh, pod, trial),
            Err(e) => Status::unresolvable(e.message),
        }
    };
    let status = fits(&trial);
    if !status.is_success() {
        return Err(status.into_reasons());
    }
    lower.sort_by(|a, b| more_important(a.1, b.1));
    // Budgets are spent in importance order; a pod past its budget's allowance violates it.
    let mut allowed: Vec<i32> = budgets.iter().map(|b| b.disruptions_allowed).collect();
    let (mut violating, mut other) = (Vec::new(), Vec::new());
    for (uid, entry) in lower {
        let mut violates = false;
        for (budget, left) in budgets.iter().zip(allowed.iter_mut()) {
            if budget.covers(entry) {
                *left -= 1;
                violates |= *left < 0;
            }
        }
        if violates {
            violating.push((uid, entry));
        } else {
            other.push((uid, entry));
        }
    }
    let mut victims = Vec::new();
    let mut budget_violations = 0;
    for (group, is_violating) in [(violating, true), (other, false)] {
        for (uid, entry) in group {
            give(&mut trial, uid, entry);
            if !fits(&trial).is_success() {
                take(&mut trial, uid, entry);
                budget_violations += usize::from(is_violating);
                victims.push(Victim {
                    uid: uid.clone(),
                    namespace: entry.namespace.clone(),
                    name: entry.name.clone(),
                    priority: entry.priority,
                    start_time: entry.start_time.clone(),
                });
            }
        }
    }
    victims.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.start_time.cmp(&b.start_time))
    });
    Ok(Candidate {
        node: node.name.clone(),
        victims,
        budget_violations,
    })
}

/// Upstream's tie-breaking order among candidates (smaller is better).
fn cost(c: &Candidate) -> (usize, i64, i64, usize, std::cmp::Reverse<String>) {
    let highest = c
        .victims
        .first()
        .map_or(i64::from(i32::MIN), |v| i64::from(v.priority));
    // Shifted so that negative priorities still add up to a larger cost for more pods.
    let sum: i64 = c
        .victims
        .iter()
        .map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1)
        .sum();
    let earliest_of_highest = c
        .victims
        .iter()
        .filter(|v| i64::from(v.priority) == highest)
        .map(|v| v.start_time.clone())
        .min()
        .unwrap_or_default();
    (
        c.budget_violations,
        highest,
        sum,
        c.victims.len(),
        std::cmp::Reverse(earliest_of_highest),
    )
}

/// Finds where `pod` can preempt, after `fit` said it fits nowhere. The error is the part of
/// the message after `preemption: `.
pub fn preempt(
    plugins: &[Weighted],
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    fit: &FitError,
    budgets: &[Budget],
    (offset, args): (usize, PreemptionArgs),
) -> Result<Candidate, String> {
    let states = algorithm::prepare(plugins, pod, nodes).map_err(|e| e.message)?;
    preempt_with(plugins, &states, pod, nodes, fit, budgets, (offset, args))
}

/// `preempt`, given the failed attempt's state from `prepare` (computed from the same nodes).
pub fn preempt_with(
    plugins: &[Weighted],
    states: &[State],
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    fit: &FitError,
    budgets: &[Budget],
    (offset, args): (usize, PreemptionArgs),
) -> Result<Candidate, String> {
    if let Some(reason) = ineligible(pod, nodes) {
        return Err(reason.to_owned());
    }
    let total = nodes.len();
    let mut reasons = Tally::default();
    let not_helpful = total.saturating_sub(fit.resolvable.len());
    if not_helpful > 0 {
        reasons.add(NOT_HELPFUL.into(), not_helpful);
    }
    let wanted = (total * args.min_candidate_nodes_percentage / 100)
        .max(args.min_candidate_nodes_absolute)
        .clamp(1, fit.resolvable.len().max(1));
    let mut candidates = Vec::new();
    let count = fit.resolvable.len();
    for i in 0..count {
        let at = fit.resolvable[(offset + i) % count];
        match victims_on(plugins, states, pod, nodes, at, budgets) {
            Ok(candidate) => {
                candidates.push(candidate);
                if candidates.len() >= wanted {
                    break;
                }
            }
            Err(failed) => {
                reasons.add_all(failed);
            }
        }
    }
    candidates
        .into_iter()
        .min_by_key(cost)
        .ok_or_else(|| reasons.message(total))
}

#[cfg(test)]
mod tests;
