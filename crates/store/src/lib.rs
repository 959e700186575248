//! Gantry's store: a key-value store with etcd's semantics, behind one [`Store`] trait.
//!
//! - [`embedded::EmbeddedStore`] (the default) keeps an append-only, checksummed log on local
//!   disk and an in-memory multi-version index; writes are group-committed (one `fdatasync` for
//!   every write that arrived while the previous one was syncing).
//! - [`etcd::EtcdStore`] talks to a real etcd v3 over gRPC; HA set-ups use it.
//!
//! Both pass the one conformance suite in [`conformance`] (feature `conformance`).
//!
//! The contract, in etcd's terms: every write happens at one global, strictly increasing
//! revision; history is kept until [`Store::compact`]; a watch delivers every matching event
//! from its start revision in order, never skipping one; reads and watches below the compaction
//! point fail with [`Error::Compacted`].

pub mod compaction;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
mod error;
pub mod etcd;
mod types;
pub mod validate;

pub use error::{Error, Result};
pub use types::*;

use futures::stream::BoxStream;

/// A stream of watch responses. After an `Err` item the stream ends.
pub type WatchStream = BoxStream<'static, Result<WatchResponse>>;

/// A key-value store with etcd semantics. See the crate documentation for the contract.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Reads one key or a prefix, at the current or a past revision.
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse>;

    /// Applies a transaction atomically. The write is durable when this returns `Ok`.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse>;

    /// Starts a watch. Failing to start is reported here; a start revision that is already
    /// compacted is reported as the stream's first (and last) item, `Err(Compacted)`, as etcd
    /// reports it on its watch stream.
    async fn watch(&self, request: WatchRequest) -> Result<WatchStream>;

    /// Drops history before `revision`: reads below it fail with [`Error::Compacted`] from now on.
    /// Compacting at or below the current compaction point fails with `Compacted`; above the
    /// current revision, with [`Error::FutureRevision`].
    async fn compact(&self, revision: i64) -> Result<()>;

    /// The revision of the last write.
    async fn current_revision(&self) -> Result<i64>;
}
