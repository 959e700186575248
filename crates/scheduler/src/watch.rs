//! One loop for every watch the scheduler keeps: kube-rs' watcher with its back-off, reduced to
//! "this object is (still) here" and "this object is gone"; failures are logged and the watch
//! resumes by itself.

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

/// What a kind needs to be watched.
pub(crate) trait Watched:
    kube::Resource<DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + 'static
{
}

impl<K> Watched for K where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static
{
}

/// What a watch reports.
pub(crate) enum Seen<K> {
    /// Listed, added or changed.
    Present(K),
    /// Deleted.
    Gone(K),
}

/// Calls `handle` for every object of kind `K` as it appears, changes and goes, until aborted.
pub(crate) async fn each<K>(
    client: kube::Client,
    what: &'static str,
    mut handle: impl FnMut(Seen<K>),
) where
    K: Watched,
{
    let stream = watcher(Api::<K>::all(client), watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(mut object) | watcher::Event::InitApply(mut object)) => {
                // Not read here, and about half of an object's size: kube-scheduler trims
                // them from its caches too.
                object.meta_mut().managed_fields = None;
                handle(Seen::Present(object));
            }
            Ok(watcher::Event::Delete(object)) => handle(Seen::Gone(object)),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, what, "watching failed; retrying"),
        }
    }
}
