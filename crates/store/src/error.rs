//! The store's one error type, shared by every backend so that callers (the API server) can map
//! each variant to one Kubernetes `Status` without knowing which backend they hold.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested revision is older than the compaction point; the API server turns this into
    /// `410 Gone` with reason `Expired`.
    #[error("required revision {requested} has been compacted")]
    Compacted {
        /// The revision that was asked for.
        requested: i64,
    },
    /// The requested revision has not happened yet.
    #[error("required revision {requested} is a future revision")]
    FutureRevision {
        /// The revision that was asked for.
        requested: i64,
    },
    /// A key (or prefix) that the store refuses to hold.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given, lossily decoded.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value over the request-size limit (upstream etcd's `--max-request-bytes`, 1.5 MiB).
    #[error("value for key {key:?} is {size} bytes, over the limit of {limit} bytes")]
    ValueTooLarge {
        /// The key being written.
        key: String,
        /// The value's size in bytes.
        size: usize,
        /// The largest accepted value.
        limit: usize,
    },
    /// A transaction whose shape the store does not accept (for example, a key written twice).
    #[error("invalid transaction: {0}")]
    InvalidTxn(String),
    /// The on-disk data failed a check at open; the store refuses to serve it.
    #[error("store data in {path} is corrupt: {detail}")]
    Corrupt {
        /// The file that failed the check.
        path: PathBuf,
        /// What was wrong, with the byte offset where it was found.
        detail: String,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A durable write failed; the embedded store refuses further writes rather than risk
    /// acknowledging data that the disk may have dropped. For the transactions that were in the
    /// failing write the outcome is unknown (the data may have reached the disk and reappear
    /// after a restart), as for etcd's ambiguous errors: callers must not read it as a conflict.
    #[error("store stopped accepting writes after a failed write: {0}")]
    Failed(String),
    /// The etcd backend could not complete the request.
    #[error("etcd: {0}")]
    Etcd(String),
    /// A stored value could not be turned back into what was written (encryption at rest: a
    /// key that is gone, or data that does not authenticate).
    #[error("{0}")]
    Transform(String),
    /// The store has been shut down.
    #[error("store is closed")]
    Closed,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
