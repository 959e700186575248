//! A cache of every object of one kind, kept by a watch, with a signal on every change: what
//! the node's components (proxy, DNS, pod network) read their state from.

use futures::StreamExt;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::Arc;
use tokio::sync::Notify;

/// Watches `api` into a store, waking `changed` on every event (a burst of events leaves one
/// wake-up pending, so the reader coalesces). The task ends when the returned handle is aborted.
pub fn follow<K>(api: Api<K>, changed: Arc<Notify>) -> (Store<K>, tokio::task::JoinHandle<()>)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream =
        reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(_) => changed.notify_one(),
                Err(e) => tracing::debug!(error = %e, "watch error; retrying"),
            }
        }
    });
    (reader, task)
}
