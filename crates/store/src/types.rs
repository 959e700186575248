//! The request and response shapes of the store contract. They follow etcd's v3 API closely
//! (revisions, `mod_revision`, `version`, prefix ranges, watches with previous values) but carry
//! only the shapes the API server uses, as kine does.

use bytes::Bytes;
use std::time::Duration;

/// A key's state at one revision, as etcd's `mvccpb.KeyValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, a `/`-separated path such as `/registry/pods/default/web-0`.
    pub key: String,
    /// The stored bytes.
    pub value: Bytes,
    /// The revision at which the key was last created (reset by a delete).
    pub create_revision: i64,
    /// The revision of the last write to the key.
    pub mod_revision: i64,
    /// How many writes the key has had since it was created (1 after the create).
    pub version: i64,
}

/// Which keys a range or watch covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySelector {
    /// Exactly one key.
    Key(String),
    /// Every key that starts with this prefix.
    Prefix(String),
}

impl KeySelector {
    /// The selector's key or prefix text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Key(k) | Self::Prefix(k) => k,
        }
    }

    /// Whether `key` is covered by the selector.
    pub fn matches(&self, key: &str) -> bool {
        match self {
            Self::Key(k) => k == key,
            Self::Prefix(p) => key.starts_with(p.as_str()),
        }
    }
}

/// A read of one key or a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    /// What to read.
    pub selector: KeySelector,
    /// Read the state as of this revision; `0` reads the current state.
    pub revision: i64,
    /// Return at most this many keys; `0` means no limit.
    pub limit: usize,
    /// For a prefix: start at this key (inclusive), as returned in [`RangeResponse::next`].
    pub start: Option<String>,
}

impl RangeRequest {
    /// A read of one key at the current revision.
    pub fn key(key: impl Into<String>) -> Self {
        Self::new(KeySelector::Key(key.into()))
    }

    /// A read of every key under `prefix` at the current revision.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self::new(KeySelector::Prefix(prefix.into()))
    }

    fn new(selector: KeySelector) -> Self {
        Self {
            selector,
            revision: 0,
            limit: 0,
            start: None,
        }
    }

    /// Reads as of `revision` instead of the current state.
    pub fn at_revision(mut self, revision: i64) -> Self {
        self.revision = revision;
        self
    }

    /// Returns at most `limit` keys.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues a limited read from the `next` key of a previous response.
    pub fn starting_at(mut self, start: impl Into<String>) -> Self {
        self.start = Some(start.into());
        self
    }
}

/// The result of a [`RangeRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeResponse {
    /// The keys found, in key order.
    pub kvs: Vec<KeyValue>,
    /// How many keys matched from the start key on, ignoring the limit (etcd's `count`).
    pub count: u64,
    /// Where to continue when the limit cut the result short: pass it to
    /// [`RangeRequest::starting_at`] with the same `revision`.
    pub next: Option<String>,
    /// The revision the read was served at.
    pub revision: i64,
}

/// A condition a transaction checks before it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The key exists.
    Exists,
    /// The key does not exist.
    Absent,
    /// The key's `mod_revision` equals this (0 means absent, as in etcd).
    ModRevision(i64),
    /// The key's `version` equals this (0 means absent, as in etcd).
    Version(i64),
}

/// One compare of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    /// The key compared.
    pub key: String,
    /// What must hold.
    pub condition: Condition,
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Sets a key's value, creating it if absent.
    Put {
        /// The key written.
        key: String,
        /// The new value.
        value: Bytes,
    },
    /// Removes a key; removing an absent key is not an error and writes nothing.
    Delete {
        /// The key removed.
        key: String,
    },
}

impl Op {
    /// The key the operation writes.
    pub fn key(&self) -> &str {
        match self {
            Self::Put { key, .. } | Self::Delete { key } => key,
        }
    }
}

/// All compares, then (only if every compare holds) all writes, atomically at one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    /// Conditions that must all hold.
    pub compares: Vec<Compare>,
    /// Writes applied when they do; each key at most once.
    pub ops: Vec<Op>,
}

impl Txn {
    /// A transaction with no compares.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition on `key`.
    pub fn when(mut self, key: impl Into<String>, condition: Condition) -> Self {
        self.compares.push(Compare {
            key: key.into(),
            condition,
        });
        self
    }

    /// Adds a put.
    pub fn put(mut self, key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.ops.push(Op::Put {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a delete.
    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.ops.push(Op::Delete { key: key.into() });
        self
    }
}

/// The result of a [`Txn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResponse {
    /// Whether every compare held (and so the writes were applied).
    pub succeeded: bool,
    /// The transaction's revision if it wrote anything, else the current revision.
    pub revision: i64,
    /// When it succeeded: each op's previous value, in op order (`None` where the key was absent).
    pub prev: Vec<Option<KeyValue>>,
    /// When it failed: the current value of each compared key that exists, in compare order, so a
    /// caller can retry without another read (the API server's `GuaranteedUpdate` does).
    pub current: Vec<KeyValue>,
}

/// Whether an event wrote or removed its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The key was created or updated.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change, as delivered by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// For a put, the new state; for a delete, the key with `mod_revision` set to the delete's
    /// revision and every other field empty (as etcd reports it).
    pub kv: KeyValue,
    /// The key's state just before this event, if it existed.
    pub prev: Option<KeyValue>,
}

/// A watch on one key or a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRequest {
    /// What to watch.
    pub selector: KeySelector,
    /// The first revision to deliver (inclusive, as etcd's `start_revision`); `0` starts after the
    /// current revision. The API server's "watch from resourceVersion R" is `R + 1`.
    pub start_revision: i64,
    /// Send [`WatchResponse::Progress`] when no event has been delivered for this long.
    pub progress_notify: bool,
}

impl WatchRequest {
    /// A watch of every key under `prefix`, starting after the current revision.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            selector: KeySelector::Prefix(prefix.into()),
            start_revision: 0,
            progress_notify: false,
        }
    }

    /// Delivers events from `revision` on (inclusive).
    pub fn from_revision(mut self, revision: i64) -> Self {
        self.start_revision = revision;
        self
    }

    /// Asks for progress notifications while idle.
    pub fn with_progress_notify(mut self) -> Self {
        self.progress_notify = true;
        self
    }
}

/// One item of a watch stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchResponse {
    /// Events in revision order (and, within a revision, in the transaction's op order).
    Events(Vec<Event>),
    /// Every event up to `revision` that matches the watch has been delivered. The API server
    /// turns this into a bookmark.
    Progress {
        /// The store's revision when the notification was sent.
        revision: i64,
    },
}

/// How often an idle watch with `progress_notify` hears from the store (etcd's default is ten
/// minutes; tests and the API server ask for less).
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(600);
