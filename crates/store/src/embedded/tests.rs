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

/// Opens a store, writes `/a` then `/b`, and closes it; returns the log's length and the
/// revision after `/a`, which is where a crash after the first write would have left the mark.
async fn two_writes(dir: &Path) -> (u64, i64) {
    let store = EmbeddedStore::open(config(dir)).unwrap();
    let first = put(&store, "/a", "1").await;
    let len_after_first = fs::metadata(dir.join(LOG_FILE)).unwrap().len();
    put(&store, "/b", "2").await;
    drop(store);
    (len_after_first, first)
}

fn set_mark(dir: &Path, generation: u32, log_len: u64, revision: i64) {
    let mark = meta::Mark {
        generation,
        log_len,
        revision,
    };
    meta::write(dir, mark).unwrap();
}

#[tokio::test]
async fn a_torn_final_record_after_a_crash_is_discarded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (marked_len, kept) = two_writes(dir.path()).await;
    // As after a crash: the mark still covers only the first write, and the second write's
    // frame is incomplete.
    set_mark(dir.path(), 1, marked_len, kept);
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
    assert_eq!(torn.offset, marked_len);
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

#[tokio::test]
async fn a_log_cut_between_two_frames_is_refused_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (len_after_first, _) = two_writes(dir.path()).await;
    let log = dir.path().join(LOG_FILE);
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len_after_first)
        .unwrap();
    let err = EmbeddedStore::open(config(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("corrupt") && err.contains("truncated"),
        "{err}"
    );
}

#[tokio::test]
async fn a_torn_tail_below_the_mark_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    two_writes(dir.path()).await;
    let log = dir.path().join(LOG_FILE);
    let len = fs::metadata(&log).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 2)
        .unwrap();
    let err = EmbeddedStore::open(config(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("truncated"),
        "acknowledged data cannot be a torn tail: {err}"
    );
}

#[tokio::test]
async fn an_older_log_put_back_over_a_rewritten_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = two_writes(dir.path()).await;
    set_mark(dir.path(), 2, 16, first);
    let err = EmbeddedStore::open(config(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("older log was restored"), "{err}");
    // A mark from before a rewrite says nothing about the rewritten log.
    set_mark(dir.path(), 0, u64::MAX, i64::MAX);
    EmbeddedStore::open(config(dir.path())).unwrap();
}

#[tokio::test]
async fn a_missing_log_is_refused_when_the_mark_says_it_existed() {
    let dir = tempfile::tempdir().unwrap();
    two_writes(dir.path()).await;
    fs::remove_file(dir.path().join(LOG_FILE)).unwrap();
    let err = EmbeddedStore::open(config(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing"), "{err}");
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
