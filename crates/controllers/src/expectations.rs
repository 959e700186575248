//! Expectations, as upstream's controllers keep them: after a controller creates or deletes
//! children, its informer has not seen them yet, and counting from the cache would create or
//! delete the same children again. So it records how many creations and deletions it expects
//! and does not manage replicas again until the informer has seen them all — or five minutes
//! have passed (a watch event lost for good must not stall the controller forever).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream's `ExpectationsTimeout`.
pub const TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Expected {
    adds: i64,
    deletes: HashSet<String>,
    since: Instant,
}

/// Expectations per controller key (`namespace/name` of the owner).
#[derive(Debug, Default)]
pub struct Expectations {
    by_key: Mutex<HashMap<String, Expected>>,
}

impl Expectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expected>> {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the controller may count from its cache: nothing outstanding, nothing recorded,
    /// or the record is too old to trust.
    pub fn satisfied(&self, key: &str) -> bool {
        self.lock()
            .get(key)
            .is_none_or(|e| (e.adds <= 0 && e.deletes.is_empty()) || e.since.elapsed() > TIMEOUT)
    }

    /// Records `adds` creations about to be made (replacing what was recorded).
    pub fn expect_creations(&self, key: &str, adds: usize) {
        self.lock().insert(
            key.to_owned(),
            Expected {
                adds: i64::try_from(adds).unwrap_or(i64::MAX),
                deletes: HashSet::new(),
                since: Instant::now(),
            },
        );
    }

    /// Records deletions about to be made, by the children's UIDs.
    pub fn expect_deletions(&self, key: &str, uids: impl IntoIterator<Item = String>) {
        self.lock().insert(
            key.to_owned(),
            Expected {
                adds: 0,
                deletes: uids.into_iter().collect(),
                since: Instant::now(),
            },
        );
    }

    /// A child the controller created was seen (or its creation failed).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// A child was seen deleted (or its deletion failed, or is no longer needed).
    pub fn deletion_observed(&self, key: &str, uid: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.deletes.remove(uid);
        }
    }

    /// Forgets the owner (it was deleted).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// Routes a change of a child pod to its controller (of kind `K`): a creation or a deletion
/// (a deletion timestamp appearing counts, as upstream) is observed, and the controller is
/// queued.
pub fn observe_child<K: crate::informer::Kind>(
    owners: &crate::informer::Informer<K>,
    queue: &crate::queue::WorkQueue,
    expectations: &Expectations,
    old: Option<&k8s_openapi::api::core::v1::Pod>,
    new: Option<&k8s_openapi::api::core::v1::Pod>,
) {
    let Some(key) = new.or(old).and_then(|p| owners.controller_of(&p.metadata)) else {
        return;
    };
    let uid = |p: &k8s_openapi::api::core::v1::Pod| p.metadata.uid.clone().unwrap_or_default();
    match (old, new) {
        (None, Some(_)) => expectations.creation_observed(&key),
        (Some(before), Some(pod))
            if pod.metadata.deletion_timestamp.is_some()
                && before.metadata.deletion_timestamp.is_none() =>
        {
            expectations.deletion_observed(&key, &uid(pod));
        }
        (Some(pod), None) => expectations.deletion_observed(&key, &uid(pod)),
        _ => {}
    }
    queue.add(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsatisfied_until_every_expected_child_is_seen() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"), "nothing recorded");
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        e.expect_deletions("ns/rs", ["u1".to_owned(), "u2".to_owned()]);
        e.deletion_observed("ns/rs", "u1");
        e.deletion_observed("ns/rs", "u1");
        assert!(!e.satisfied("ns/rs"), "u2 is still expected to go");
        e.deletion_observed("ns/rs", "u2");
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 1);
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}
