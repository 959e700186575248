//! The work queue every controller takes keys from, as upstream's rate-limited work queue:
//! a key queued several times is reconciled once; a key is never reconciled by two workers at
//! once (queued again while in progress, it comes back after `done`); a key that failed comes
//! back after a per-key back-off (5 ms doubling to 1,000 s, upstream's controller default)
//! until it succeeds and is forgotten.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Upstream's first retry delay for a failing key.
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// Upstream's longest retry delay.
pub const MAX_DELAY: Duration = Duration::from_secs(1000);

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    /// Keys waiting to be reconciled (queued, or to be queued again when `done`).
    dirty: HashSet<String>,
    /// Keys a worker holds.
    processing: HashSet<String>,
    /// Failures in a row, per key.
    failures: HashMap<String, u32>,
}

/// The queue.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    ready: Notify,
}

impl std::fmt::Debug for WorkQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkQueue").finish_non_exhaustive()
    }
}

impl WorkQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a key (once, however often it is added before a worker takes it).
    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut state = self.lock();
        if !state.dirty.insert(key.clone()) {
            return;
        }
        if !state.processing.contains(&key) {
            state.queue.push_back(key);
            drop(state);
            self.ready.notify_one();
        }
    }

    /// Queues a key after `delay`.
    pub fn add_after(self: &Arc<Self>, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let queue = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(key);
        });
    }

    /// Queues a key that failed, after its back-off.
    pub fn add_rate_limited(self: &Arc<Self>, key: impl Into<String>) {
        let key = key.into();
        let delay = {
            let mut state = self.lock();
            let failures = state.failures.entry(key.clone()).or_default();
            *failures += 1;
            backoff(*failures)
        };
        self.add_after(key, delay);
    }

    /// Forgets a key's failures (it succeeded).
    pub fn forget(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// How many times in a row the key failed.
    pub fn failures(&self, key: &str) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key to reconcile; the caller must call `done` with it.
    pub async fn get(&self) -> String {
        loop {
            let ready = self.ready.notified();
            {
                let mut state = self.lock();
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    // Others may be waiting for keys still queued.
                    if !state.queue.is_empty() {
                        self.ready.notify_one();
                    }
                    return key;
                }
            }
            ready.await;
        }
    }

    /// Ends the work on a key; queued again meanwhile, it goes back in line.
    pub fn done(&self, key: &str) {
        let mut state = self.lock();
        state.processing.remove(key);
        if state.dirty.contains(key) {
            state.queue.push_back(key.to_owned());
            drop(state);
            self.ready.notify_one();
        }
    }

    /// How many keys wait.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no key waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The delay before the `failures`-th retry.
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    BASE_DELAY.saturating_mul(1u32 << exponent).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_added_twice_is_handed_out_once() {
        let queue = WorkQueue::default();
        queue.add("a");
        queue.add("b");
        queue.add("a");
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.get().await, "a");
        assert_eq!(queue.get().await, "b");
        assert!(queue.is_empty());
    }

    #[tokio::test]
    async fn a_key_in_progress_comes_back_only_after_done() {
        let queue = WorkQueue::default();
        queue.add("a");
        let key = queue.get().await;
        queue.add("a");
        assert!(queue.is_empty(), "not handed to a second worker meanwhile");
        queue.done(&key);
        assert_eq!(queue.get().await, "a");
        queue.done("a");
        assert!(queue.is_empty());
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(2), Duration::from_millis(10));
        assert_eq!(backoff(11), Duration::from_millis(5120));
        assert_eq!(backoff(40), MAX_DELAY);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_key_returns_after_its_back_off_and_is_forgotten_on_success() {
        let queue = Arc::new(WorkQueue::default());
        queue.add_rate_limited("a");
        queue.add_rate_limited("a");
        assert_eq!(queue.failures("a"), 2);
        tokio::task::yield_now().await;
        assert!(queue.is_empty(), "not before the back-off");
        assert_eq!(queue.get().await, "a");
        queue.done("a");
        queue.forget("a");
        assert_eq!(queue.failures("a"), 0);
    }
}
