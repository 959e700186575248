//! The embedded backend: an append-only log of its own plus an in-memory MVCC index.
//!
//! Why a log of our own rather than redb, SQLite or fjall: the store's job is etcd's, and what
//! etcd needs from disk is exactly an ordered, checksummed log with one sync per group of writes.
//! A general engine adds a second structure (B-tree pages or LSM levels) whose writes are paid on
//! every commit and a second copy of every value in its cache. The index already has to live in
//! memory to serve watches and old revisions, so the disk only has to be able to rebuild it.
//! `gantry-bench store` measures the result against etcd (see docs/store.md and
//! docs/benchmarks.md).
//!
//! Layout of a data directory: `store.log` (see [`log`]), `store.meta` (its high-water mark, see
//! [`meta`]), `LOCK` (held while open) and, only during a rewrite, `store.log.tmp`.

mod committer;
mod index;
mod log;
mod meta;
mod watch;

pub use log::TornTail;

use crate::{
    Error, RangeRequest, RangeResponse, Result, Store, Txn, TxnResponse, WatchRequest, WatchStream,
    validate,
};
use committer::{Command, Committer};
use index::Index;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

const LOG_FILE: &str = "store.log";
const REWRITE_FILE: &str = "store.log.tmp";
const LOCK_FILE: &str = "LOCK";

/// How to open an embedded store.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// How long an idle watch with `progress_notify` waits before a progress notification.
    pub progress_interval: Duration,
    /// The log is rewritten after a compaction once it is larger than this and more than twice
    /// what the compaction kept.
    pub rewrite_min_bytes: u64,
    /// A group commit stops taking transactions once their keys and values reach this size.
    pub max_batch_bytes: usize,
    /// How often, at most, the log's high-water mark (`store.meta`) is brought up to date.
    pub checkpoint_interval: Duration,
}

impl EmbeddedConfig {
    /// Defaults for a data directory: etcd's ten-minute progress interval, a 64 MiB rewrite
    /// threshold, 16 MiB batches and a one-second checkpoint interval.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            progress_interval: crate::DEFAULT_PROGRESS_INTERVAL,
            rewrite_min_bytes: 64 << 20,
            max_batch_bytes: 16 << 20,
            checkpoint_interval: Duration::from_secs(1),
        }
    }
}

/// State shared by the store handles, the committer thread and the watch streams.
#[derive(Debug)]
struct Shared {
    index: RwLock<Index>,
    /// The latest visible revision; watch streams wait on it. The sender lives in the committer
    /// thread, so streams end when the store shuts down.
    revisions: tokio::sync::watch::Receiver<i64>,
    progress_interval: Duration,
    /// Frames synced and transactions they carried, to show group commit at work.
    syncs: AtomicU64,
    logged_txns: AtomicU64,
}

impl Shared {
    // A panic while holding the lock cannot leave the index half-updated in a way later readers
    // could observe (publish and rollback are the only multi-step writers), so poisoning is ignored.
    fn read_index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the embedded store has written since it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// `fdatasync` calls made for group commits.
    pub syncs: u64,
    /// Transactions those syncs made durable; `logged_txns / syncs` is the mean group size.
    pub logged_txns: u64,
}

/// Owns the committer thread; dropping the last store handle stops it and closes the files.
#[derive(Debug)]
struct CommitterHandle {
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for CommitterHandle {
    fn drop(&mut self) {
        self.commands.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The embedded store. Cheap to clone; the store closes when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    committer: Arc<CommitterHandle>,
    torn_tail: Option<TornTail>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `config.dir`, replaying its log. Fails with
    /// [`Error::Corrupt`] when the log fails a check, and when another process has it open.
    pub fn open(config: EmbeddedConfig) -> Result<Self> {
        let dir = config.dir.clone();
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let lock = lock_dir(&dir)?;
        // A rewrite that did not reach its rename left only a temporary file behind.
        let _ = fs::remove_file(dir.join(REWRITE_FILE));
        let path = dir.join(LOG_FILE);
        let mark = meta::read(&dir)?;
        if !path.exists() {
            if let Some(mark) = mark {
                return Err(Error::Corrupt {
                    path,
                    detail: format!("missing, but it had reached revision {}", mark.revision),
                });
            }
            create_log(&path, &dir)?;
        }
        let data =
            fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let replayed = log::replay(&path, &data)?;
        drop(data);
        let revision = replayed.index.current();
        meta::check(
            mark,
            &path,
            replayed.generation,
            replayed.valid_len,
            revision,
        )?;
        if let Some(torn) = &replayed.torn {
            tracing::warn!(
                path = %path.display(),
                offset = torn.offset,
                discarded = torn.discarded,
                "discarding an incomplete final log record left by a crash; it was never acknowledged"
            );
            truncate(&path, replayed.valid_len)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let (revisions_tx, revisions_rx) = tokio::sync::watch::channel(replayed.index.visible());
        let shared = Arc::new(Shared {
            index: RwLock::new(replayed.index),
            revisions: revisions_rx,
            progress_interval: config.progress_interval,
            syncs: AtomicU64::new(0),
            logged_txns: AtomicU64::new(0),
        });
        let (commands, commands_rx) = mpsc::channel();
        let committer = Committer {
            shared: Arc::clone(&shared),
            file,
            dir,
            log_len: replayed.valid_len,
            revisions: revisions_tx,
            max_batch_bytes: config.max_batch_bytes,
            rewrite_min_bytes: config.rewrite_min_bytes,
            generation: replayed.generation,
            checkpoint_interval: config.checkpoint_interval,
            last_mark: None,
            failed: None,
            _lock: lock,
        };
        let thread = std::thread::Builder::new()
            .name("store-committer".into())
            .spawn(move || committer.run(commands_rx))
            .map_err(|e| Error::io("starting the store committer thread", e))?;
        Ok(Self {
            shared,
            committer: Arc::new(CommitterHandle {
                commands: Some(commands),
                thread: Some(thread),
            }),
            torn_tail: replayed.torn,
        })
    }

    /// The incomplete final record that opening discarded, if there was one.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// Write statistics since open.
    pub fn stats(&self) -> Stats {
        Stats {
            syncs: self.shared.syncs.load(Ordering::Relaxed),
            logged_txns: self.shared.logged_txns.load(Ordering::Relaxed),
        }
    }

    fn send(&self, command: Command) -> Result<()> {
        self.committer
            .commands
            .as_ref()
            .ok_or(Error::Closed)?
            .send(command)
            .map_err(|_| Error::Closed)
    }
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(Error::io(
            format!("locking {}", dir.display()),
            std::io::Error::other("the store directory is in use by another process"),
        )),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(format!("locking {}", dir.display()), e)),
    }
}

/// Creates an empty log through a synced temporary file, so a crash never leaves a log without
/// its header.
fn create_log(path: &Path, dir: &Path) -> Result<()> {
    let tmp = dir.join(REWRITE_FILE);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(&log::file_header(1))?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    let result = (|| {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    })();
    result.map_err(|e| Error::io(format!("truncating {}", path.display()), e))
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        validate::selector(&request.selector)?;
        self.shared.read_index().range(&request)
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        validate::txn(&txn)?;
        let (reply, response) = oneshot::channel();
        self.send(Command::Txn(txn, reply))?;
        response.await.map_err(|_| Error::Closed)?
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        validate::selector(&request.selector)?;
        Ok(watch::stream(Arc::clone(&self.shared), request))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let (reply, response) = oneshot::channel();
        self.send(Command::Compact(revision, reply))?;
        response.await.map_err(|_| Error::Closed)?
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.shared.read_index().visible())
    }
}

#[cfg(test)]
#[path = "embedded/tests.rs"]
mod tests;
