//! The embedded store's on-disk log: one file, `store.log`, that only grows between rewrites.
//!
//! ```text
//! file    := header frame*
//! header  := "GANTRYKV" u32:format(=1) u32:generation      -- a rewrite makes the next one
//! frame   := u32:len u32:crc32(len) u32:crc32(payload) payload[len]
//! payload := 1 i64:first_revision u32:txns (u32:ops op*)*      -- a group commit
//!          | 2 i64:revision                                   -- a compaction
//!          | 3 i64:current i64:compacted u64:keys key*        -- a snapshot (first frame only)
//! op      := 1 str:key bytes:value | 2 str:key                -- put | delete
//! key     := str:key u32:versions (i64:mod i64:create i64:version u8:live [bytes:value])*
//! str, bytes := u32:len raw[len]          (all integers little-endian)
//! ```
//!
//! A frame is written with one `write` and made durable with one `fdatasync` before any of its
//! transactions is acknowledged. Only the last frame can therefore be incomplete after a crash,
//! and it was never acknowledged: opening discards it with a warning. Anything else that fails a
//! check (a bad header, a length or payload checksum mismatch before the end, an incomplete
//! snapshot, revisions out of sequence) is corruption, and opening fails with the offset.

use super::index::{Index, Version};
use crate::{Error, Op, Result};
use bytes::{Buf, BufMut, Bytes};
use std::path::Path;

const MAGIC: &[u8; 8] = b"GANTRYKV";
const FORMAT: u32 = 1;
pub(crate) const HEADER_LEN: usize = 16;
const FRAME_HEADER_LEN: usize = 12;

const KIND_BATCH: u8 = 1;
const KIND_COMPACT: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;

pub(crate) fn file_header(generation: u32) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.put_u32_le(FORMAT);
    header.put_u32_le(generation);
    header
}

/// Wraps a payload into a frame.
fn frame(payload: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .map_err(|_| Error::InvalidTxn("a log frame must be smaller than 4 GiB".into()))?;
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    out.put_u32_le(len);
    out.put_u32_le(crc32fast::hash(&len.to_le_bytes()));
    out.put_u32_le(crc32fast::hash(payload));
    out.extend_from_slice(payload);
    Ok(out)
}

fn put_str(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys are at most MAX_KEY_BYTES and values MAX_VALUE_BYTES, both far below u32::MAX.
    out.put_u32_le(bytes.len() as u32);
    out.extend_from_slice(bytes);
}

/// Accumulates the transactions of one group commit into a batch frame.
#[derive(Debug)]
pub(crate) struct BatchEncoder {
    payload: Vec<u8>,
    txns: u32,
}

impl BatchEncoder {
    pub(crate) fn new(first_revision: i64) -> Self {
        let mut payload = Vec::with_capacity(4096);
        payload.put_u8(KIND_BATCH);
        payload.put_i64_le(first_revision);
        payload.put_u32_le(0); // patched in finish()
        Self { payload, txns: 0 }
    }

    /// How many transactions the frame holds so far.
    pub(crate) fn txns(&self) -> u32 {
        self.txns
    }

    /// Logs one transaction that wrote (and so took the next revision).
    pub(crate) fn push(&mut self, ops: &[Op]) {
        self.txns += 1;
        self.payload.put_u32_le(ops.len() as u32);
        for op in ops {
            match op {
                Op::Put { key, value } => {
                    self.payload.put_u8(OP_PUT);
                    put_str(&mut self.payload, key.as_bytes());
                    put_str(&mut self.payload, value);
                }
                Op::Delete { key } => {
                    self.payload.put_u8(OP_DELETE);
                    put_str(&mut self.payload, key.as_bytes());
                }
            }
        }
    }

    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        self.payload[9..13].copy_from_slice(&self.txns.to_le_bytes());
        frame(&self.payload)
    }
}

pub(crate) fn compact_frame(revision: i64) -> Result<Vec<u8>> {
    let mut payload = vec![KIND_COMPACT];
    payload.put_i64_le(revision);
    frame(&payload)
}

/// The whole retained state as one snapshot frame, the first frame of a rewritten log.
pub(crate) fn snapshot_frame(index: &Index) -> Result<Vec<u8>> {
    let mut payload = vec![KIND_SNAPSHOT];
    payload.put_i64_le(index.current());
    payload.put_i64_le(index.compacted());
    let keys: Vec<_> = index.versions().collect();
    payload.put_u64_le(keys.len() as u64);
    for (key, versions) in keys {
        put_str(&mut payload, key.as_bytes());
        payload.put_u32_le(versions.len() as u32);
        for v in versions {
            payload.put_i64_le(v.mod_revision);
            payload.put_i64_le(v.create_revision);
            payload.put_i64_le(v.version);
            payload.put_u8(u8::from(v.value.is_some()));
            if let Some(value) = &v.value {
                put_str(&mut payload, value);
            }
        }
    }
    frame(&payload)
}

/// What opening found at the end of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where the incomplete frame started (the file is cut back to here).
    pub offset: u64,
    /// How many bytes were discarded.
    pub discarded: u64,
}

/// The state rebuilt from a log, and where the valid part of the file ends.
#[derive(Debug)]
pub(crate) struct Replayed {
    pub(crate) index: Index,
    pub(crate) generation: u32,
    pub(crate) valid_len: u64,
    pub(crate) torn: Option<TornTail>,
}

/// Rebuilds the index from a whole log file's bytes.
pub(crate) fn replay(path: &Path, data: &[u8]) -> Result<Replayed> {
    let corrupt = |offset: usize, detail: String| Error::Corrupt {
        path: path.to_owned(),
        detail: format!("at byte {offset}: {detail}"),
    };
    if data.len() < HEADER_LEN || &data[..8] != MAGIC {
        return Err(corrupt(0, "not a gantry store log (bad header)".into()));
    }
    let format = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
    if format != FORMAT {
        return Err(corrupt(8, format!("unsupported log format {format}")));
    }
    let generation = u32::from_le_bytes([data[12], data[13], data[14], data[15]]);
    let mut index = Index::new();
    let mut offset = HEADER_LEN;
    while offset < data.len() {
        let rest = &data[offset..];
        let torn = Some(TornTail {
            offset: offset as u64,
            discarded: rest.len() as u64,
        });
        if rest.len() < FRAME_HEADER_LEN {
            return Ok(Replayed::torn(index, generation, offset, torn));
        }
        let len_bytes = [rest[0], rest[1], rest[2], rest[3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let len_crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let payload_crc = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
        // A filesystem may leave zeros past the end of a write that a power cut interrupted.
        if rest.iter().all(|&b| b == 0) {
            return Ok(Replayed::torn(index, generation, offset, torn));
        }
        if crc32fast::hash(&len_bytes) != len_crc {
            return Err(corrupt(offset, "frame length fails its checksum".into()));
        }
        let end = FRAME_HEADER_LEN + len;
        let is_snapshot = rest.get(FRAME_HEADER_LEN) == Some(&KIND_SNAPSHOT);
        if rest.len() < end || crc32fast::hash(&rest[FRAME_HEADER_LEN..end]) != payload_crc {
            // Only the frame the crash interrupted may be bad, so it must reach the end of the
            // file; a snapshot is synced before it is renamed into place, so it never may.
            if rest.len() <= end && !is_snapshot {
                return Ok(Replayed::torn(index, generation, offset, torn));
            }
            return Err(corrupt(offset, "frame fails its checksum".into()));
        }
        let payload = &rest[FRAME_HEADER_LEN..end];
        if is_snapshot && offset != HEADER_LEN {
            return Err(corrupt(
                offset,
                "a snapshot frame after the first frame".into(),
            ));
        }
        apply_frame(&mut index, payload).map_err(|detail| corrupt(offset, detail))?;
        offset += end;
    }
    Ok(Replayed {
        index,
        generation,
        valid_len: offset as u64,
        torn: None,
    })
}

impl Replayed {
    fn torn(index: Index, generation: u32, offset: usize, torn: Option<TornTail>) -> Self {
        Self {
            index,
            generation,
            valid_len: offset as u64,
            torn,
        }
    }
}

/// A reader over a frame's payload that reports truncation instead of panicking.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn need(&self, n: usize) -> Result<(), String> {
        if self.0.remaining() < n {
            return Err("frame payload ends early".into());
        }
        Ok(())
    }
    fn u8(&mut self) -> Result<u8, String> {
        self.need(1)?;
        Ok(self.0.get_u8())
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.need(4)?;
        Ok(self.0.get_u32_le())
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.need(8)?;
        Ok(self.0.get_i64_le())
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.need(8)?;
        Ok(self.0.get_u64_le())
    }
    fn bytes(&mut self) -> Result<Bytes, String> {
        let len = self.u32()? as usize;
        self.need(len)?;
        let out = Bytes::copy_from_slice(&self.0[..len]);
        self.0.advance(len);
        Ok(out)
    }
    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "a key is not UTF-8".to_string())
    }
}

fn apply_frame(index: &mut Index, payload: &[u8]) -> Result<(), String> {
    let mut r = Reader(payload);
    match r.u8()? {
        KIND_BATCH => {
            let first = r.i64()?;
            if first != index.current() + 1 {
                return Err(format!(
                    "batch starts at revision {first}, expected {}",
                    index.current() + 1
                ));
            }
            for _ in 0..r.u32()? {
                let ops = (0..r.u32()?)
                    .map(|_| match r.u8()? {
                        OP_PUT => Ok(Op::Put {
                            key: r.string()?,
                            value: r.bytes()?,
                        }),
                        OP_DELETE => Ok(Op::Delete { key: r.string()? }),
                        other => Err(format!("unknown op {other}")),
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                if !index.apply_ops(&ops) {
                    return Err("a logged transaction writes nothing".into());
                }
            }
        }
        KIND_COMPACT => {
            let revision = r.i64()?;
            index.publish();
            index
                .check_compact(revision)
                .map_err(|e| format!("bad compaction record: {e}"))?;
            index.compact(revision);
        }
        KIND_SNAPSHOT => {
            let current = r.i64()?;
            let compacted = r.i64()?;
            let count = r.u64()?;
            let mut keys = Vec::new();
            for _ in 0..count {
                let key = r.string()?;
                let versions = (0..r.u32()?)
                    .map(|_| {
                        Ok(Version {
                            mod_revision: r.i64()?,
                            create_revision: r.i64()?,
                            version: r.i64()?,
                            value: if r.u8()? == 1 { Some(r.bytes()?) } else { None },
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                if versions.is_empty() {
                    return Err(format!("key {key:?} has no versions"));
                }
                keys.push((key, versions));
            }
            *index = Index::from_snapshot(current, compacted, keys);
        }
        other => return Err(format!("unknown frame kind {other}")),
    }
    if r.0.has_remaining() {
        return Err("frame has trailing bytes".into());
    }
    index.publish();
    Ok(())
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
