//! The in-memory multi-version index behind the embedded store.
//!
//! Every key keeps its versions in `mod_revision` order; a delete is a tombstone version. Beside
//! that, `changes` lists the keys each revision wrote, so a watch can replay history in revision
//! order without scanning every key. Both are trimmed by compaction.
//!
//! The committer applies transactions here before they are durable (so that later transactions
//! in the same group commit see them) but readers only look at revisions up to `visible`, which
//! moves after the `fdatasync`. If the sync fails, [`Index::rollback`] removes the pending ones.

use crate::{
    Condition, Error, Event, EventKind, KeySelector, KeyValue, Op, RangeRequest, RangeResponse,
    Result, Txn, TxnResponse,
};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

/// One version of a key. `value: None` is a tombstone (the key was deleted at `mod_revision`).
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub(crate) mod_revision: i64,
    pub(crate) create_revision: i64,
    pub(crate) version: i64,
    pub(crate) value: Option<Bytes>,
}

impl Version {
    fn to_kv(&self, key: &str) -> Option<KeyValue> {
        self.value.as_ref().map(|value| KeyValue {
            key: key.to_owned(),
            value: value.clone(),
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    keys: BTreeMap<Arc<str>, Vec<Version>>,
    /// `changes[i]` holds the keys written at revision `changes_base + i`, in op order.
    changes: VecDeque<Vec<Arc<str>>>,
    changes_base: i64,
    /// The last revision applied, durable or not.
    current: i64,
    /// The last revision that is durable; readers never see past it.
    visible: i64,
    compacted: i64,
}

impl Index {
    pub(crate) fn new() -> Self {
        Self {
            changes_base: 1,
            ..Self::default()
        }
    }

    pub(crate) fn current(&self) -> i64 {
        self.current
    }

    pub(crate) fn visible(&self) -> i64 {
        self.visible
    }

    pub(crate) fn compacted(&self) -> i64 {
        self.compacted
    }

    /// Makes every applied revision visible to readers.
    pub(crate) fn publish(&mut self) -> i64 {
        self.visible = self.current;
        self.visible
    }

    fn latest(&self, key: &str) -> Option<&Version> {
        self.keys.get(key).and_then(|versions| versions.last())
    }

    fn live(&self, key: &str) -> Option<&Version> {
        self.latest(key).filter(|v| v.value.is_some())
    }

    fn holds(&self, key: &str, condition: &Condition) -> bool {
        let live = self.live(key);
        match condition {
            Condition::Exists => live.is_some(),
            Condition::Absent => live.is_none(),
            Condition::ModRevision(r) => live.map_or(0, |v| v.mod_revision) == *r,
            Condition::Version(n) => live.map_or(0, |v| v.version) == *n,
        }
    }

    /// Evaluates and (if the compares hold) applies a validated transaction against the latest
    /// state, pending writes included. Returns the response and whether it wrote anything (only
    /// then does it take a revision and need logging).
    pub(crate) fn apply(&mut self, txn: &Txn) -> (TxnResponse, bool) {
        if !txn
            .compares
            .iter()
            .all(|c| self.holds(&c.key, &c.condition))
        {
            let current = txn
                .compares
                .iter()
                .filter_map(|c| self.live(&c.key).and_then(|v| v.to_kv(&c.key)))
                .collect();
            let response = TxnResponse {
                succeeded: false,
                revision: self.current,
                prev: Vec::new(),
                current,
            };
            return (response, false);
        }
        let prev: Vec<Option<KeyValue>> = txn
            .ops
            .iter()
            .map(|op| self.live(op.key()).and_then(|v| v.to_kv(op.key())))
            .collect();
        let wrote = self.apply_ops(&txn.ops);
        let response = TxnResponse {
            succeeded: true,
            revision: self.current,
            prev,
            current: Vec::new(),
        };
        (response, wrote)
    }

    /// Applies writes unconditionally at the next revision (also used to replay the log). A delete
    /// of an absent key writes nothing; the revision moves only if something was written.
    pub(crate) fn apply_ops(&mut self, ops: &[Op]) -> bool {
        let revision = self.current + 1;
        let mut written = Vec::new();
        for op in ops {
            let live = self.live(op.key()).cloned();
            let version = match op {
                Op::Put { value, .. } => Version {
                    mod_revision: revision,
                    create_revision: live.as_ref().map_or(revision, |v| v.create_revision),
                    version: live.as_ref().map_or(1, |v| v.version + 1),
                    value: Some(value.clone()),
                },
                Op::Delete { .. } if live.is_none() => continue,
                Op::Delete { .. } => Version {
                    mod_revision: revision,
                    create_revision: 0,
                    version: 0,
                    value: None,
                },
            };
            let key = match self.keys.get_key_value(op.key()) {
                Some((k, _)) => Arc::clone(k),
                None => Arc::from(op.key()),
            };
            self.keys.entry(Arc::clone(&key)).or_default().push(version);
            written.push(key);
        }
        if written.is_empty() {
            return false;
        }
        self.current = revision;
        self.changes.push_back(written);
        true
    }

    /// Removes every revision after `revision` (used when a group commit failed to sync).
    pub(crate) fn rollback(&mut self, revision: i64) {
        while self.current > revision {
            let Some(keys) = self.changes.pop_back() else {
                break;
            };
            for key in keys {
                if let Some(versions) = self.keys.get_mut(&key) {
                    versions.retain(|v| v.mod_revision < self.current);
                    if versions.is_empty() {
                        self.keys.remove(&key);
                    }
                }
            }
            self.current -= 1;
        }
        self.visible = self.visible.min(self.current);
    }

    /// Resolves a requested read revision (`0` = latest visible) against the readable window.
    pub(crate) fn read_revision(&self, requested: i64) -> Result<i64> {
        match requested {
            0 => Ok(self.visible),
            r if r > self.visible => Err(Error::FutureRevision { requested: r }),
            r if r < self.compacted => Err(Error::Compacted { requested: r }),
            r => Ok(r),
        }
    }

    pub(crate) fn range(&self, request: &RangeRequest) -> Result<RangeResponse> {
        let at = self.read_revision(request.revision)?;
        fn state_at(versions: &[Version], at: i64) -> Option<&Version> {
            let n = versions.partition_point(|v| v.mod_revision <= at);
            n.checked_sub(1).map(|i| &versions[i])
        }
        let mut response = RangeResponse {
            kvs: Vec::new(),
            count: 0,
            next: None,
            revision: at,
        };
        let (prefix, lower) = match &request.selector {
            KeySelector::Key(key) => {
                let found = self.keys.get(key.as_str()).and_then(|v| state_at(v, at));
                if let Some(kv) = found.and_then(|v| v.to_kv(key)) {
                    response.count = 1;
                    response.kvs.push(kv);
                }
                return Ok(response);
            }
            KeySelector::Prefix(prefix) => {
                let start = request.start.as_deref().filter(|s| s > &prefix.as_str());
                (prefix.as_str(), start.unwrap_or(prefix))
            }
        };
        let limit = if request.limit == 0 {
            usize::MAX
        } else {
            request.limit
        };
        let candidates = self
            .keys
            .range::<str, _>((Bound::Included(lower), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix));
        for (key, versions) in candidates {
            let Some(kv) = state_at(versions, at).and_then(|v| v.to_kv(key)) else {
                continue;
            };
            response.count += 1;
            if response.kvs.len() < limit {
                response.kvs.push(kv);
            } else if response.next.is_none() {
                response.next = Some(kv.key);
            }
        }
        Ok(response)
    }

    /// Collects the events matching `selector` from revision `from` up to `to` (inclusive),
    /// stopping after the first revision that brings the count to `max` or more (a revision is
    /// never split). Returns the events and the last revision examined.
    pub(crate) fn events(
        &self,
        from: i64,
        to: i64,
        selector: &KeySelector,
        max: usize,
    ) -> Result<(Vec<Event>, i64)> {
        if from < self.compacted {
            return Err(Error::Compacted { requested: from });
        }
        let mut events = Vec::new();
        let mut revision = from;
        while revision <= to && events.len() < max {
            let slot = usize::try_from(revision - self.changes_base).ok();
            for key in slot.and_then(|i| self.changes.get(i)).into_iter().flatten() {
                if selector.matches(key) {
                    events.extend(self.event(key, revision));
                }
            }
            revision += 1;
        }
        Ok((events, revision - 1))
    }

    fn event(&self, key: &str, revision: i64) -> Option<Event> {
        let versions = self.keys.get(key)?;
        let i = versions
            .binary_search_by_key(&revision, |v| v.mod_revision)
            .ok()?;
        let prev = i.checked_sub(1).and_then(|p| versions[p].to_kv(key));
        Some(match versions[i].to_kv(key) {
            Some(kv) => Event {
                kind: EventKind::Put,
                kv,
                prev,
            },
            None => Event {
                kind: EventKind::Delete,
                kv: KeyValue {
                    key: key.to_owned(),
                    value: Bytes::new(),
                    create_revision: 0,
                    mod_revision: revision,
                    version: 0,
                },
                prev,
            },
        })
    }

    /// Checks that `revision` can be compacted to (etcd's rules).
    pub(crate) fn check_compact(&self, revision: i64) -> Result<()> {
        if revision <= self.compacted {
            return Err(Error::Compacted {
                requested: revision,
            });
        }
        if revision > self.visible {
            return Err(Error::FutureRevision {
                requested: revision,
            });
        }
        Ok(())
    }

    /// Drops history before `revision`: every key keeps its state as of `revision` (unless that
    /// state is a tombstone older than `revision`) and every later version. Returns the bytes of
    /// keys and values still held, which decides when the log is worth rewriting.
    pub(crate) fn compact(&mut self, revision: i64) -> u64 {
        let mut retained = 0u64;
        self.keys.retain(|key, versions| {
            let n = versions.partition_point(|v| v.mod_revision <= revision);
            versions.drain(..n.saturating_sub(1));
            if versions[0].value.is_none() && versions[0].mod_revision < revision {
                versions.remove(0);
            }
            for v in versions.iter() {
                retained += (key.len() + v.value.as_ref().map_or(0, Bytes::len)) as u64;
            }
            !versions.is_empty()
        });
        while self.changes_base < revision && self.changes.pop_front().is_some() {
            self.changes_base += 1;
        }
        self.changes_base = self.changes_base.max(revision);
        self.compacted = revision;
        retained
    }

    /// Every key with its retained versions, for writing a snapshot.
    pub(crate) fn versions(&self) -> impl Iterator<Item = (&str, &[Version])> {
        self.keys.iter().map(|(k, v)| (&**k, v.as_slice()))
    }

    /// Rebuilds an index from a snapshot's parts. `changes` is derived from the versions: every
    /// version after the compaction point is a write at its `mod_revision`.
    pub(crate) fn from_snapshot(
        current: i64,
        compacted: i64,
        keys: Vec<(String, Vec<Version>)>,
    ) -> Self {
        let mut index = Self {
            changes_base: compacted.max(1),
            current,
            visible: current,
            compacted,
            ..Self::default()
        };
        let width = usize::try_from(current - index.changes_base + 1).unwrap_or(0);
        index.changes = VecDeque::from(vec![Vec::new(); width]);
        for (key, versions) in keys {
            let key: Arc<str> = Arc::from(key);
            for v in &versions {
                if let Ok(slot) = usize::try_from(v.mod_revision - index.changes_base)
                    && let Some(keys) = index.changes.get_mut(slot)
                {
                    keys.push(Arc::clone(&key));
                }
            }
            index.keys.insert(key, versions);
        }
        index
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
