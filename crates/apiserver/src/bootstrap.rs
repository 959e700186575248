//! Objects every cluster has from its first start, created if missing (as upstream's
//! bootstrap controllers do): the namespaces `default`, `kube-system`, `kube-public` and
//! `kube-node-lease`.

use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue;
use serde_json::json;

/// The namespaces upstream creates at start-up.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates whatever of the built-in objects is missing.
pub async fn ensure(registry: &Registry) -> Result<(), ApiError> {
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
    Ok(())
}
