//! The scheduling framework: plugins with a name, implementing the extension points they
//! take part in, and the statuses that tell a plain failure (`Unschedulable`: another node or a
//! later attempt may do) from one nothing but a change to the pod can fix
//! (`UnschedulableAndUnresolvable`) and from an error.
//!
//! The cycle: pre-filter (once per pod) → filter (per node) → pre-score (`prepare`) → score
//! (per feasible node) → normalize → pick; when nothing fits, post-filter (DefaultPreemption);
//! then reserve (plugins, then the cache assumes the pod), permit, and — off the scheduling
//! thread — pre-bind and bind (through `pods/binding`). A failure after reserve un-reserves in
//! reverse order. Plugins implement the points they need; the rest default to "no opinion".

use crate::info::{NodeInfo, PodInfo};

/// Why a node refuses a pod, as users read it: mostly fixed text, so borrowed (a failing node
/// costs no allocation), owned where it names something (a taint).
pub type Reason = std::borrow::Cow<'static, str>;

/// A refusal's reasons: nearly always one, kept inline (a node refusing a pod allocates
/// nothing — a failing attempt refuses on every node).
pub type Reasons = smallvec::SmallVec<[Reason; 1]>;

/// The outcome of a plugin at one extension point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Go on.
    Success,
    /// Not on this node now; each reason is counted in the pod's failure message.
    Unschedulable(Reasons),
    /// Not on this node whatever else changes (preemption will not help here).
    UnschedulableAndUnresolvable(Reasons),
    /// The plugin failed.
    Error(String),
}

impl Status {
    /// Unschedulable for one reason.
    pub fn unschedulable(reason: impl Into<Reason>) -> Self {
        Status::Unschedulable(smallvec::smallvec![reason.into()])
    }

    /// Unschedulable and unresolvable for one reason.
    pub fn unresolvable(reason: impl Into<Reason>) -> Self {
        Status::UnschedulableAndUnresolvable(smallvec::smallvec![reason.into()])
    }

    /// Whether scheduling may go on.
    pub fn is_success(&self) -> bool {
        matches!(self, Status::Success)
    }

    /// The reasons shown to users, taken out of the status.
    pub fn into_reasons(self) -> Reasons {
        match self {
            Status::Success => Reasons::new(),
            Status::Unschedulable(r) | Status::UnschedulableAndUnresolvable(r) => r,
            Status::Error(e) => smallvec::smallvec![Reason::Owned(e)],
        }
    }

    /// The reasons shown to users.
    pub fn reasons(&self) -> Vec<Reason> {
        match self {
            Status::Success => Vec::new(),
            Status::Unschedulable(r) | Status::UnschedulableAndUnresolvable(r) => r.to_vec(),
            Status::Error(e) => vec![Reason::Owned(e.clone())],
        }
    }
}

/// The highest score a plugin gives a node, as upstream's `MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;

/// What a plugin computed once for one scheduling attempt, to read for every node (upstream's
/// cycle state, one slot per plugin).
pub type State = Option<Box<dyn std::any::Any + Send + Sync>>;

/// A scheduling plugin.
pub trait Plugin: Send + Sync + std::fmt::Debug {
    /// The plugin's name, as in upstream's configuration (`NodeResourcesFit`, ...).
    fn name(&self) -> &'static str;

    /// Checks the pod once before any node; a failure ends the attempt.
    fn pre_filter(&self, _pod: &PodInfo) -> Status {
        Status::Success
    }

    /// Computes, from every node, what filtering and scoring this pod will need (the part of
    /// pre-filter that looks at the whole cluster).
    fn prepare(&self, _pod: &PodInfo, _nodes: &[&NodeInfo]) -> State {
        None
    }

    /// Whether the pod can run on the node.
    fn filter(&self, _pod: &PodInfo, _node: &NodeInfo) -> Status {
        Status::Success
    }

    /// `filter`, given what `prepare` computed.
    fn filter_with(&self, _state: &State, pod: &PodInfo, node: &NodeInfo) -> Status {
        self.filter(pod, node)
    }

    /// Whether this plugin scores nodes.
    fn scores(&self) -> bool {
        false
    }

    /// A node's raw score for the pod.
    fn score(&self, _pod: &PodInfo, _node: &NodeInfo) -> i64 {
        0
    }

    /// `score`, given what `prepare` computed.
    fn score_with(&self, _state: &State, pod: &PodInfo, node: &NodeInfo) -> i64 {
        self.score(pod, node)
    }

    /// Brings raw scores into 0..=MAX_NODE_SCORE (when the plugin's raw scores are not).
    fn normalize(&self, _scores: &mut [i64]) {}

    /// Sets aside what the pod will use on the chosen node before it is bound.
    fn reserve(&self, _pod: &PodInfo, _node: &str) -> Status {
        Status::Success
    }

    /// Undoes `reserve` when a later step fails.
    fn unreserve(&self, _pod: &PodInfo, _node: &str) {}

    /// Lets the binding go ahead, or refuses it.
    fn permit(&self, _pod: &PodInfo, _node: &str) -> Status {
        Status::Success
    }

    /// Prepares the binding (runs off the scheduling thread, just before it).
    fn pre_bind(&self, _pod: &PodInfo, _node: &str) -> Status {
        Status::Success
    }
}

/// Upstream's min–max normalization: the lowest score becomes 0 and the highest
/// MAX_NODE_SCORE (reversed: the lowest is best); when all are equal, each gets `all_equal`.
pub fn normalize_min_max(scores: &mut [i64], reverse: bool, all_equal: i64) {
    let (min, max) = (
        scores.iter().copied().min().unwrap_or(0),
        scores.iter().copied().max().unwrap_or(0),
    );
    for score in scores.iter_mut() {
        *score = if max == min {
            all_equal
        } else if reverse {
            (max - *score) * MAX_NODE_SCORE / (max - min)
        } else {
            (*score - min) * MAX_NODE_SCORE / (max - min)
        };
    }
}

/// Scales scores so that the highest is MAX_NODE_SCORE (reversed: the lowest is), as upstream's
/// default normalizer.
pub fn normalize_to_max(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for score in scores.iter_mut() {
        *score = *score * MAX_NODE_SCORE / max;
        if reverse {
            *score = MAX_NODE_SCORE - *score;
        }
    }
}
