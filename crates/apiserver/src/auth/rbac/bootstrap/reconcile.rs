//! Reconciling the bootstrap policy at start: create what is missing, add to what exists the
//! rules or subjects it lacks (unless it is marked `autoupdate: "false"`), remove nothing.

use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue;
use serde_json::Value;

const GROUP: &str = "rbac.authorization.k8s.io";
const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";

fn protected(existing: &Value) -> bool {
    existing
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(AUTOUPDATE))
        .and_then(Value::as_str)
        == Some("false")
}

/// Appends to `existing[field]` the entries of `wanted[field]` it lacks; whether any were.
fn union(existing: &mut Value, wanted: &Value, field: &str) -> bool {
    let Some(add) = wanted.get(field).and_then(Value::as_array) else {
        return false;
    };
    let mut list = existing
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let before = list.len();
    for entry in add {
        if !list.contains(entry) {
            list.push(entry.clone());
        }
    }
    let changed = list.len() != before;
    existing[field] = Value::Array(list);
    changed
}

async fn reconcile(
    registry: &Registry,
    plural: &str,
    namespace: Option<&str>,
    wanted: Value,
) -> Result<(), ApiError> {
    let resource = catalogue::find(GROUP, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("the catalogue has no {plural}")))?;
    let name = wanted
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut existing = match registry.get(resource, namespace, &name).await {
        Ok(existing) => existing,
        Err(e) if e.code == 404 => {
            return match registry.create(resource, namespace, wanted, false).await {
                Ok(_) => Ok(()),
                Err(e) if e.code == 409 => Ok(()),
                Err(e) => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    if protected(&existing) {
        tracing::warn!(
            kind = plural,
            name,
            "not reconciling a protected bootstrap RBAC object (autoupdate: false)"
        );
        return Ok(());
    }
    let changed = if plural.ends_with("bindings") {
        if existing.get("roleRef") != wanted.get("roleRef") {
            // A binding's role cannot change: upstream deletes and recreates it.
            registry
                .delete(resource, namespace, &name, &Default::default(), false)
                .await?;
            registry.create(resource, namespace, wanted, false).await?;
            return Ok(());
        }
        union(&mut existing, &wanted, "subjects")
    } else {
        let mut changed = false;
        if wanted.get("aggregationRule").is_some()
            && existing.get("aggregationRule") != wanted.get("aggregationRule")
        {
            existing["aggregationRule"] = wanted["aggregationRule"].clone();
            changed = true;
        }
        // An aggregated role's rules are the aggregation controller's.
        if wanted.get("rules").is_some() {
            changed |= union(&mut existing, &wanted, "rules");
        }
        changed
    };
    if changed {
        registry
            .update(resource, namespace, &name, None, existing, false)
            .await?;
        tracing::info!(kind = plural, name, "reconciled a bootstrap RBAC object");
    }
    Ok(())
}

/// Creates or completes every object of the bootstrap policy.
pub async fn ensure(registry: &Registry) -> Result<(), ApiError> {
    for role in super::cluster_roles() {
        reconcile(registry, "clusterroles", None, role.to_json(None)).await?;
    }
    for binding in super::cluster_role_bindings() {
        reconcile(registry, "clusterrolebindings", None, binding).await?;
    }
    let bindings = catalogue::find(GROUP, "v1", "clusterrolebindings")
        .ok_or_else(|| ApiError::internal("the catalogue has no clusterrolebindings"))?;
    for name in super::gantry::RETIRED_CLUSTER_ROLE_BINDINGS {
        match registry
            .delete(bindings, None, name, &Default::default(), false)
            .await
        {
            Ok(_) => tracing::info!(name, "removed a retired cluster role binding"),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    for (namespace, role) in super::namespace_roles() {
        reconcile(
            registry,
            "roles",
            Some(namespace),
            role.to_json(Some(namespace)),
        )
        .await?;
    }
    for (namespace, binding) in super::namespace_role_bindings() {
        reconcile(
            registry,
            "rolebindings",
            Some(namespace),
            binding.to_json(Some(namespace)),
        )
        .await?;
    }
    Ok(())
}
