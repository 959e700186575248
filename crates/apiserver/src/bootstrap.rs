//! Objects every cluster has from its first start, created if missing (as upstream's
//! bootstrap controllers do): the namespaces `default`, `kube-system`, `kube-public` and
//! `kube-node-lease`, the `kubernetes` Service in `default` on the service range's first
//! address, and the two system-critical PriorityClasses.

use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue;
use serde_json::json;

/// The namespaces upstream creates at start-up.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates whatever of the built-in objects is missing.
pub async fn ensure(
    registry: &Registry,
    ranges: &crate::allocator::Ranges,
) -> Result<(), ApiError> {
    let namespaces = catalogue::find("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("the catalogue has no namespaces"))?;
    for name in SYSTEM_NAMESPACES {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match registry.create(namespaces, None, object, false).await {
            Ok(_) => tracing::info!(namespace = name, "created namespace"),
            Err(e) if e.reason == "AlreadyExists" => {}
            Err(e) => return Err(e),
        }
    }
    let services = catalogue::find("", "v1", "services")
        .ok_or_else(|| ApiError::internal("the catalogue has no services"))?;
    let kubernetes = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ranges.first().to_string(),
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            "sessionAffinity": "None",
        },
    });
    match registry
        .create(services, Some("default"), kubernetes, false)
        .await
    {
        Ok(_) => tracing::info!(ip = %ranges.first(), "created the kubernetes service"),
        Err(e) if e.reason == "AlreadyExists" => {}
        Err(e) => return Err(e),
    }
    let classes = catalogue::find("scheduling.k8s.io", "v1", "priorityclasses")
        .ok_or_else(|| ApiError::internal("the catalogue has no priorityclasses"))?;
    for class in crate::priority::system_class_objects() {
        match registry.create(classes, None, class, false).await {
            Ok(created) => tracing::info!(
                class = crate::meta::meta_str(&created, "name").unwrap_or_default(),
                "created priority class"
            ),
            Err(e) if e.reason == "AlreadyExists" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Points the `kubernetes` Service at `address`, as upstream's endpoint reconciler does: the
/// Endpoints and the EndpointSlice `default/kubernetes` (port `https`), so that pods reach the
/// API server at the Service's cluster IP.
pub async fn publish_endpoints(
    registry: &Registry,
    address: std::net::SocketAddr,
) -> Result<(), ApiError> {
    let ip = address.ip().to_string();
    let port = address.port();
    let family = if address.is_ipv4() { "IPv4" } else { "IPv6" };
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": family,
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    for (group, plural, wanted) in [
        ("", "endpoints", endpoints),
        ("discovery.k8s.io", "endpointslices", slice),
    ] {
        let resource = catalogue::find(group, "v1", plural)
            .ok_or_else(|| ApiError::internal(format!("the catalogue has no {plural}")))?;
        match registry.get(resource, Some("default"), "kubernetes").await {
            Err(e) if e.code == 404 => {
                registry
                    .create(resource, Some("default"), wanted, false)
                    .await?;
            }
            Err(e) => return Err(e),
            Ok(mut current) => {
                let fields = ["subsets", "endpoints", "ports", "addressType"];
                if fields.iter().all(|f| current.get(*f) == wanted.get(*f)) {
                    continue;
                }
                for field in fields {
                    if let Some(value) = wanted.get(field) {
                        current[field] = value.clone();
                    }
                }
                registry
                    .update(
                        resource,
                        Some("default"),
                        "kubernetes",
                        None,
                        current,
                        false,
                    )
                    .await?;
            }
        }
    }
    tracing::info!(%address, "the kubernetes service points at this API server");
    Ok(())
}
