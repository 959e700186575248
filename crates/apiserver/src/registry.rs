//! The generic registry: one implementation of create, get, list, update, patch and delete for
//! every resource, over the store. Mirrors upstream's `genericregistry.Store`: the per-kind
//! [`Strategy`] is consulted at fixed points, and optimistic concurrency is the store's
//! compare-and-swap on `mod_revision`, which *is* `metadata.resourceVersion`.

mod apply;
mod binding;
mod list;
mod scale;
mod write;

pub use list::ListOptions;
pub use scale::ScaleChange;
pub use write::{DeleteOptions, PatchType, decode_patch};

use crate::meta;
use crate::status::ApiError;
use crate::strategy::Strategy;
use gantry_api::catalogue::Resource;
use gantry_store::{KeyValue, RangeRequest, Store};
use serde_json::Value;
use std::sync::Arc;

/// The generic registry over one store.
#[derive(Debug, Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    ranges: crate::allocator::Ranges,
    /// The admission webhook configurations, followed from the store.
    webhooks: crate::admission::webhook::cache::Shared,
    /// PodSecurity's defaults and exemptions.
    pod_security: Arc<crate::admission::pod_security::Configuration>,
}

/// The store key prefix of a resource in a namespace (or of every object of the resource).
pub fn prefix(resource: &Resource, namespace: Option<&str>) -> String {
    let group = match crate::convert::storage_group(resource) {
        "" => "core",
        group => group,
    };
    match namespace {
        Some(ns) if resource.namespaced => format!("/registry/{group}/{}/{ns}/", resource.plural),
        _ => format!("/registry/{group}/{}/", resource.plural),
    }
}

/// The store key of one object.
pub fn key(resource: &Resource, namespace: Option<&str>, name: &str) -> String {
    prefix(resource, namespace) + name
}

/// Decodes a stored object and stamps it with its `resourceVersion` and the served type.
pub fn decode(resource: &Resource, kv: &KeyValue) -> Result<Value, ApiError> {
    let mut object: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is not JSON: {e}", kv.key)))?;
    crate::convert::from_storage(resource, &mut object);
    stamp(resource, &mut object, kv.mod_revision);
    Ok(object)
}

fn stamp(resource: &Resource, object: &mut Value, revision: i64) {
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), Value::String(resource.api_version()));
        map.insert("kind".into(), Value::String(resource.kind.to_owned()));
    }
    meta::set_meta(
        object,
        "resourceVersion",
        Value::String(revision.to_string()),
    );
}

/// The bytes stored for an object: everything but its `resourceVersion`, which the store keeps.
fn encode(resource: &Resource, object: &Value) -> Result<Vec<u8>, ApiError> {
    let mut stored = object.clone();
    crate::convert::to_storage(resource, &mut stored);
    meta::remove_meta(&mut stored, "resourceVersion");
    serde_json::to_vec(&stored).map_err(|e| ApiError::internal(e.to_string()))
}

impl Registry {
    /// A registry over `store`, allocating Service addresses and node ports from `ranges`.
    pub fn new(store: Arc<dyn Store>, ranges: crate::allocator::Ranges) -> Self {
        Self {
            store,
            ranges,
            webhooks: crate::admission::webhook::cache::Shared::default(),
            pod_security: Arc::default(),
        }
    }

    /// Uses `config` for PodSecurity (before the registry is shared).
    pub fn with_pod_security(
        mut self,
        config: crate::admission::pod_security::Configuration,
    ) -> Self {
        self.pod_security = Arc::new(config);
        self
    }

    /// PodSecurity's defaults and exemptions.
    pub(crate) fn pod_security(&self) -> &crate::admission::pod_security::Configuration {
        &self.pod_security
    }

    /// The admission webhook configurations.
    pub(crate) fn webhooks(&self) -> &crate::admission::webhook::cache::Shared {
        &self.webhooks
    }

    /// The store underneath (the watch path reads it directly).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn current(&self, key: &str) -> Result<Option<KeyValue>, ApiError> {
        let mut response = self.store.range(RangeRequest::key(key)).await?;
        Ok(response.kvs.pop())
    }

    /// GET of one object.
    pub async fn get(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        match self.current(&key(resource, namespace, name)).await? {
            Some(kv) => decode(resource, &kv),
            None => Err(ApiError::not_found(resource.group, resource.plural, name)),
        }
    }

    fn strategy(resource: &'static Resource) -> Strategy {
        Strategy::for_resource(resource)
    }
}

#[cfg(test)]
#[path = "registry/apply_tests.rs"]
mod apply_tests;
#[cfg(test)]
#[path = "registry/tests.rs"]
mod tests;
