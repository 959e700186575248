//! The store conformance suite: every backend must pass every case.
//!
//! A test crate runs it with [`conformance_tests!`](crate::conformance_tests), giving an async
//! factory that returns a fresh, empty [`Subject`]. Backends must send progress notifications to
//! idle watches within [`PROGRESS_WITHIN`].

#![allow(
    clippy::unwrap_used,
    reason = "these are test assertions: a panic is how a case reports failure"
)]

use crate::{
    Condition, Error, Event, EventKind, KeyValue, RangeRequest, Store, Txn, WatchRequest,
    WatchResponse, WatchStream, validate,
};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// How long a case waits for one watch item before it fails (a liveness bound, not a measure).
pub const WAIT: Duration = Duration::from_secs(20);

/// How soon an idle watch with `progress_notify` must hear progress for the suite to pass;
/// backends under test must be configured with a shorter interval.
pub const PROGRESS_WITHIN: Duration = Duration::from_secs(10);

/// A store under test, with whatever must live as long as it (a temporary directory, a child
/// etcd process).
pub struct Subject {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Dropped after the case.
    pub guard: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Generates one `#[tokio::test]` per conformance case, each on a fresh subject from `$factory`
/// (an `async fn() -> Subject`).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@cases $factory;
            create_if_absent_succeeds_once,
            compare_and_swap_update_detects_conflicts,
            delete_honours_its_precondition,
            range_reads_an_old_revision,
            range_pages_with_a_limit_at_one_revision,
            range_below_the_compaction_point_is_compacted,
            transaction_writes_all_keys_at_one_revision,
            watch_from_a_past_revision_replays_history_in_order,
            watch_delivers_new_writes,
            watch_from_a_compacted_revision_is_compacted,
            idle_watch_receives_progress_notifications,
            concurrent_writers_never_lose_an_update,
            values_up_to_the_request_limit_are_accepted,
            malformed_keys_are_refused
        );
    };
    (@cases $factory:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let subject = $factory().await;
                $crate::conformance::$case(::std::sync::Arc::clone(&subject.store)).await;
                drop(subject);
            }
        )*
    };
}

async fn create(store: &dyn Store, key: &str, value: &str) -> i64 {
    let response = store
        .txn(
            Txn::new()
                .when(key, Condition::Absent)
                .put(key, value.to_owned()),
        )
        .await
        .expect("create");
    assert!(response.succeeded, "{key} already exists");
    response.revision
}

async fn put(store: &dyn Store, key: &str, value: &str) -> i64 {
    store
        .txn(Txn::new().put(key, value.to_owned()))
        .await
        .expect("put")
        .revision
}

async fn delete(store: &dyn Store, key: &str) -> i64 {
    store
        .txn(Txn::new().delete(key))
        .await
        .expect("delete")
        .revision
}

async fn get(store: &dyn Store, key: &str) -> Option<KeyValue> {
    let mut response = store.range(RangeRequest::key(key)).await.expect("range");
    response.kvs.pop()
}

fn values(kvs: &[KeyValue]) -> Vec<(&str, &[u8])> {
    kvs.iter()
        .map(|kv| (kv.key.as_str(), &kv.value[..]))
        .collect()
}

/// Reads items until `n` events have arrived (progress notifications are skipped).
async fn collect_events(stream: &mut WatchStream, n: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < n {
        let item = tokio::time::timeout(WAIT, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no watch item within {WAIT:?}; got {events:?}"))
            .expect("watch stream ended");
        match item.expect("watch item") {
            WatchResponse::Events(batch) => events.extend(batch),
            WatchResponse::Progress { .. } => {}
        }
    }
    assert_eq!(events.len(), n, "more events than written: {events:?}");
    events
}

/// A create succeeds only while the key is absent; the loser learns the current value.
pub async fn create_if_absent_succeeds_once(store: Arc<dyn Store>) {
    let store = &*store;
    let revision = create(store, "/c/a", "one").await;
    let kv = get(store, "/c/a").await.expect("created");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (revision, revision, 1)
    );
    assert_eq!(&kv.value[..], b"one");

    let again = store
        .txn(
            Txn::new()
                .when("/c/a", Condition::Absent)
                .put("/c/a", "two"),
        )
        .await
        .unwrap();
    assert!(!again.succeeded);
    assert_eq!(
        again.current,
        vec![kv.clone()],
        "a failed create returns the current value"
    );
    assert_eq!(
        again.revision, revision,
        "a failed transaction does not move the revision"
    );
    assert_eq!(get(store, "/c/a").await, Some(kv));
    assert_eq!(store.current_revision().await.unwrap(), revision);
}

/// An update conditioned on `mod_revision` (or `version`) applies once; a stale one fails.
pub async fn compare_and_swap_update_detects_conflicts(store: Arc<dyn Store>) {
    let store = &*store;
    let created = create(store, "/cas/k", "v1").await;
    let updated = store
        .txn(
            Txn::new()
                .when("/cas/k", Condition::ModRevision(created))
                .put("/cas/k", "v2"),
        )
        .await
        .unwrap();
    assert!(updated.succeeded);
    assert!(updated.revision > created);
    let prev = updated.prev[0].as_ref().expect("previous value");
    assert_eq!((&prev.value[..], prev.mod_revision), (&b"v1"[..], created));

    let stale = store
        .txn(
            Txn::new()
                .when("/cas/k", Condition::ModRevision(created))
                .put("/cas/k", "v3"),
        )
        .await
        .unwrap();
    assert!(
        !stale.succeeded,
        "a compare on an old mod_revision must fail"
    );
    let current = &stale.current[0];
    assert_eq!(
        (&current.value[..], current.mod_revision),
        (&b"v2"[..], updated.revision)
    );
    assert_eq!((current.create_revision, current.version), (created, 2));

    let by_version = store
        .txn(
            Txn::new()
                .when("/cas/k", Condition::Version(2))
                .put("/cas/k", "v3"),
        )
        .await
        .unwrap();
    assert!(by_version.succeeded);
    let wrong_version = store
        .txn(
            Txn::new()
                .when("/cas/k", Condition::Version(2))
                .put("/cas/k", "v4"),
        )
        .await
        .unwrap();
    assert!(!wrong_version.succeeded);
    assert_eq!(&get(store, "/cas/k").await.unwrap().value[..], b"v3");
}

/// A delete with a stale precondition changes nothing; with the right one it returns the value.
pub async fn delete_honours_its_precondition(store: Arc<dyn Store>) {
    let store = &*store;
    let created = create(store, "/d/k", "v1").await;
    let updated = put(store, "/d/k", "v2").await;
    let stale = store
        .txn(
            Txn::new()
                .when("/d/k", Condition::ModRevision(created))
                .delete("/d/k"),
        )
        .await
        .unwrap();
    assert!(!stale.succeeded);
    assert!(get(store, "/d/k").await.is_some());

    let deleted = store
        .txn(
            Txn::new()
                .when("/d/k", Condition::ModRevision(updated))
                .delete("/d/k"),
        )
        .await
        .unwrap();
    assert!(deleted.succeeded);
    assert_eq!(
        &deleted.prev[0].as_ref().expect("previous value").value[..],
        b"v2"
    );
    assert!(get(store, "/d/k").await.is_none());

    let absent = store.txn(Txn::new().delete("/d/k")).await.unwrap();
    assert!(absent.succeeded && absent.prev == vec![None]);
    assert_eq!(
        absent.revision, deleted.revision,
        "deleting nothing writes nothing"
    );
    let recreated = create(store, "/d/k", "v3").await;
    let kv = get(store, "/d/k").await.unwrap();
    assert_eq!(
        (kv.create_revision, kv.version),
        (recreated, 1),
        "a delete resets the version"
    );
}

/// Reads at a past revision see the state as it was, deletes included.
pub async fn range_reads_an_old_revision(store: Arc<dyn Store>) {
    let store = &*store;
    let r1 = put(store, "/old/a", "1").await;
    let r2 = put(store, "/old/a", "2").await;
    let r3 = put(store, "/old/b", "1").await;
    let r4 = delete(store, "/old/a").await;
    put(store, "/other/x", "outside the prefix").await;
    let at = |revision| store.range(RangeRequest::prefix("/old/").at_revision(revision));
    assert_eq!(
        values(&at(r1).await.unwrap().kvs),
        vec![("/old/a", &b"1"[..])]
    );
    assert_eq!(
        values(&at(r2).await.unwrap().kvs),
        vec![("/old/a", &b"2"[..])]
    );
    let third = at(r3).await.unwrap();
    assert_eq!(
        values(&third.kvs),
        vec![("/old/a", &b"2"[..]), ("/old/b", &b"1"[..])]
    );
    assert_eq!((third.count, third.revision), (2, r3));
    assert_eq!(
        values(&at(r4).await.unwrap().kvs),
        vec![("/old/b", &b"1"[..])]
    );
    let old_a = store
        .range(RangeRequest::key("/old/a").at_revision(r2))
        .await
        .unwrap();
    assert_eq!(old_a.kvs[0].mod_revision, r2);
    let current = store.current_revision().await.unwrap();
    let future = store
        .range(RangeRequest::prefix("/old/").at_revision(current + 10))
        .await;
    assert!(
        matches!(future, Err(Error::FutureRevision { .. })),
        "{future:?}"
    );
}

/// A limited range returns pages whose continuation reads at the same revision.
pub async fn range_pages_with_a_limit_at_one_revision(store: Arc<dyn Store>) {
    let store = &*store;
    for i in 0..5 {
        put(store, &format!("/page/k{i}"), "v").await;
    }
    let first = store
        .range(RangeRequest::prefix("/page/").with_limit(2))
        .await
        .unwrap();
    assert_eq!(first.kvs.len(), 2);
    assert_eq!(first.count, 5);
    assert_eq!(first.next.as_deref(), Some("/page/k2"));
    // Writes between pages must not show in reads pinned to the first page's revision.
    put(store, "/page/k25", "late").await;
    delete(store, "/page/k4").await;
    let mut keys: Vec<String> = first.kvs.iter().map(|kv| kv.key.clone()).collect();
    let mut next = first.next.clone();
    while let Some(start) = next {
        let page = store
            .range(
                RangeRequest::prefix("/page/")
                    .with_limit(2)
                    .at_revision(first.revision)
                    .starting_at(start),
            )
            .await
            .unwrap();
        assert_eq!(page.revision, first.revision);
        keys.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        next = page.next;
    }
    assert_eq!(
        keys,
        ["/page/k0", "/page/k1", "/page/k2", "/page/k3", "/page/k4"]
    );
    let unlimited = store.range(RangeRequest::prefix("/page/")).await.unwrap();
    assert_eq!((unlimited.kvs.len(), unlimited.next), (5, None));
}

/// Compaction drops history: reads below it fail, reads at it succeed.
pub async fn range_below_the_compaction_point_is_compacted(store: Arc<dyn Store>) {
    let store = &*store;
    let r1 = put(store, "/cmp/a", "1").await;
    let r2 = put(store, "/cmp/a", "2").await;
    put(store, "/cmp/b", "1").await;
    store.compact(r2).await.expect("compact");
    let below = store
        .range(RangeRequest::prefix("/cmp/").at_revision(r1))
        .await;
    assert!(
        matches!(below, Err(Error::Compacted { requested }) if requested == r1),
        "{below:?}"
    );
    let at = store
        .range(RangeRequest::prefix("/cmp/").at_revision(r2))
        .await
        .unwrap();
    assert_eq!(values(&at.kvs), vec![("/cmp/a", &b"2"[..])]);
    let again = store.compact(r2).await;
    assert!(matches!(again, Err(Error::Compacted { .. })), "{again:?}");
    let current = store.current_revision().await.unwrap();
    let future = store.compact(current + 100).await;
    assert!(
        matches!(future, Err(Error::FutureRevision { .. })),
        "{future:?}"
    );
    assert_eq!(
        get(store, "/cmp/b").await.map(|kv| kv.value),
        Some("1".into())
    );
}

/// A multi-key transaction happens at one revision, and is seen in op order.
pub async fn transaction_writes_all_keys_at_one_revision(store: Arc<dyn Store>) {
    let store = &*store;
    put(store, "/tx/c", "old").await;
    let start = store.current_revision().await.unwrap() + 1;
    let mut watch = store
        .watch(WatchRequest::prefix("/tx/").from_revision(start))
        .await
        .unwrap();
    let response = store
        .txn(
            Txn::new()
                .put("/tx/b", "1")
                .put("/tx/a", "2")
                .delete("/tx/c"),
        )
        .await
        .unwrap();
    assert_eq!(response.revision, start);
    assert_eq!(
        response.prev[2].as_ref().map(|kv| kv.value.clone()),
        Some("old".into())
    );
    let events = collect_events(&mut watch, 3).await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.kv.key.as_str(), e.kv.mod_revision))
        .collect();
    assert_eq!(
        seen,
        [
            (EventKind::Put, "/tx/b", start),
            (EventKind::Put, "/tx/a", start),
            (EventKind::Delete, "/tx/c", start)
        ]
    );
}

/// A watch from a past revision replays exactly what happened, in order, across keys, with
/// previous values, and nothing outside its prefix.
pub async fn watch_from_a_past_revision_replays_history_in_order(store: Arc<dyn Store>) {
    let store = &*store;
    let first = create(store, "/w/a", "a1").await;
    put(store, "/elsewhere/x", "not watched").await;
    create(store, "/w/b", "b1").await;
    put(store, "/w/a", "a2").await;
    delete(store, "/w/b").await;
    let last = put(store, "/w/c", "c1").await;

    let mut watch = store
        .watch(WatchRequest::prefix("/w/").from_revision(first))
        .await
        .unwrap();
    let events = collect_events(&mut watch, 5).await;
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            let prev = e
                .prev
                .as_ref()
                .map(|p| String::from_utf8_lossy(&p.value).into_owned());
            (
                e.kind,
                e.kv.key.as_str(),
                String::from_utf8_lossy(&e.kv.value).into_owned(),
                prev,
            )
        })
        .collect();
    let s = |v: &str| v.to_owned();
    assert_eq!(
        summary,
        vec![
            (EventKind::Put, "/w/a", s("a1"), None),
            (EventKind::Put, "/w/b", s("b1"), None),
            (EventKind::Put, "/w/a", s("a2"), Some(s("a1"))),
            (EventKind::Delete, "/w/b", s(""), Some(s("b1"))),
            (EventKind::Put, "/w/c", s("c1"), None),
        ]
    );
    let revisions: Vec<i64> = events.iter().map(|e| e.kv.mod_revision).collect();
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    assert_eq!(revisions.last(), Some(&last));
    assert_eq!(events[2].kv.version, 2);
}

/// A watch from "now" delivers writes made after it started.
pub async fn watch_delivers_new_writes(store: Arc<dyn Store>) {
    let store = &*store;
    put(store, "/live/before", "x").await;
    let mut watch = store.watch(WatchRequest::prefix("/live/")).await.unwrap();
    let revision = put(store, "/live/after", "y").await;
    let events = collect_events(&mut watch, 1).await;
    assert_eq!(
        (events[0].kv.key.as_str(), events[0].kv.mod_revision),
        ("/live/after", revision)
    );
}

/// A watch that starts below the compaction point ends with `Compacted`.
pub async fn watch_from_a_compacted_revision_is_compacted(store: Arc<dyn Store>) {
    let store = &*store;
    let r1 = put(store, "/wc/a", "1").await;
    put(store, "/wc/a", "2").await;
    let r3 = put(store, "/wc/a", "3").await;
    store.compact(r3).await.unwrap();
    let mut watch = store
        .watch(WatchRequest::prefix("/wc/").from_revision(r1))
        .await
        .unwrap();
    let item = tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("an item");
    assert!(
        matches!(item, Some(Err(Error::Compacted { requested })) if requested == r1),
        "{item:?}"
    );
    let from_compaction_point = store
        .watch(WatchRequest::prefix("/wc/").from_revision(r3))
        .await
        .unwrap();
    let events = collect_events(&mut { from_compaction_point }, 1).await;
    assert_eq!(events[0].kv.mod_revision, r3);
}

/// An idle watch that asked for progress hears the current revision.
pub async fn idle_watch_receives_progress_notifications(store: Arc<dyn Store>) {
    let store = &*store;
    put(store, "/other/a", "1").await;
    let mut watch = store
        .watch(WatchRequest::prefix("/quiet/").with_progress_notify())
        .await
        .unwrap();
    let current = put(store, "/other/b", "2").await;
    let deadline = tokio::time::Instant::now() + PROGRESS_WITHIN;
    loop {
        let item = tokio::time::timeout_at(deadline, watch.next())
            .await
            .expect("a progress notification within the bound")
            .expect("stream open")
            .expect("no error");
        match item {
            WatchResponse::Progress { revision } if revision >= current => break,
            WatchResponse::Progress { .. } => continue,
            WatchResponse::Events(events) => panic!("unexpected events {events:?}"),
        }
    }
}

/// Many writers doing read-modify-write increments with compare-and-swap never lose one, and the
/// watch history holds exactly one event per increment (a property test over random plans).
pub async fn concurrent_writers_never_lose_an_update(store: Arc<dyn Store>) {
    use proptest::test_runner::{Config, TestRunner};

    let strategy = (2usize..10, 1usize..12, 1usize..5);
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let case = std::sync::atomic::AtomicUsize::new(0);
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(writers, increments, keys)| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let prefix = format!("/prop/{n}/");
            handle.block_on(increments_are_never_lost(
                Arc::clone(&store),
                prefix,
                writers,
                increments,
                keys,
            ));
            Ok(())
        })
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
}

async fn increments_are_never_lost(
    store: Arc<dyn Store>,
    prefix: String,
    writers: usize,
    increments: usize,
    keys: usize,
) {
    let start = store.current_revision().await.unwrap() + 1;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            let prefix = prefix.clone();
            tokio::spawn(async move {
                for i in 0..increments {
                    let key = format!("{prefix}k{}", (w + i) % keys);
                    increment(&*store, &key).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let all = store
        .range(RangeRequest::prefix(prefix.clone()))
        .await
        .unwrap();
    let total: u64 = all
        .kvs
        .iter()
        .map(|kv| {
            std::str::from_utf8(&kv.value)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        total,
        (writers * increments) as u64,
        "an increment was lost"
    );
    for kv in &all.kvs {
        let count: i64 = std::str::from_utf8(&kv.value).unwrap().parse().unwrap();
        assert_eq!(kv.version, count, "one write per increment on {}", kv.key);
    }
    let mut watch = store
        .watch(WatchRequest::prefix(prefix).from_revision(start))
        .await
        .unwrap();
    let events = collect_events(&mut watch, writers * increments).await;
    let revisions: Vec<i64> = events.iter().map(|e| e.kv.mod_revision).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "revisions must grow"
    );
}

async fn increment(store: &dyn Store, key: &str) {
    loop {
        let current = get(store, key).await;
        let (condition, next) = match &current {
            None => (Condition::Absent, 1),
            Some(kv) => {
                let n: u64 = std::str::from_utf8(&kv.value).unwrap().parse().unwrap();
                (Condition::ModRevision(kv.mod_revision), n + 1)
            }
        };
        let txn = Txn::new().when(key, condition).put(key, next.to_string());
        if store.txn(txn).await.expect("txn").succeeded {
            return;
        }
    }
}

/// Values up to upstream's request limit round-trip; larger ones are refused with a clear error.
pub async fn values_up_to_the_request_limit_are_accepted(store: Arc<dyn Store>) {
    let store = &*store;
    let largest: Vec<u8> = (0..validate::MAX_VALUE_BYTES)
        .map(|i| (i % 251) as u8)
        .collect();
    put_bytes(store, "/big/ok", largest.clone())
        .await
        .expect("a 1.5 MiB value");
    assert_eq!(get(store, "/big/ok").await.unwrap().value, largest);
    let too_big = put_bytes(store, "/big/no", vec![0; validate::MAX_VALUE_BYTES + 1]).await;
    match too_big {
        Err(Error::ValueTooLarge { size, limit, .. }) => {
            assert_eq!(
                (size, limit),
                (validate::MAX_VALUE_BYTES + 1, validate::MAX_VALUE_BYTES)
            );
        }
        other => panic!("expected ValueTooLarge, got {other:?}"),
    }
    assert!(get(store, "/big/no").await.is_none());
}

async fn put_bytes(store: &dyn Store, key: &str, value: Vec<u8>) -> crate::Result<i64> {
    Ok(store.txn(Txn::new().put(key, value)).await?.revision)
}

/// Empty or malformed keys are refused, on every entry point, with the reason.
pub async fn malformed_keys_are_refused(store: Arc<dyn Store>) {
    let store = &*store;
    let before = store.current_revision().await.unwrap();
    for bad in ["", "no-leading-slash", "/a//b", "/trailing/", "/nul\0byte"] {
        let write = store.txn(Txn::new().put(bad, "v")).await;
        assert!(
            matches!(write, Err(Error::InvalidKey { .. })),
            "put {bad:?}: {write:?}"
        );
        let compare = store.txn(Txn::new().when(bad, Condition::Exists)).await;
        assert!(
            matches!(compare, Err(Error::InvalidKey { .. })),
            "compare {bad:?}"
        );
        let read = store.range(RangeRequest::key(bad)).await;
        assert!(
            matches!(read, Err(Error::InvalidKey { .. })),
            "range {bad:?}"
        );
    }
    let watch = store.watch(WatchRequest::prefix("relative/")).await;
    assert!(matches!(watch, Err(Error::InvalidKey { .. })));
    assert_eq!(
        store.current_revision().await.unwrap(),
        before,
        "nothing was written"
    );
}
