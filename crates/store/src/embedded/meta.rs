//! `store.meta`: the log's high-water mark, so that a log cut short (even exactly between two
//! frames, which the log alone cannot tell from a shorter history) is refused at open.
//!
//! It records how long the log was, and at which revision, at a moment when all of that was
//! durable. It is written only after the log's sync, at most once per checkpoint interval, after
//! every rewrite and at clean shutdown, always as a synced temporary file renamed into place: a
//! crash leaves an older mark or the newer one, both at or below the durable log. Each log
//! carries a generation in its header that a rewrite increments; a mark for an older generation
//! says nothing about a rewritten log, a mark for a newer one means an old log was put back.
//!
//! ```text
//! "GANTRYMT" u32:generation u64:log_len i64:revision u32:crc32(everything before)
//! ```

use crate::{Error, Result};
use bytes::{Buf, BufMut};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

pub(crate) const META_FILE: &str = "store.meta";
const META_TMP: &str = "store.meta.tmp";
const MAGIC: &[u8; 8] = b"GANTRYMT";
const LEN: usize = 8 + 4 + 8 + 8 + 4;

/// A point the log is known to have durably reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) generation: u32,
    pub(crate) log_len: u64,
    pub(crate) revision: i64,
}

pub(crate) fn read(dir: &Path) -> Result<Option<Mark>> {
    let path = dir.join(META_FILE);
    let data = match fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let corrupt = |detail: &str| Error::Corrupt {
        path: path.clone(),
        detail: detail.to_owned(),
    };
    if data.len() != LEN || &data[..8] != MAGIC {
        return Err(corrupt("not a gantry store mark (bad size or header)"));
    }
    let mut body = &data[8..];
    let mark = Mark {
        generation: body.get_u32_le(),
        log_len: body.get_u64_le(),
        revision: body.get_i64_le(),
    };
    if crc32fast::hash(&data[..LEN - 4]) != body.get_u32_le() {
        return Err(corrupt("the mark fails its checksum"));
    }
    Ok(Some(mark))
}

pub(crate) fn write(dir: &Path, mark: Mark) -> std::io::Result<()> {
    let mut data = Vec::with_capacity(LEN);
    data.extend_from_slice(MAGIC);
    data.put_u32_le(mark.generation);
    data.put_u64_le(mark.log_len);
    data.put_i64_le(mark.revision);
    data.put_u32_le(crc32fast::hash(&data));
    let tmp = dir.join(META_TMP);
    let mut file = File::create(&tmp)?;
    file.write_all(&data)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(META_FILE))
}

/// Refuses a log that is behind its mark: shorter, at a lower revision, or older.
pub(crate) fn check(
    mark: Option<Mark>,
    log: &Path,
    generation: u32,
    valid_len: u64,
    revision: i64,
) -> Result<()> {
    let Some(mark) = mark else {
        return Ok(());
    };
    let corrupt = |detail: String| {
        Err(Error::Corrupt {
            path: log.to_owned(),
            detail,
        })
    };
    if mark.generation > generation {
        return corrupt(format!(
            "the log is generation {generation} but generation {} was already written; an older log was restored",
            mark.generation
        ));
    }
    if mark.generation < generation {
        return Ok(()); // rewritten after the mark was taken
    }
    if valid_len < mark.log_len {
        return corrupt(format!(
            "truncated: {} bytes were durable but only {valid_len} are intact",
            mark.log_len
        ));
    }
    if revision < mark.revision {
        return corrupt(format!(
            "revision {revision} is behind revision {} that was durable",
            mark.revision
        ));
    }
    Ok(())
}
