//! The one thread that writes the log. Group commit falls out of its loop: while it waits for an
//! `fdatasync`, new transactions queue on its channel, and the next turn takes all of them into
//! one frame and one sync.
//!
//! Per turn: apply each queued transaction to the index (later ones see earlier ones), append one
//! frame holding those that wrote, sync it, publish the new revision to readers and watchers, and
//! only then reply to every caller. A failed write or sync rolls the index back and stops the
//! store from accepting writes, since the kernel may have dropped pages it had accepted.

use super::Shared;
use super::log::{self, BatchEncoder};
use super::meta::{self, Mark};
use crate::{Error, Result, Txn, TxnResponse};
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use tokio::sync::{oneshot, watch};

pub(super) enum Command {
    Txn(Txn, oneshot::Sender<Result<TxnResponse>>),
    Compact(i64, oneshot::Sender<Result<()>>),
}

type PendingTxn = (Txn, oneshot::Sender<Result<TxnResponse>>);

pub(super) struct Committer {
    pub(super) shared: Arc<Shared>,
    pub(super) file: File,
    pub(super) dir: PathBuf,
    pub(super) log_len: u64,
    pub(super) revisions: watch::Sender<i64>,
    pub(super) max_batch_bytes: usize,
    pub(super) rewrite_min_bytes: u64,
    /// The log's generation (see `meta`), and when its high-water mark was last written.
    pub(super) generation: u32,
    pub(super) checkpoint_interval: std::time::Duration,
    pub(super) last_mark: Option<std::time::Instant>,
    /// Set after a failed write; every later write is refused with it.
    pub(super) failed: Option<String>,
    /// Held so that no other process opens the same directory while this one writes.
    pub(super) _lock: File,
}

impl Committer {
    pub(super) fn run(mut self, commands: mpsc::Receiver<Command>) {
        while let Ok(first) = commands.recv() {
            let mut pending: Vec<PendingTxn> = Vec::new();
            let mut bytes = 0usize;
            let mut next = Some(first);
            while let Some(command) = next {
                match command {
                    Command::Txn(txn, reply) => {
                        bytes += txn_size(&txn);
                        pending.push((txn, reply));
                    }
                    Command::Compact(revision, reply) => {
                        // Keep the order callers saw: writes queued before the compaction first.
                        self.commit(std::mem::take(&mut pending));
                        let _ = reply.send(self.compact(revision));
                    }
                }
                next = if bytes < self.max_batch_bytes {
                    commands.try_recv().ok()
                } else {
                    None
                };
            }
            self.commit(pending);
        }
        // Clean shutdown: everything written is durable, so mark all of it.
        if self.failed.is_none() {
            self.mark();
        }
    }

    /// Records the log's durable length and revision in `store.meta`. Only a safety net against
    /// truncation, so a failure is logged and the store carries on.
    fn mark(&mut self) {
        let mark = Mark {
            generation: self.generation,
            log_len: self.log_len,
            revision: self.shared.read_index().visible(),
        };
        if let Err(error) = meta::write(&self.dir, mark) {
            tracing::warn!(%error, "cannot record the store log's high-water mark");
        }
        self.last_mark = Some(std::time::Instant::now());
    }

    fn mark_if_due(&mut self) {
        if self
            .last_mark
            .is_none_or(|at| at.elapsed() >= self.checkpoint_interval)
        {
            self.mark();
        }
    }

    fn commit(&mut self, txns: Vec<PendingTxn>) {
        if txns.is_empty() {
            return;
        }
        if let Some(reason) = &self.failed {
            for (_, reply) in txns {
                let _ = reply.send(Err(Error::Failed(reason.clone())));
            }
            return;
        }
        let mut responses = Vec::with_capacity(txns.len());
        let (before, encoder) = {
            let mut index = self.shared.write_index();
            let before = index.current();
            let mut encoder = BatchEncoder::new(before + 1);
            for (txn, _) in &txns {
                let (response, wrote) = index.apply(txn);
                if wrote {
                    encoder.push(&txn.ops);
                }
                responses.push(response);
            }
            (before, encoder)
        };
        let logged = encoder.txns();
        let written = if logged == 0 {
            Ok(())
        } else {
            encoder.finish().and_then(|frame| self.append(&frame))
        };
        match written {
            Ok(()) => {
                if logged > 0 {
                    self.shared.syncs.fetch_add(1, Ordering::Relaxed);
                    self.shared
                        .logged_txns
                        .fetch_add(u64::from(logged), Ordering::Relaxed);
                }
                let visible = self.shared.write_index().publish();
                self.revisions.send_replace(visible);
                for ((_, reply), response) in txns.into_iter().zip(responses) {
                    let _ = reply.send(Ok(response));
                }
                if logged > 0 {
                    self.mark_if_due();
                }
            }
            Err(error) => {
                self.shared.write_index().rollback(before);
                let reason = self.fail(error);
                for (_, reply) in txns {
                    let _ = reply.send(Err(Error::Failed(reason.clone())));
                }
            }
        }
    }

    fn compact(&mut self, revision: i64) -> Result<()> {
        if let Some(reason) = &self.failed {
            return Err(Error::Failed(reason.clone()));
        }
        self.shared.read_index().check_compact(revision)?;
        if let Err(error) = log::compact_frame(revision).and_then(|frame| self.append(&frame)) {
            return Err(Error::Failed(self.fail(error)));
        }
        let retained = self.shared.write_index().compact(revision);
        if self.log_len > self.rewrite_min_bytes.max(retained.saturating_mul(2)) {
            self.rewrite();
        }
        Ok(())
    }

    /// Replaces the log with one snapshot frame of what compaction kept. The new file is complete
    /// and synced before it is renamed over the old one, so a crash leaves one or the other.
    ///
    /// The compaction itself is already durable, so a rewrite that fails before its rename only
    /// costs disk space and is logged. Once the rename has happened the new file *is* the log:
    /// the handle written through becomes the append handle (no reopen that could fail and
    /// leave writes going to the unlinked old file), and a failed directory sync stops writes.
    fn rewrite(&mut self) {
        let path = self.dir.join(super::LOG_FILE);
        let tmp = self.dir.join(super::REWRITE_FILE);
        let generation = self.generation + 1;
        let prepared = log::snapshot_frame(&self.shared.read_index()).and_then(|frame| {
            let written = (|| {
                let mut file = File::create(&tmp)?;
                file.write_all(&log::file_header(generation))?;
                file.write_all(&frame)?;
                file.sync_all()?;
                fs::rename(&tmp, &path)?;
                Ok(file)
            })();
            written
                .map(|file| (file, (log::HEADER_LEN + frame.len()) as u64))
                .map_err(|e| Error::io("rewriting the store log", e))
        });
        let (file, len) = match prepared {
            Ok(done) => done,
            Err(error) => {
                let _ = fs::remove_file(&tmp);
                tracing::warn!(%error, "store log not rewritten; it keeps its compacted history");
                return;
            }
        };
        self.file = file;
        self.log_len = len;
        self.generation = generation;
        if let Err(source) = File::open(&self.dir).and_then(|dir| dir.sync_all()) {
            self.fail(Error::io(
                "syncing the store directory after a rewrite",
                source,
            ));
            return;
        }
        self.mark();
        tracing::info!(bytes = len, "rewrote the store log after compaction");
    }

    fn append(&mut self, frame: &[u8]) -> Result<()> {
        self.file
            .write_all(frame)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| Error::io("appending to the store log", source))?;
        self.log_len += frame.len() as u64;
        Ok(())
    }

    fn fail(&mut self, error: Error) -> String {
        let reason = error.to_string();
        tracing::error!(%reason, "store write failed; refusing further writes until restart");
        self.failed = Some(reason.clone());
        reason
    }
}

fn txn_size(txn: &Txn) -> usize {
    txn.ops
        .iter()
        .map(|op| match op {
            crate::Op::Put { key, value } => key.len() + value.len(),
            crate::Op::Delete { key } => key.len(),
        })
        .sum()
}
