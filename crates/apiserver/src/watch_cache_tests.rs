use super::*;
use crate::request::Query;
use gantry_api::catalogue;
use gantry_store::Txn;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};

fn configmaps() -> &'static Resource {
    catalogue::find("", "v1", "configmaps").unwrap()
}

fn object(name: &str, label: &str) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns", "labels": {"l": label}}})
        .to_string()
        .into_bytes()
}

async fn put(store: &dyn Store, name: &str, label: &str) -> i64 {
    let key = format!("/registry/core/configmaps/ns/{name}");
    store
        .txn(Txn::new().put(key, object(name, label)))
        .await
        .unwrap()
        .revision
}

fn options(query: &str) -> ListOptions {
    ListOptions::parse(configmaps(), &Query::parse(Some(query))).unwrap()
}

async fn setup() -> (tempfile::TempDir, Arc<dyn Store>, WatchCache) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap());
    let cache = WatchCache::start(Arc::clone(&store));
    (dir, store, cache)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_follows_the_store_and_lists_with_selectors() {
    let (_dir, store, cache) = setup().await;
    put(&*store, "a", "x").await;
    let last = put(&*store, "b", "y").await;
    assert!(cache.wait_for(last).await);
    let (all, revision) = cache.list(configmaps(), Some("ns"), &options(""));
    assert_eq!((all.len(), revision), (2, last));
    let (x, _) = cache.list(configmaps(), Some("ns"), &options("labelSelector=l%3Dx"));
    let a = x[0].value(configmaps());
    assert_eq!(
        (a["metadata"]["name"].as_str(), a["kind"].as_str()),
        (Some("a"), Some("ConfigMap"))
    );
    assert_eq!(a["metadata"]["resourceVersion"], (last - 1).to_string());
    let typed: Value = serde_json::from_slice(&x[0].typed_bytes(configmaps())).unwrap();
    assert_eq!(typed, a, "spliced bytes are the same object");
    assert_eq!(cache.fresh_revision().await, Some(last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_after_a_revision_replay_in_order_with_previous_state() {
    let (_dir, store, cache) = setup().await;
    let first = put(&*store, "a", "x").await;
    put(&*store, "a", "y").await;
    let key = "/registry/core/configmaps/ns/a";
    let deleted = store.txn(Txn::new().delete(key)).await.unwrap().revision;
    assert!(cache.wait_for(deleted).await);
    let (seq, epoch) = cache.cursor_after(first).unwrap();
    let (events, _, _) = cache
        .events_from(seq, epoch, "/registry/core/configmaps/", 10)
        .unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.object.revision)).collect();
    assert_eq!(
        kinds,
        [(EventKind::Put, first + 1), (EventKind::Delete, deleted)]
    );
    let last = events[1].object.value(configmaps());
    assert_eq!(
        last["metadata"]["labels"]["l"], "y",
        "a delete carries the last state"
    );
    assert_eq!(last["metadata"]["resourceVersion"], deleted.to_string());
    assert_eq!(
        events[0].prev.as_ref().unwrap().attrs["metadata"]["labels"]["l"],
        "x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_whose_history_fell_off_the_ring_gets_410() {
    let (_dir, store, cache) = setup().await;
    let first = put(&*store, "a", "0").await;
    assert!(cache.wait_for(first).await);
    let (seq, epoch) = cache.cursor_after(first).unwrap();
    {
        // Simulate a ring that has moved on past the watcher.
        let mut state = cache.state.write().unwrap();
        state.next_seq += 10;
        state.events.clear();
        let seq = state.next_seq;
        state.events.push_back(Arc::new(CachedEvent {
            seq,
            key: Arc::from("/registry/core/configmaps/ns/a"),
            kind: EventKind::Put,
            object: Cached {
                item: Bytes::from_static(b"{}"),
                attrs: Arc::new(json!({})),
                revision: first + 20,
            },
            prev: None,
        }));
    }
    let err = cache.events_from(seq, epoch, "/registry/", 10).unwrap_err();
    assert_eq!((err.code, err.reason), (410, "Expired"));
    assert_eq!(cache.cursor_after(first - 5).unwrap_err().code, 410);
}
