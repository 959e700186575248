//! WATCH: a stream of `{"type": ..., "object": ...}` lines from the store's watch, translated to
//! upstream's semantics: `resourceVersion` unset or `"0"` first sends the current state as
//! ADDED events; a version N streams changes after N; selectors turn an object that starts or
//! stops matching into ADDED or DELETED; `allowWatchBookmarks` passes the store's progress
//! notifications on as BOOKMARKs; `sendInitialEvents` ends the initial state with the
//! `k8s.io/initial-events-end` bookmark; a compacted version is a 410 `Expired` ERROR event.

use crate::registry::{ListOptions, Registry, decode, prefix};
use crate::status::ApiError;
use crate::table::TableWriter;
use bytes::Bytes;
use futures::StreamExt;
use gantry_api::catalogue::Resource;
use gantry_store::{EventKind, WatchRequest, WatchResponse};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

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

/// Upstream's default: a random time between 30 and 60 minutes, so watches do not all renew
/// together.
pub fn default_timeout() -> Duration {
    Duration::from_secs(1800 + fastrand::u64(..1800))
}

/// Starts a watch; returns a channel of encoded event lines. Errors that happen before the first
/// event are returned as errors (and become an HTTP error response).
pub async fn start(
    registry: &Registry,
    resource: &'static Resource,
    namespace: Option<&str>,
    options: WatchOptions,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let rv = options.list.resource_version.clone();
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
    // Replay the current state for "" and "0" (and for sendInitialEvents), then follow changes.
    let replay = initial || matches!(rv.as_deref(), None | Some("0"));
    let (state, from) = if replay {
        let mut list = options.list.clone();
        list.limit = 0;
        list.continue_token = None;
        let (items, revision, _, _) = registry.list_items(resource, namespace, &list).await?;
        (items, revision)
    } else {
        let rv = rv.unwrap_or_default();
        let revision: i64 = rv.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {rv:?}: must be a non-negative integer"
            ))
        })?;
        (Vec::new(), revision)
    };
    let mut request = WatchRequest::prefix(prefix(resource, namespace)).from_revision(from + 1);
    if options.bookmarks {
        request = request.with_progress_notify();
    }
    let mut stream = registry.store().watch(request).await?;
    let (tx, rx) = mpsc::channel(256);
    let mut writer = EventWriter {
        resource,
        table: options.table.clone(),
        tx,
    };
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(options.timeout);
        tokio::pin!(deadline);
        for mut object in state {
            restore_type(resource, &mut object);
            if !writer.send("ADDED", object).await {
                return;
            }
        }
        if initial {
            let mut bookmark = bookmark(resource, from);
            bookmark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            if !writer.send_raw("BOOKMARK", bookmark).await {
                return;
            }
        }
        loop {
            let item = tokio::select! {
                () = &mut deadline => return,
                item = stream.next() => item,
            };
            let keep_going = match item {
                None => false,
                Some(Err(gantry_store::Error::Compacted { requested })) => {
                    let status =
                        ApiError::gone(format!("too old resource version: {}", requested - 1));
                    writer.send_raw("ERROR", status.to_status()).await;
                    false
                }
                Some(Err(error)) => {
                    writer
                        .send_raw("ERROR", ApiError::from(error).to_status())
                        .await;
                    false
                }
                Some(Ok(WatchResponse::Progress { revision })) => {
                    options.bookmarks
                        && writer
                            .send_raw("BOOKMARK", bookmark(resource, revision))
                            .await
                }
                Some(Ok(WatchResponse::Events(events))) => {
                    let mut ok = true;
                    for event in events {
                        let Some((kind, object)) = translate(resource, &options.list, &event)
                        else {
                            continue;
                        };
                        if !writer.send(kind, object).await {
                            ok = false;
                            break;
                        }
                    }
                    ok
                }
            };
            if !keep_going {
                return;
            }
        }
    });
    Ok(rx)
}

fn restore_type(resource: &Resource, object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(resource.api_version()));
        map.insert("kind".into(), json!(resource.kind));
    }
}

fn bookmark(resource: &Resource, revision: i64) -> Value {
    json!({
        "kind": resource.kind,
        "apiVersion": resource.api_version(),
        "metadata": {"resourceVersion": revision.to_string()},
    })
}

/// Turns a store event into a watch event, applying the selectors to the old and new state.
fn translate(
    resource: &'static Resource,
    options: &ListOptions,
    event: &gantry_store::Event,
) -> Option<(&'static str, Value)> {
    let old = event.prev.as_ref().and_then(|kv| decode(resource, kv).ok());
    let old_matches = old.as_ref().is_some_and(|o| options.matches(resource, o));
    match event.kind {
        EventKind::Delete => {
            // The last state, at the deletion's revision, as upstream reports it.
            let mut object = old.filter(|_| old_matches)?;
            crate::meta::set_meta(
                &mut object,
                "resourceVersion",
                json!(event.kv.mod_revision.to_string()),
            );
            Some(("DELETED", object))
        }
        EventKind::Put => {
            let new = decode(resource, &event.kv).ok()?;
            let new_matches = options.matches(resource, &new);
            match (old_matches, new_matches) {
                (_, true) if old.is_none() => Some(("ADDED", new)),
                (true, true) => Some(("MODIFIED", new)),
                (false, true) => Some(("ADDED", new)),
                (true, false) => Some(("DELETED", new)),
                (false, false) => None,
            }
        }
    }
}

struct EventWriter {
    resource: &'static Resource,
    table: Option<TableWriter>,
    tx: mpsc::Sender<Bytes>,
}

impl EventWriter {
    async fn send(&mut self, kind: &str, object: Value) -> bool {
        let object = match &mut self.table {
            Some(table) => table.event_table(self.resource, object),
            None => object,
        };
        self.send_raw(kind, object).await
    }

    /// Sends one line; false when the client has gone.
    async fn send_raw(&mut self, kind: &str, object: Value) -> bool {
        let mut line = json!({"type": kind, "object": object})
            .to_string()
            .into_bytes();
        line.push(b'\n');
        self.tx.send(Bytes::from(line)).await.is_ok()
    }
}
