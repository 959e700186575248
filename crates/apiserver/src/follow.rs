//! In-memory views of store prefixes, as upstream's informers give its authorizers and admission
//! plugins: everything under the prefixes is listed once, then the store's watch is followed from
//! that revision, and a broken watch means listing again. Requests then decide from memory.

use crate::registry::Registry;
use crate::status::ApiError;
use futures::StreamExt;
use gantry_store::{EventKind, KeyValue, RangeRequest, WatchRequest, WatchResponse};
use std::time::Duration;

/// What a view does with the store's contents.
pub trait View: Clone + Send + Sync + 'static {
    /// What the logs call it.
    const WHAT: &'static str;

    /// The prefixes it holds (one watch covers all of them, so they should be few and close).
    fn prefixes(&self) -> Vec<String>;

    /// Starts over from `kvs`, everything now under the prefixes.
    fn reload(&self, kvs: &[KeyValue]);

    /// A key was written (`value`) or deleted (`None`); `key` is under one of the prefixes.
    fn apply(&self, changes: &[(String, Option<&[u8]>)]);
}

/// The longest prefix the view's prefixes share, which the watch covers.
fn common_prefix(prefixes: &[String]) -> String {
    let Some(first) = prefixes.first() else {
        return String::new();
    };
    let mut end = first.len();
    for other in &prefixes[1..] {
        end = end.min(
            first
                .bytes()
                .zip(other.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first[..end].to_owned()
}

async fn load<V: View>(registry: &Registry, view: &V) -> Result<i64, ApiError> {
    let mut all = Vec::new();
    let mut revision = 0;
    for prefix in view.prefixes() {
        let page = registry.store().range(RangeRequest::prefix(prefix)).await?;
        revision = revision.max(page.revision);
        all.extend(page.kvs);
    }
    view.reload(&all);
    Ok(revision)
}

async fn follow_from<V: View>(
    registry: &Registry,
    view: &V,
    revision: i64,
) -> Result<(), ApiError> {
    let prefixes = view.prefixes();
    let mut stream = registry
        .store()
        .watch(WatchRequest::prefix(common_prefix(&prefixes)).from_revision(revision + 1))
        .await?;
    while let Some(response) = stream.next().await {
        let WatchResponse::Events(events) = response? else {
            continue;
        };
        let changes: Vec<(String, Option<&[u8]>)> = events
            .iter()
            .filter(|event| prefixes.iter().any(|p| event.kv.key.starts_with(p)))
            .map(|event| {
                let value = match event.kind {
                    EventKind::Put => Some(&event.kv.value[..]),
                    EventKind::Delete => None,
                };
                (event.kv.key.clone(), value)
            })
            .collect();
        if !changes.is_empty() {
            view.apply(&changes);
        }
    }
    Ok(())
}

/// Loads `view`, then follows the store for it in the background until the process ends.
pub async fn start<V: View>(registry: &Registry, view: V) -> Result<(), ApiError> {
    let mut revision = load(registry, &view).await?;
    let registry = registry.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = follow_from(&registry, &view, revision).await {
                tracing::warn!(error = %e.message, what = V::WHAT, "following the store failed; re-listing");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            match load(&registry, &view).await {
                Ok(r) => revision = r,
                Err(e) => tracing::warn!(error = %e.message, what = V::WHAT, "listing failed"),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_covers_what_the_prefixes_share() {
        let prefixes = [
            "/registry/core/pods/".to_owned(),
            "/registry/core/persistentvolumeclaims/".to_owned(),
        ];
        assert_eq!(common_prefix(&prefixes), "/registry/core/p");
        assert_eq!(common_prefix(&prefixes[..1]), "/registry/core/pods/");
    }
}
