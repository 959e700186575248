//! The watch cache: an in-memory, revision-ordered copy of every object, fed by one watch on
//! the store, from which lists and watches are served (upstream's `cacher`).
//!
//! - **One store watch** on `/registry/` feeds it; objects are decoded and encoded once on the
//!   way in, and every watcher shares the bytes.
//! - **Recent events** sit in a bounded ring numbered by a sequence; a watcher is only a cursor
//!   into it. A watcher whose cursor falls off the ring (it stopped reading while the cluster
//!   kept writing) is ended with 410 `Expired` so that it re-lists; one whose client stops
//!   reading for [`SEND_TIMEOUT`] is dropped. Neither holds anything up or grows memory.
//! - **Freshness**: a consistent list (`resourceVersion` unset) waits until the cache has seen
//!   the store's current revision, so it never serves older data than a direct read would.
//! - On a compacted or broken store watch the cache re-lists, and its existing watchers end with
//!   410 (their history is gone), as upstream's cacher does.

use crate::registry::{ListOptions, prefix};
use crate::status::ApiError;
use bytes::Bytes;
use futures::StreamExt;
use gantry_api::catalogue::Resource;
use gantry_store::{EventKind, KeyValue, RangeRequest, Store, WatchRequest, WatchResponse};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// How many recent events are kept for watchers to resume from (bounding memory: a watcher
/// further behind than this re-lists, as upstream's cacher makes it).
pub const EVENT_CAPACITY: usize = 25_000;

/// How long a watcher's client may stop reading before the watch is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a consistent read waits for the cache to catch up before reading the store.
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);

/// One object as cached: encoded once for the wire, plus the few attributes selectors read.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The object's JSON without `apiVersion` and `kind` (a list item as upstream encodes it),
    /// `metadata.resourceVersion` set.
    pub item: Bytes,
    /// Labels, name, namespace and every field a field selector can name, as a small object
    /// that [`ListOptions::matches`] reads like the whole one.
    pub attrs: Arc<Value>,
    /// The revision it was written at.
    pub revision: i64,
}

/// Every field path some kind can be selected by (see `fields`); the cache keeps these.
const SELECTABLE: &[&str] = &[
    "/spec/nodeName",
    "/spec/restartPolicy",
    "/spec/schedulerName",
    "/spec/serviceAccountName",
    "/spec/hostNetwork",
    "/spec/unschedulable",
    "/spec/signerName",
    "/status/phase",
    "/status/podIP",
    "/status/nominatedNodeName",
    "/status/replicas",
    "/status/successful",
    "/involvedObject",
    "/reason",
    "/reportingComponent",
    "/source",
    "/type",
];

fn attributes(object: &Value) -> Value {
    let mut attrs = json!({"metadata": {}});
    for field in ["name", "namespace", "labels"] {
        if let Some(v) = object.pointer(&format!("/metadata/{field}")) {
            attrs["metadata"][field] = v.clone();
        }
    }
    for path in SELECTABLE {
        if let Some(v) = object.pointer(path) {
            let mut parts = path[1..].split('/').peekable();
            let mut at = &mut attrs;
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    at[part] = v.clone();
                } else {
                    if at.get(part).is_none() {
                        at[part] = json!({});
                    }
                    at = &mut at[part];
                }
            }
        }
    }
    attrs
}

impl Cached {
    fn new(mut value: Value, revision: i64) -> Option<Self> {
        let map = value.as_object_mut()?;
        map.remove("apiVersion");
        map.remove("kind");
        crate::meta::set_meta(&mut value, "resourceVersion", json!(revision.to_string()));
        let attrs = Arc::new(attributes(&value));
        let item = Bytes::from(serde_json::to_vec(&value).ok()?);
        Some(Self {
            item,
            attrs,
            revision,
        })
    }

    fn from_kv(kv: &KeyValue, revision: i64) -> Option<Self> {
        Self::new(serde_json::from_slice(&kv.value).ok()?, revision)
    }

    /// The object as the given resource version serves it (`apiVersion` and `kind` first):
    /// the shared bytes with the type spliced in, or a converted copy for a resource served in
    /// another shape than it is stored in.
    pub fn typed_bytes(&self, resource: &Resource) -> Bytes {
        if crate::convert::converts(resource) {
            return Bytes::from(serde_json::to_vec(&self.value(resource)).unwrap_or_default());
        }
        let head = format!(
            r#"{{"apiVersion":"{}","kind":"{}""#,
            resource.api_version(),
            resource.kind
        );
        let mut out = Vec::with_capacity(head.len() + self.item.len() + 1);
        out.extend_from_slice(head.as_bytes());
        match self.item.get(1..) {
            Some(rest) if rest != b"}" => {
                out.push(b',');
                out.extend_from_slice(rest);
            }
            _ => out.push(b'}'),
        }
        Bytes::from(out)
    }

    /// The whole object as the resource serves it, parsed.
    pub fn value(&self, resource: &Resource) -> Value {
        let mut value: Value = serde_json::from_slice(&self.item).unwrap_or_else(|_| json!({}));
        crate::convert::from_storage(resource, &mut value);
        if let Some(map) = value.as_object_mut() {
            map.insert("apiVersion".into(), json!(resource.api_version()));
            map.insert("kind".into(), json!(resource.kind));
        }
        value
    }
}

/// One change, as watchers see it.
#[derive(Debug, Clone)]
pub struct CachedEvent {
    /// Position in the ring.
    pub seq: u64,
    /// The store key.
    pub key: Arc<str>,
    /// Put or delete.
    pub kind: EventKind,
    /// The new state (for a delete: the last state, at the deletion's revision).
    pub object: Cached,
    /// The state before, if any.
    pub prev: Option<Cached>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<Arc<str>, Cached>,
    events: VecDeque<Arc<CachedEvent>>,
    /// The sequence number the next event gets.
    next_seq: u64,
    /// The revision everything up to which has been applied.
    revision: i64,
    /// Bumped on every re-list: watchers of an older epoch have lost their history.
    epoch: u64,
    ready: bool,
}

/// What a watcher is told to wait on: the cache's `(epoch, revision)`.
type Position = (u64, i64);

/// The watch cache. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WatchCache {
    state: Arc<RwLock<State>>,
    position: watch::Receiver<Position>,
    store: Arc<dyn Store>,
}

fn cached_key(key: &str) -> bool {
    // Allocator claims are bookkeeping, not objects.
    !key.starts_with("/registry/ranges/")
}

impl WatchCache {
    /// Starts the cache: lists the store and follows it in a background task.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let state = Arc::new(RwLock::new(State::default()));
        let (tx, position) = watch::channel((0, 0));
        let cache = Self {
            state: Arc::clone(&state),
            position,
            store: Arc::clone(&store),
        };
        tokio::spawn(feed(state, store, tx));
        cache
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the cache has applied `revision` (bounded); false if it did not get there.
    pub async fn wait_for(&self, revision: i64) -> bool {
        let mut position = self.position.clone();
        let wait = position.wait_for(|(_, r)| *r >= revision);
        matches!(tokio::time::timeout(FRESHNESS_WAIT, wait).await, Ok(Ok(_)))
    }

    /// The cache's revision, once it has caught up with the store (else `None`: read the store).
    pub async fn fresh_revision(&self) -> Option<i64> {
        let current = self.store.current_revision().await.ok()?;
        self.wait_for(current).await.then(|| self.read().revision)
    }

    /// The objects under a resource (and namespace) that pass `options`' selectors, and the
    /// revision they are current at.
    pub fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> (Vec<Cached>, i64) {
        let (items, revision, _, _) = self.snapshot(resource, namespace, options);
        (items, revision)
    }

    /// Where a watch from `revision` starts: the sequence of the first event after it, or a
    /// 410 when the ring no longer reaches back that far.
    pub fn cursor_after(&self, revision: i64) -> Result<(u64, u64), ApiError> {
        let state = self.read();
        let oldest = state
            .events
            .front()
            .map_or(state.revision + 1, |e| e.object.revision);
        if revision + 1 < oldest && revision < state.revision {
            return Err(ApiError::gone(format!(
                "too old resource version: {revision} ({})",
                oldest - 1
            )));
        }
        let start = state
            .events
            .partition_point(|e| e.object.revision <= revision);
        let seq = state.events.get(start).map_or(state.next_seq, |e| e.seq);
        Ok((seq, state.epoch))
    }

    /// The current state as a snapshot for a watch's initial events: matching objects, the
    /// revision and the cursor just after it.
    pub fn snapshot(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> (Vec<Cached>, i64, u64, u64) {
        let prefix = prefix(resource, namespace);
        let state = self.read();
        let items = state
            .objects
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix.as_str()))
            .filter(|(_, c)| options.matches(resource, &c.attrs))
            .map(|(_, c)| c.clone())
            .collect();
        (items, state.revision, state.next_seq, state.epoch)
    }

    /// Up to `max` events from `seq` on under `prefix`; `Err` with a 410 if the watcher's
    /// history is gone. Also returns the next cursor and the cache revision.
    pub fn events_from(
        &self,
        seq: u64,
        epoch: u64,
        prefix: &str,
        max: usize,
    ) -> Result<(Vec<Arc<CachedEvent>>, u64, i64), ApiError> {
        let state = self.read();
        let first = state.events.front().map_or(state.next_seq, |e| e.seq);
        if epoch != state.epoch || seq < first {
            return Err(ApiError::gone(
                "too old resource version: the watch fell behind the cache and must be re-established",
            ));
        }
        let start = usize::try_from(seq - first).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let mut next = seq;
        for event in state.events.iter().skip(start).take(max * 4) {
            next = event.seq + 1;
            if event.key.starts_with(prefix) {
                out.push(Arc::clone(event));
                if out.len() >= max {
                    break;
                }
            }
        }
        Ok((out, next.max(seq), state.revision))
    }

    /// Whether the cache has listed the store and is following it.
    pub fn is_ready(&self) -> bool {
        self.read().ready
    }

    /// A receiver that changes whenever the cache moves.
    pub fn changes(&self) -> watch::Receiver<Position> {
        self.position.clone()
    }
}

/// Lists and follows the store forever, re-listing after a compaction or a broken watch.
async fn feed(state: Arc<RwLock<State>>, store: Arc<dyn Store>, tx: watch::Sender<Position>) {
    // Back off while the store is unreachable, so an outage is not a busy loop of warnings.
    let mut delay = Duration::from_millis(200);
    loop {
        let started = tokio::time::Instant::now();
        match follow(&state, &*store, &tx).await {
            Ok(()) => return, // the store closed: the process is shutting down
            Err(error) => {
                if started.elapsed() > Duration::from_secs(30) {
                    delay = Duration::from_millis(200); // it had been working: start over
                }
                tracing::warn!(%error, retry_in = ?delay, "watch cache lost the store watch; re-listing");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn follow(
    state: &RwLock<State>,
    store: &dyn Store,
    tx: &watch::Sender<Position>,
) -> Result<(), gantry_store::Error> {
    let listed = store.range(RangeRequest::prefix("/registry/")).await?;
    let epoch = {
        let mut s = state.write().unwrap_or_else(|e| e.into_inner());
        s.objects = listed
            .kvs
            .iter()
            .filter(|kv| cached_key(&kv.key))
            .filter_map(|kv| {
                Some((
                    Arc::from(kv.key.as_str()),
                    Cached::from_kv(kv, kv.mod_revision)?,
                ))
            })
            .collect();
        s.events.clear();
        s.revision = listed.revision;
        s.epoch += 1;
        s.ready = true;
        s.epoch
    };
    tx.send_replace((epoch, listed.revision));
    let request = WatchRequest::prefix("/registry/")
        .from_revision(listed.revision + 1)
        .with_progress_notify();
    let mut stream = store.watch(request).await?;
    while let Some(item) = stream.next().await {
        let revision = match item? {
            WatchResponse::Progress { revision } => revision,
            WatchResponse::Events(events) => {
                let mut s = state.write().unwrap_or_else(|e| e.into_inner());
                for event in events.iter().filter(|e| cached_key(&e.kv.key)) {
                    apply(&mut s, event);
                }
                events.last().map_or(s.revision, |e| e.kv.mod_revision)
            }
        };
        let mut s = state.write().unwrap_or_else(|e| e.into_inner());
        s.revision = s.revision.max(revision);
        let position = (s.epoch, s.revision);
        drop(s);
        tx.send_replace(position);
    }
    Ok(())
}

fn apply(state: &mut State, event: &gantry_store::Event) {
    let key: Arc<str> = Arc::from(event.kv.key.as_str());
    let revision = event.kv.mod_revision;
    let prev = state.objects.get(&key).cloned();
    let object = match event.kind {
        EventKind::Put => match Cached::from_kv(&event.kv, revision) {
            Some(cached) => {
                state.objects.insert(Arc::clone(&key), cached.clone());
                cached
            }
            None => return,
        },
        EventKind::Delete => {
            state.objects.remove(&key);
            // The last state, at the deletion's revision, as upstream sends it.
            let Some(last) = prev.clone() else { return };
            let Some(value) = serde_json::from_slice(&last.item).ok() else {
                return;
            };
            match Cached::new(value, revision) {
                Some(cached) => cached,
                None => return,
            }
        }
    };
    let seq = state.next_seq;
    state.next_seq += 1;
    state.events.push_back(Arc::new(CachedEvent {
        seq,
        key,
        kind: event.kind,
        object,
        prev,
    }));
    while state.events.len() > EVENT_CAPACITY {
        state.events.pop_front();
    }
}

#[cfg(test)]
#[path = "watch_cache_tests.rs"]
mod tests;
