//! The webhook configurations, kept in memory and followed from the store, so that a write
//! in a cluster without webhooks costs no store read to find that out.

use crate::registry::Registry;
use crate::status::ApiError;
use futures::StreamExt;
use gantry_store::{EventKind, RangeRequest, WatchRequest, WatchResponse};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

const MUTATING: &str = "/registry/admissionregistration.k8s.io/mutatingwebhookconfigurations/";
const VALIDATING: &str = "/registry/admissionregistration.k8s.io/validatingwebhookconfigurations/";

/// Store key → configuration, per kind (keys sort by name, the order webhooks are called in).
#[derive(Debug, Default)]
pub struct Configurations {
    mutating: BTreeMap<String, Value>,
    validating: BTreeMap<String, Value>,
}

/// Shared by every request.
pub type Shared = Arc<RwLock<Configurations>>;

impl Configurations {
    fn put(&mut self, key: &str, value: &[u8]) {
        let Ok(object) = serde_json::from_slice::<Value>(value) else {
            return;
        };
        if key.starts_with(MUTATING) {
            self.mutating.insert(key.to_owned(), object);
        } else if key.starts_with(VALIDATING) {
            self.validating.insert(key.to_owned(), object);
        }
    }

    fn delete(&mut self, key: &str) {
        self.mutating.remove(key);
        self.validating.remove(key);
    }

    /// The mutating and the validating configurations, in name order.
    pub fn lists(&self) -> (Vec<Value>, Vec<Value>) {
        (
            self.mutating.values().cloned().collect(),
            self.validating.values().cloned().collect(),
        )
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.mutating.is_empty() && self.validating.is_empty()
    }
}

async fn load(registry: &Registry) -> Result<i64, ApiError> {
    let mut fresh = Configurations::default();
    let mut revision = 0;
    for prefix in [MUTATING, VALIDATING] {
        let page = registry.store().range(RangeRequest::prefix(prefix)).await?;
        for kv in &page.kvs {
            fresh.put(&kv.key, &kv.value);
        }
        revision = revision.max(page.revision);
    }
    *registry
        .webhooks()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
    Ok(revision)
}

async fn follow_from(registry: &Registry, revision: i64) -> Result<(), ApiError> {
    let mut stream = registry
        .store()
        .watch(
            WatchRequest::prefix("/registry/admissionregistration.k8s.io/")
                .from_revision(revision + 1),
        )
        .await?;
    while let Some(response) = stream.next().await {
        let WatchResponse::Events(events) = response? else {
            continue;
        };
        let mut configurations = registry
            .webhooks()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for event in events {
            match event.kind {
                EventKind::Put => configurations.put(&event.kv.key, &event.kv.value),
                EventKind::Delete => configurations.delete(&event.kv.key),
            }
        }
    }
    Ok(())
}

/// Loads the configurations, then follows them in the background.
pub async fn start(registry: &Registry) -> Result<(), ApiError> {
    let mut revision = load(registry).await?;
    let registry = registry.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = follow_from(&registry, revision).await {
                tracing::warn!(error = %e.message, "following the webhook configurations failed; re-listing");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            match load(&registry).await {
                Ok(r) => revision = r,
                Err(e) => {
                    tracing::warn!(error = %e.message, "listing the webhook configurations failed")
                }
            }
        }
    });
    Ok(())
}
