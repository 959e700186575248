use super::*;
use crate::{Condition, KeySelector, RangeRequest, Txn};

fn put(index: &mut Index, key: &str, value: &str) -> i64 {
    let (response, wrote) = index.apply(&Txn::new().put(key, value.to_owned()));
    assert!(wrote);
    index.publish();
    response.revision
}

fn delete(index: &mut Index, key: &str) -> i64 {
    let (response, _) = index.apply(&Txn::new().delete(key));
    index.publish();
    response.revision
}

fn read(index: &Index, prefix: &str, revision: i64) -> Vec<(String, String)> {
    let response = index
        .range(&RangeRequest::prefix(prefix).at_revision(revision))
        .unwrap();
    response
        .kvs
        .into_iter()
        .map(|kv| (kv.key, String::from_utf8(kv.value.to_vec()).unwrap()))
        .collect()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[test]
fn unpublished_writes_are_invisible_to_readers_but_seen_by_later_compares() {
    let mut index = Index::new();
    put(&mut index, "/a", "1");
    let (_, wrote) = index.apply(&Txn::new().put("/a", "2"));
    assert!(wrote);
    assert_eq!(
        read(&index, "/", 0),
        vec![pair("/a", "1")],
        "readers stop at the visible revision"
    );
    let (response, _) = index.apply(
        &Txn::new()
            .when("/a", Condition::ModRevision(2))
            .put("/b", "x"),
    );
    assert!(
        response.succeeded,
        "the committer's next transaction sees the pending write"
    );
}

#[test]
fn rollback_removes_unsynced_revisions_and_keeps_earlier_ones() {
    let mut index = Index::new();
    put(&mut index, "/a", "1");
    let durable = index.current();
    index.apply(&Txn::new().put("/a", "2").put("/new", "x"));
    index.apply(&Txn::new().delete("/a"));
    index.rollback(durable);
    assert_eq!(index.current(), durable);
    assert_eq!(read(&index, "/", 0), vec![pair("/a", "1")]);
    // The next write reuses the rolled-back revision number: nobody ever saw it.
    assert_eq!(put(&mut index, "/b", "y"), durable + 1);
    let (events, _) = index
        .events(1, index.current(), &KeySelector::Prefix("/".into()), 100)
        .unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn compaction_keeps_each_keys_state_at_the_compaction_point() {
    let mut index = Index::new();
    put(&mut index, "/a", "1"); // 1
    put(&mut index, "/a", "2"); // 2
    put(&mut index, "/gone", "x"); // 3
    delete(&mut index, "/gone"); // 4
    put(&mut index, "/a", "3"); // 5
    index.compact(4);
    assert_eq!(read(&index, "/", 4), vec![pair("/a", "2")]);
    assert_eq!(read(&index, "/", 5), vec![pair("/a", "3")]);
    assert!(matches!(
        index.range(&RangeRequest::prefix("/").at_revision(3)),
        Err(Error::Compacted { requested: 3 })
    ));
    let (events, last) = index
        .events(4, 5, &KeySelector::Prefix("/".into()), 100)
        .unwrap();
    assert_eq!(last, 5);
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.kv.mod_revision)).collect();
    assert_eq!(kinds, [(EventKind::Delete, 4), (EventKind::Put, 5)]);
    assert_eq!(events[1].prev.as_ref().map(|p| p.mod_revision), Some(2));
}

#[test]
fn an_index_rebuilt_from_its_versions_serves_the_same_reads_and_events() {
    let mut index = Index::new();
    put(&mut index, "/a", "1");
    put(&mut index, "/b", "1");
    put(&mut index, "/a", "2");
    delete(&mut index, "/b");
    put(&mut index, "/c", "1");
    index.compact(2);
    let keys = index
        .versions()
        .map(|(k, v)| (k.to_owned(), v.to_vec()))
        .collect();
    let rebuilt = Index::from_snapshot(index.current(), index.compacted(), keys);
    for revision in 2..=5 {
        assert_eq!(read(&rebuilt, "/", revision), read(&index, "/", revision));
    }
    let all = KeySelector::Prefix("/".into());
    assert_eq!(
        rebuilt.events(2, 5, &all, 100).unwrap(),
        index.events(2, 5, &all, 100).unwrap()
    );
}

#[test]
fn events_stop_after_the_revision_that_fills_a_response() {
    let mut index = Index::new();
    for i in 0..10 {
        put(&mut index, &format!("/k{i}"), "v");
    }
    let (events, last) = index
        .events(1, 10, &KeySelector::Prefix("/".into()), 3)
        .unwrap();
    assert_eq!((events.len(), last), (3, 3));
}
