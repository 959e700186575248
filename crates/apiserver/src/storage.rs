//! Upstream's storage admission plugins, which every cluster runs:
//! - DefaultStorageClass: a new claim that names no class (the field absent; `""` means "no
//!   class" and stays) gets the class annotated as the default, the newest if several are;
//! - StorageObjectInUseProtection: new claims and volumes get the `kubernetes.io/pvc-protection`
//!   / `kubernetes.io/pv-protection` finalizer, which the protection controller removes once
//!   nothing uses the object, so that deleting a claim a pod mounts waits for the pod.

use crate::registry::{Registry, decode, prefix};
use crate::status::ApiError;
use gantry_api::catalogue;
use gantry_api::storage::{CLAIM_PROTECTION, VOLUME_PROTECTION};
use gantry_store::RangeRequest;
use serde_json::{Value, json};

/// Whether `class` is annotated as the default.
pub fn is_default_class(class: &Value) -> bool {
    let annotations = &class["metadata"]["annotations"];
    gantry_api::storage::is_default_class(|key| annotations.get(key).and_then(Value::as_str))
}

/// Adds `finalizer` to the object's finalizers unless it is there.
fn add_finalizer(object: &mut Value, finalizer: &str) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let list = meta.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(list) = list.as_array_mut()
        && !list.iter().any(|f| f.as_str() == Some(finalizer))
    {
        list.push(json!(finalizer));
    }
}

impl Registry {
    /// The default StorageClass's name: the newest of those annotated (upstream since 1.26).
    async fn default_storage_class(&self) -> Result<Option<String>, ApiError> {
        let resource = catalogue::find("storage.k8s.io", "v1", "storageclasses")
            .ok_or_else(|| ApiError::internal("the catalogue has no storageclasses"))?;
        let page = self
            .store()
            .range(RangeRequest::prefix(prefix(resource, None)))
            .await?;
        let mut best: Option<(String, String)> = None;
        for kv in &page.kvs {
            let class = decode(resource, kv)?;
            if !is_default_class(&class) {
                continue;
            }
            let created = crate::meta::meta_str(&class, "creationTimestamp")
                .unwrap_or_default()
                .to_owned();
            let name = crate::meta::meta_str(&class, "name")
                .unwrap_or_default()
                .to_owned();
            if best.as_ref().is_none_or(|(when, _)| created > *when) {
                best = Some((created, name));
            }
        }
        Ok(best.map(|(_, name)| name))
    }

    /// Admits a new claim: its default class, its protection finalizer.
    pub(crate) async fn admit_claim(&self, claim: &mut Value) -> Result<(), ApiError> {
        let names_class = claim
            .get("spec")
            .is_some_and(|s| s.get("storageClassName").is_some_and(|c| !c.is_null()));
        if !names_class
            && let Some(class) = self.default_storage_class().await?
            && let Some(spec) = claim.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.insert("storageClassName".into(), json!(class));
        }
        add_finalizer(claim, CLAIM_PROTECTION);
        Ok(())
    }
}

/// Admits a new volume: its protection finalizer.
pub(crate) fn admit_volume(volume: &mut Value) {
    add_finalizer(volume, VOLUME_PROTECTION);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalizers_are_added_once_and_defaults_are_recognised() {
        let mut volume = json!({"metadata": {"name": "v"}});
        admit_volume(&mut volume);
        admit_volume(&mut volume);
        assert_eq!(volume["metadata"]["finalizers"], json!([VOLUME_PROTECTION]));
        let class = |value: &str| json!({"metadata": {"annotations": {"storageclass.beta.kubernetes.io/is-default-class": value}}});
        assert!(is_default_class(&class("true")));
        assert!(!is_default_class(&class("false")));
        assert!(!is_default_class(&json!({"metadata": {}})));
    }
}
