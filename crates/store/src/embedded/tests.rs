use super::*;
use crate::{Condition, RangeRequest, Txn, WatchRequest, WatchResponse};
use futures::StreamExt;

fn config(dir: &Path) -> EmbeddedConfig {
    EmbeddedConfig::new(dir)
}

async fn put(store: &EmbeddedStore, key: &str, value: &str) -> i64 {
    store
        .txn(Txn::new().put(key, value.to_owned()))
        .await
        .unwrap()
        .revision
}

#[tokio::test]
async fn reopening_serves_every_acknowledged_write_and_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    let r1 = put(&store, "/a", "1").await;
    let r2 = put(&store, "/a", "2").await;
    store
        .txn(Txn::new().delete("/a").put("/b", "x"))
        .await
        .unwrap();
    let before = store.range(RangeRequest::prefix("/")).await.unwrap();
    drop(store);

    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    assert_eq!(store.torn_tail(), None);
    assert_eq!(
        store.range(RangeRequest::prefix("/")).await.unwrap(),
        before
    );
    let old = store
        .range(RangeRequest::key("/a").at_revision(r1))
        .await
        .unwrap();
    assert_eq!(&old.kvs[0].value[..], b"1");
    assert_eq!(store.current_revision().await.unwrap(), r2 + 1);
    assert_eq!(
        put(&store, "/c", "y").await,
        r2 + 2,
        "revisions continue after reopen"
    );
}

#[tokio::test]
async fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = EmbeddedStore::open(config(dir.path())).unwrap();
    let err = EmbeddedStore::open(config(dir.path())).unwrap_err();
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
}

#[tokio::test]
async fn compaction_rewrites_a_large_log_and_the_result_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.rewrite_min_bytes = 1;
    let store = EmbeddedStore::open(cfg.clone()).unwrap();
    let value = "v".repeat(10_000);
    for _ in 0..50 {
        put(&store, "/hot", &value).await;
    }
    let keep = put(&store, "/cold", "kept").await;
    let log = dir.path().join(LOG_FILE);
    let before = fs::metadata(&log).unwrap().len();
    store.compact(keep).await.unwrap();
    let after = fs::metadata(&log).unwrap().len();
    assert!(
        after < before / 10,
        "log went from {before} to {after} bytes"
    );
    let newer = put(&store, "/hot", "new").await;
    drop(store);

    let store = EmbeddedStore::open(cfg).unwrap();
    let all = store.range(RangeRequest::prefix("/")).await.unwrap();
    let pairs: Vec<_> = all
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.mod_revision))
        .collect();
    assert_eq!(pairs, [("/cold", keep), ("/hot", newer)]);
    let hot = &all.kvs[1];
    assert_eq!(hot.version, 51, "the version survives the rewrite");
    let below = store
        .range(RangeRequest::prefix("/").at_revision(keep - 1))
        .await;
    assert!(matches!(below, Err(Error::Compacted { .. })));
    let mut watch = store
        .watch(WatchRequest::prefix("/").from_revision(keep))
        .await
        .unwrap();
    let Some(Ok(WatchResponse::Events(events))) = watch.next().await else {
        panic!("expected events")
    };
    let revisions: Vec<_> = events.iter().map(|e| e.kv.mod_revision).collect();
    assert_eq!(revisions, [keep, newer]);
}

#[tokio::test]
async fn a_corrupt_log_is_refused_at_open_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    put(&store, "/a", "1").await;
    put(&store, "/b", "2").await;
    drop(store);
    let log = dir.path().join(LOG_FILE);
    let mut data = fs::read(&log).unwrap();
    data[log::HEADER_LEN + 20] ^= 0xff;
    fs::write(&log, &data).unwrap();
    let err = EmbeddedStore::open(config(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("corrupt") && text.contains("at byte 16"),
        "{text}"
    );
}

#[tokio::test]
async fn a_torn_final_record_is_discarded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    let kept = put(&store, "/a", "1").await;
    put(&store, "/b", "2").await;
    drop(store);
    let log = dir.path().join(LOG_FILE);
    let len = fs::metadata(&log).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 2)
        .unwrap();

    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    let torn = store.torn_tail().expect("a torn tail was reported").clone();
    assert!(torn.discarded > 0);
    assert_eq!(store.current_revision().await.unwrap(), kept);
    assert_eq!(
        put(&store, "/c", "3").await,
        kept + 1,
        "the log takes new writes after the cut"
    );
    drop(store);
    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    assert_eq!(store.torn_tail(), None, "the cut was made durable");
    assert_eq!(store.current_revision().await.unwrap(), kept + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(config(dir.path())).unwrap();
    let writers: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                for j in 0..10 {
                    let key = format!("/w{i}/k{j}");
                    let txn = Txn::new().when(&key, Condition::Absent).put(&key, "v");
                    assert!(store.txn(txn).await.unwrap().succeeded);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.logged_txns, 640);
    assert!(
        stats.syncs < stats.logged_txns,
        "no group commit happened: {stats:?}"
    );
}
