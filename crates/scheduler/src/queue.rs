//! The scheduling queue, as upstream's: an *active* queue ordered by priority (then by when
//! the pod arrived), a *back-off* queue for pods that just failed (1 s, doubling to 10 s), and
//! an *unschedulable* set of pods that wait for a cluster change (a node added or changed, a
//! pod removed) — or at most five minutes — before they are tried again. When nothing is
//! active, the pod whose back-off ends first is tried at once (upstream 1.33's
//! `SchedulerPopFromBackoffQ`, on by default) — unless it backs off after an error, which it
//! serves in full.

use crate::info::PodInfo;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Upstream's initial back-off.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Upstream's longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long an unschedulable pod waits without a cluster change.
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(300);

struct Entry {
    priority: i32,
    seq: u64,
    pod: PodInfo,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Higher priority first, then earlier arrival.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
struct State {
    active: BinaryHeap<Entry>,
    /// UIDs in the active heap (entries of pods since removed are skipped when popped).
    in_active: HashMap<String, u64>,
    backoff: HashMap<String, (Instant, PodInfo)>,
    unschedulable: HashMap<String, (Instant, PodInfo)>,
    attempts: HashMap<String, u32>,
    /// Pods popped and not yet reported back (scheduled or failed).
    in_flight: std::collections::HashSet<String>,
    /// Pods in back-off after an error (not an unschedulable attempt).
    after_error: std::collections::HashSet<String>,
    seq: u64,
}

impl State {
    fn push_active(&mut self, pod: PodInfo) {
        self.seq += 1;
        self.in_active.insert(pod.uid.clone(), self.seq);
        self.active.push(Entry {
            priority: pod.priority,
            seq: self.seq,
            pod,
        });
    }

    /// The pod in back-off after an unschedulable attempt whose back-off ends first.
    fn take_earliest_backoff(&mut self) -> Option<PodInfo> {
        let uid = self
            .backoff
            .iter()
            .filter(|(uid, _)| !self.after_error.contains(*uid))
            .min_by_key(|(uid, (since, _))| *since + self.backoff_for(uid))
            .map(|(uid, _)| uid.clone())?;
        self.backoff.remove(&uid).map(|(_, pod)| pod)
    }

    fn backoff_for(&self, uid: &str) -> Duration {
        let attempts = self.attempts.get(uid).copied().unwrap_or(1).max(1);
        let factor = 1u32 << (attempts - 1).min(8);
        (INITIAL_BACKOFF * factor).min(MAX_BACKOFF)
    }
}

/// The queue.
#[derive(Default)]
pub struct Queue {
    state: Mutex<State>,
    ready: Notify,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a pod to schedule, or updates the one queued (a changed pod is tried again now).
    pub fn add(&self, pod: PodInfo) {
        let mut state = self.lock();
        state.backoff.remove(&pod.uid);
        state.unschedulable.remove(&pod.uid);
        state.push_active(pod);
        drop(state);
        self.ready.notify_one();
    }

    /// A new or changed pod from the watch: queued if new; moved back to active if its spec
    /// changed while it waited; otherwise only its stored copy is refreshed (a status write
    /// alone does not make a pod schedulable).
    pub fn update(&self, pod: PodInfo) {
        let mut state = self.lock();
        if state.in_flight.contains(&pod.uid) || state.in_active.contains_key(&pod.uid) {
            return;
        }
        let spec_changed = |old: &PodInfo| old.pod.spec != pod.pod.spec;
        let waiting = state
            .backoff
            .get(&pod.uid)
            .or_else(|| state.unschedulable.get(&pod.uid))
            .map(|(_, old)| spec_changed(old));
        match waiting {
            Some(false) => {
                let uid = pod.uid.clone();
                if let Some(entry) = state.backoff.get_mut(&uid) {
                    entry.1 = pod;
                } else if let Some(entry) = state.unschedulable.get_mut(&uid) {
                    entry.1 = pod;
                }
            }
            Some(true) | None => {
                state.backoff.remove(&pod.uid);
                state.unschedulable.remove(&pod.uid);
                state.push_active(pod);
                drop(state);
                self.ready.notify_one();
            }
        }
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn remove(&self, uid: &str) {
        let mut state = self.lock();
        state.in_active.remove(uid);
        state.in_flight.remove(uid);
        state.backoff.remove(uid);
        state.unschedulable.remove(uid);
        state.attempts.remove(uid);
        state.after_error.remove(uid);
    }

    /// Whether the pod is waiting anywhere in the queue (or being scheduled).
    pub fn contains(&self, uid: &str) -> bool {
        let state = self.lock();
        state.in_flight.contains(uid)
            || state.in_active.contains_key(uid)
            || state.backoff.contains_key(uid)
            || state.unschedulable.contains_key(uid)
    }

    /// Records a failed attempt: the pod waits for a cluster change when no node fits
    /// (`unschedulable`), or backs off after an error.
    pub fn failed(&self, pod: PodInfo, unschedulable: bool) {
        let mut state = self.lock();
        state.in_flight.remove(&pod.uid);
        *state.attempts.entry(pod.uid.clone()).or_default() += 1;
        let uid = pod.uid.clone();
        if unschedulable {
            state.after_error.remove(&uid);
            state.unschedulable.insert(uid, (Instant::now(), pod));
        } else {
            state.after_error.insert(uid.clone());
            state.backoff.insert(uid, (Instant::now(), pod));
        }
    }

    /// Forgets the attempts of a pod that was scheduled.
    pub fn done(&self, uid: &str) {
        let mut state = self.lock();
        state.attempts.remove(uid);
        state.in_flight.remove(uid);
    }

    /// A cluster change that may make waiting pods schedulable: they go to back-off (those
    /// still backing off) or straight to active.
    pub fn move_all(&self) {
        let mut state = self.lock();
        let waiting: Vec<(String, (Instant, PodInfo))> = state.unschedulable.drain().collect();
        for (uid, entry) in waiting {
            state.backoff.insert(uid, entry);
        }
        drop(state);
        self.ready.notify_one();
    }

    /// Moves pods whose back-off is over, and pods unschedulable for too long, to active.
    pub fn flush(&self, now: Instant) {
        let mut state = self.lock();
        let due: Vec<String> = state
            .backoff
            .iter()
            .filter(|(uid, (since, _))| now.duration_since(*since) >= state.backoff_for(uid))
            .map(|(uid, _)| uid.clone())
            .collect();
        let stale: Vec<String> = state
            .unschedulable
            .iter()
            .filter(|(_, (since, _))| now.duration_since(*since) >= MAX_UNSCHEDULABLE)
            .map(|(uid, _)| uid.clone())
            .collect();
        let mut moved = false;
        for uid in due {
            state.after_error.remove(&uid);
            if let Some((_, pod)) = state.backoff.remove(&uid) {
                state.push_active(pod);
                moved = true;
            }
        }
        for uid in stale {
            if let Some((_, pod)) = state.unschedulable.remove(&uid) {
                state.push_active(pod);
                moved = true;
            }
        }
        drop(state);
        if moved {
            self.ready.notify_one();
        }
    }

    /// The next pod to schedule, waiting for one.
    pub async fn pop(&self) -> PodInfo {
        loop {
            let notified = self.ready.notified();
            {
                let mut state = self.lock();
                while let Some(entry) = state.active.pop() {
                    if state.in_active.get(&entry.pod.uid) == Some(&entry.seq) {
                        state.in_active.remove(&entry.pod.uid);
                        state.in_flight.insert(entry.pod.uid.clone());
                        return entry.pod;
                    }
                }
                if let Some(pod) = state.take_earliest_backoff() {
                    state.in_flight.insert(pod.uid.clone());
                    return pod;
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(uid: &str, priority: i32) -> PodInfo {
        PodInfo::new(
            serde_json::from_value(json!({
                "metadata": {"name": uid, "namespace": "d", "uid": uid},
                "spec": {"containers": [], "priority": priority}
            }))
            .unwrap(),
        )
    }

    #[tokio::test]
    async fn higher_priority_first_then_arrival_order() {
        let queue = Queue::default();
        queue.add(pod("low", 0));
        queue.add(pod("high", 100));
        queue.add(pod("low-2", 0));
        assert_eq!(queue.pop().await.uid, "high");
        assert_eq!(queue.pop().await.uid, "low");
        assert_eq!(queue.pop().await.uid, "low-2");
    }

    #[tokio::test]
    async fn failed_pods_back_off_and_wait_for_changes() {
        let queue = Queue::default();
        let start = Instant::now();
        queue.failed(pod("err", 0), false);
        queue.failed(pod("unsched", 0), true);
        queue.flush(start);
        assert!(
            !queue.lock().in_active.contains_key("err"),
            "still backing off"
        );
        let later = Instant::now() + INITIAL_BACKOFF;
        queue.flush(later);
        assert_eq!(queue.pop().await.uid, "err");
        queue.flush(later + Duration::from_secs(60));
        assert!(queue.contains("unsched") && !queue.lock().in_active.contains_key("unsched"));
        queue.move_all();
        queue.flush(Instant::now() + INITIAL_BACKOFF);
        assert_eq!(queue.pop().await.uid, "unsched");
    }

    #[test]
    fn back_off_doubles_to_ten_seconds() {
        let queue = Queue::default();
        let mut state = queue.lock();
        let mut seen = Vec::new();
        for attempts in 1..=6 {
            state.attempts.insert("p".into(), attempts);
            seen.push(state.backoff_for("p").as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn removed_pods_are_not_popped() {
        let queue = Queue::default();
        queue.add(pod("gone", 0));
        queue.remove("gone");
        assert!(!queue.contains("gone"));
    }

    #[tokio::test]
    async fn an_idle_queue_tries_backed_off_pods_at_once_but_not_after_errors() {
        let queue = Queue::default();
        queue.failed(pod("err", 0), false);
        let early = tokio::time::timeout(Duration::from_millis(50), queue.pop()).await;
        assert!(
            early.is_err(),
            "a pod backing off after an error waits its back-off out"
        );
        queue.failed(pod("unsched", 0), true);
        queue.move_all();
        let popped = tokio::time::timeout(Duration::from_millis(50), queue.pop()).await;
        assert_eq!(
            popped.unwrap().uid,
            "unsched",
            "nothing active: no need to wait"
        );
        // With work active, back-off is served.
        queue.failed(pod("again", 0), true);
        queue.move_all();
        queue.add(pod("new", 0));
        assert_eq!(queue.pop().await.uid, "new");
    }
}
