//! WATCH, served from the [`WatchCache`]: a stream of `{"type": ..., "object": ...}` lines with
//! upstream's semantics. `resourceVersion` unset or `"0"` first sends the current state as ADDED
//! events; a version N streams changes after N (410 `Expired` as an ERROR event when the cache no
//! longer reaches back that far); selectors turn an object that starts or stops matching into
//! ADDED or DELETED; `allowWatchBookmarks` brings a BOOKMARK after a quiet minute;
//! `sendInitialEvents` ends the initial state with the `k8s.io/initial-events-end` bookmark.
//! Event bytes are the cache's, shared by every watcher; a client that stops reading for
//! [`SEND_TIMEOUT`](crate::watch_cache::SEND_TIMEOUT) is dropped.

use crate::registry::{ListOptions, prefix};
use crate::status::ApiError;
use crate::table::TableWriter;
use crate::watch_cache::{Cached, CachedEvent, SEND_TIMEOUT, WatchCache};
use bytes::{BufMut, Bytes, BytesMut};
use gantry_api::catalogue::Resource;
use gantry_store::EventKind;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A watch's parameters beyond the list options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Selectors and `resourceVersion`.
    pub list: ListOptions,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// When the server ends the watch.
    pub timeout: Duration,
    /// Render objects as Tables (for `kubectl get -w`).
    pub table: Option<TableWriter>,
}

/// How long a watch may stay silent before a bookmark (when the client allows them).
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

/// Upstream's default: a random time between 30 and 60 minutes, so watches do not all renew
/// together.
pub fn default_timeout() -> Duration {
    Duration::from_secs(1800 + fastrand::u64(..1800))
}

/// Starts a watch; returns a channel of encoded event lines. Problems found before the stream
/// starts are errors (an HTTP error response).
pub async fn start(
    cache: &WatchCache,
    resource: &'static Resource,
    namespace: Option<&str>,
    options: WatchOptions,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let initial = options.send_initial_events == Some(true);
    if initial && options.list.resource_version_match.as_deref() != Some("NotOlderThan") {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            vec![crate::status::Cause::forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )],
        ));
    }
    let rv = options.list.resource_version.clone();
    let requested: Option<i64> = match rv.as_deref() {
        None | Some("0") => None,
        Some(v) => Some(v.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {v:?}: must be a non-negative integer"
            ))
        })?),
    };
    if let Some(n) = requested
        && !cache.wait_for(n).await
    {
        return Err(ApiError::timeout(format!(
            "Too large resource version: {n}, current resource version is lower"
        )));
    }
    let replay = initial || requested.is_none();
    if replay && rv.is_none() {
        // A consistent start: at least as new as the store is now.
        cache.fresh_revision().await;
    }
    let (state, from, cursor) = if replay {
        let (items, revision, seq, epoch) = cache.snapshot(resource, namespace, &options.list);
        (items, revision, Ok((seq, epoch)))
    } else {
        let n = requested.unwrap_or_default();
        (Vec::new(), n, cache.cursor_after(n))
    };
    let (tx, rx) = mpsc::channel(64);
    let mut writer = Writer {
        resource,
        table: options.table.clone(),
        tx,
    };
    let cache = cache.clone();
    let prefix = prefix(resource, namespace);
    tokio::spawn(async move {
        let deadline = Instant::now() + options.timeout;
        let (mut seq, epoch) = match cursor {
            Ok(cursor) => cursor,
            Err(gone) => {
                writer.send_value("ERROR", gone.to_status()).await;
                return;
            }
        };
        for object in state {
            if !writer.send("ADDED", &object).await {
                return;
            }
        }
        if initial {
            let mut mark = bookmark(resource, from);
            mark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            if !writer.send_value("BOOKMARK", mark).await {
                return;
            }
        }
        let mut changes = cache.changes();
        let mut last_sent = Instant::now();
        loop {
            changes.borrow_and_update();
            let (events, next, revision) = match cache.events_from(seq, epoch, &prefix, 256) {
                Ok(read) => read,
                Err(gone) => {
                    writer.send_value("ERROR", gone.to_status()).await;
                    return;
                }
            };
            let advanced = next != seq;
            seq = next;
            for event in &events {
                let Some((kind, object)) = translate(resource, &options.list, event) else {
                    continue;
                };
                if !writer.send(kind, object).await {
                    return;
                }
                last_sent = Instant::now();
            }
            if advanced {
                continue; // more may be waiting
            }
            let bookmark_at = last_sent + BOOKMARK_EVERY;
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return,
                changed = changes.changed() => if changed.is_err() { return },
                () = tokio::time::sleep_until(bookmark_at), if options.bookmarks => {
                    if !writer.send_value("BOOKMARK", bookmark(resource, revision)).await {
                        return;
                    }
                    last_sent = Instant::now();
                }
            }
        }
    });
    Ok(rx)
}

fn bookmark(resource: &Resource, revision: i64) -> Value {
    json!({
        "kind": resource.kind,
        "apiVersion": resource.api_version(),
        "metadata": {"resourceVersion": revision.to_string()},
    })
}

/// The watch event for a cached change under the watcher's selectors.
fn translate<'a>(
    resource: &'static Resource,
    options: &ListOptions,
    event: &'a CachedEvent,
) -> Option<(&'static str, &'a Cached)> {
    let old_matches = event
        .prev
        .as_ref()
        .is_some_and(|p| options.matches(resource, &p.attrs));
    match event.kind {
        EventKind::Delete => old_matches.then_some(("DELETED", &event.object)),
        EventKind::Put => {
            let new_matches = options.matches(resource, &event.object.attrs);
            match (event.prev.is_some(), old_matches, new_matches) {
                (false, _, true) | (true, false, true) => Some(("ADDED", &event.object)),
                (true, true, true) => Some(("MODIFIED", &event.object)),
                (true, true, false) => Some(("DELETED", &event.object)),
                _ => None,
            }
        }
    }
}

struct Writer {
    resource: &'static Resource,
    table: Option<TableWriter>,
    tx: mpsc::Sender<Bytes>,
}

impl Writer {
    /// Sends a cached object: its shared bytes with the served type spliced in front, or a
    /// Table row when the client asked for Tables.
    async fn send(&mut self, kind: &str, object: &Cached) -> bool {
        if let Some(table) = &mut self.table {
            let row = table.event_table(self.resource, object.value(self.resource));
            return self.send_value(kind, row).await;
        }
        let typed = object.typed_bytes(self.resource);
        let mut line = BytesMut::with_capacity(typed.len() + 32);
        line.put_slice(b"{\"type\":\"");
        line.put_slice(kind.as_bytes());
        line.put_slice(b"\",\"object\":");
        line.put_slice(&typed);
        line.put_slice(b"}\n");
        self.push(line.freeze()).await
    }

    async fn send_value(&mut self, kind: &str, object: Value) -> bool {
        let mut line = json!({"type": kind, "object": object})
            .to_string()
            .into_bytes();
        line.push(b'\n');
        self.push(Bytes::from(line)).await
    }

    /// False when the client has gone or has not read for [`SEND_TIMEOUT`].
    async fn push(&self, line: Bytes) -> bool {
        matches!(
            tokio::time::timeout(SEND_TIMEOUT, self.tx.send(line)).await,
            Ok(Ok(()))
        )
    }
}
