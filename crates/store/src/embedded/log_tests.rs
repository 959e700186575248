use super::*;
use crate::{RangeRequest, Txn};
use std::path::PathBuf;

fn path() -> PathBuf {
    PathBuf::from("/test/store.log")
}

/// A log of three group commits and a compaction, with the index it should replay to.
fn sample() -> (Vec<u8>, Index) {
    let mut index = Index::new();
    let mut data = file_header(1);
    let batches: [&[Txn]; 3] = [
        &[Txn::new().put("/a", "1"), Txn::new().put("/b", "1")],
        &[Txn::new().put("/a", "2").delete("/b")],
        &[Txn::new().put("/c", "1")],
    ];
    for batch in batches {
        let mut encoder = BatchEncoder::new(index.current() + 1);
        for txn in batch {
            let (_, wrote) = index.apply(txn);
            assert!(wrote);
            encoder.push(&txn.ops);
        }
        index.publish();
        data.extend(encoder.finish().unwrap());
    }
    data.extend(compact_frame(2).unwrap());
    index.compact(2);
    (data, index)
}

fn dump(index: &Index) -> String {
    let response = index.range(&RangeRequest::prefix("/")).unwrap();
    format!("{} {:?}", index.current(), response.kvs)
}

#[test]
fn a_log_replays_to_the_state_that_wrote_it() {
    let (data, index) = sample();
    let replayed = replay(&path(), &data).unwrap();
    assert_eq!(replayed.torn, None);
    assert_eq!(replayed.valid_len, data.len() as u64);
    assert_eq!(dump(&replayed.index), dump(&index));
    assert_eq!(replayed.index.compacted(), 2);
}

#[test]
fn a_cut_anywhere_in_the_last_frame_is_a_torn_tail_and_keeps_the_rest() {
    let (mut data, _) = sample();
    let complete = data.len();
    let mut expected = Index::new();
    expected.apply(&Txn::new().put("/x", "y"));
    let mut encoder = BatchEncoder::new(4);
    encoder.push(&[crate::Op::Put {
        key: "/x".into(),
        value: "y".into(),
    }]);
    data.extend(encoder.finish().unwrap());
    let reference = replay(&path(), &data[..complete]).unwrap();
    for cut in complete + 1..data.len() {
        let replayed = replay(&path(), &data[..cut]).unwrap();
        let torn = replayed.torn.expect("a torn tail");
        assert_eq!(
            (torn.offset, torn.discarded),
            (complete as u64, (cut - complete) as u64)
        );
        assert_eq!(replayed.valid_len, complete as u64);
        assert_eq!(dump(&replayed.index), dump(&reference.index));
    }
}

#[test]
fn a_damaged_frame_before_the_end_is_corruption_with_its_offset() {
    let (data, _) = sample();
    let second_frame = HEADER_LEN
        + FRAME_HEADER_LEN
        + u32::from_le_bytes(data[HEADER_LEN..HEADER_LEN + 4].try_into().unwrap()) as usize;
    for flip in [
        HEADER_LEN + 1,
        HEADER_LEN + 5,
        HEADER_LEN + 20,
        second_frame + 14,
    ] {
        let mut damaged = data.clone();
        damaged[flip] ^= 0x40;
        let err = replay(&path(), &damaged).unwrap_err();
        let Error::Corrupt { detail, path: p } = err else {
            panic!("expected corruption, got {err}")
        };
        assert_eq!(p, path());
        assert!(detail.contains("at byte"), "{detail}");
    }
}

#[test]
fn a_file_that_is_not_a_store_log_is_refused() {
    let err = replay(&path(), b"{\"not\": \"a log\"}").unwrap_err();
    assert!(err.to_string().contains("bad header"), "{err}");
    let mut future = file_header(1);
    future[8] = 9;
    assert!(
        replay(&path(), &future)
            .unwrap_err()
            .to_string()
            .contains("format 9")
    );
}

#[test]
fn a_truncated_snapshot_is_corruption_not_a_torn_tail() {
    let (_, index) = sample();
    let mut data = file_header(1);
    data.extend(snapshot_frame(&index).unwrap());
    let whole = replay(&path(), &data).unwrap();
    assert_eq!(dump(&whole.index), dump(&index));
    let cut = &data[..data.len() - 3];
    assert!(matches!(replay(&path(), cut), Err(Error::Corrupt { .. })));
}

#[test]
fn zeros_after_the_last_frame_are_a_torn_tail() {
    let (mut data, _) = sample();
    let complete = data.len();
    data.extend([0u8; 100]);
    let replayed = replay(&path(), &data).unwrap();
    assert_eq!(replayed.valid_len, complete as u64);
    assert_eq!(replayed.torn.map(|t| t.discarded), Some(100));
}
