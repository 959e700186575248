//! Built-in admission plugins beyond those the registry's per-kind code runs, in upstream's
//! order for a new pod: LimitRanger (defaults, then limits), PodSecurity, ResourceQuota last,
//! so that quota counts what the others made of the object.

pub mod limit_range;
pub mod node_restriction;
pub mod pod_security;
pub mod quota;
pub mod webhook;

use crate::registry::{Registry, decode, prefix};
use crate::status::ApiError;
use gantry_api::catalogue;
use gantry_store::RangeRequest;
use serde_json::Value;

/// Every object of a core resource in a namespace, read from the store.
pub(crate) async fn list_core(
    registry: &Registry,
    plural: &str,
    namespace: &str,
) -> Result<Vec<Value>, ApiError> {
    let resource = catalogue::find("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("no {plural}")))?;
    let page = registry
        .store()
        .range(RangeRequest::prefix(prefix(resource, Some(namespace))))
        .await?;
    page.kvs.iter().map(|kv| decode(resource, kv)).collect()
}

impl Registry {
    /// LimitRanger, then PodSecurity, on a new pod in `namespace`.
    pub(crate) async fn admit_new_pod(
        &self,
        pod: &mut Value,
        namespace: &str,
    ) -> Result<(), ApiError> {
        let ranges = list_core(self, "limitranges", namespace).await?;
        limit_range::apply(pod, &ranges)?;
        let namespaces = catalogue::find("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("no namespaces"))?;
        let Ok(ns) = self.get(namespaces, None, namespace).await else {
            return Ok(());
        };
        let name = crate::meta::meta_str(pod, "name")
            .unwrap_or_default()
            .to_owned();
        let config = self.pod_security();
        let user = crate::auth::user::with_current(|u| u.name.clone()).unwrap_or_default();
        if config.exempt(namespace, &user, pod) {
            return Ok(());
        }
        {
            let policy = pod_security::effective_policy(&ns, "enforce", config);
            let found = pod_security::violations(pod, &policy);
            if !found.is_empty() {
                return Err(ApiError::forbidden(
                    "",
                    "pods",
                    &name,
                    &pod_security::message(&policy, &found, false),
                ));
            }
        }
        {
            let policy = pod_security::effective_policy(&ns, "warn", config);
            let found = pod_security::violations(pod, &policy);
            if !found.is_empty() {
                crate::warnings::warn(pod_security::message(&policy, &found, true));
            }
        }
        Ok(())
    }
}

/// The EndpointSlices of the Service `name` in `namespace`.
pub(crate) async fn list_discovery_slices(
    registry: &Registry,
    namespace: &str,
    name: &str,
) -> Result<Vec<Value>, String> {
    let resource =
        catalogue::find("discovery.k8s.io", "v1", "endpointslices").ok_or("no endpointslices")?;
    let page = registry
        .store()
        .range(RangeRequest::prefix(prefix(resource, Some(namespace))))
        .await
        .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    for kv in &page.kvs {
        let slice = decode(resource, kv).map_err(|e| e.message)?;
        if slice
            .pointer("/metadata/labels/kubernetes.io~1service-name")
            .and_then(Value::as_str)
            == Some(name)
        {
            found.push(slice);
        }
    }
    Ok(found)
}
