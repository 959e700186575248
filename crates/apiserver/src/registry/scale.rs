//! The `scale` subresource (deployments, replicasets, statefulsets, replicationcontrollers): an
//! `autoscaling/v1` `Scale` view of `spec.replicas`, read and written through the owning object
//! so that a scale is an ordinary, conflict-checked update of it.

use super::Registry;
use super::write::PatchType;
use crate::meta;
use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use gantry_api::selector::LabelSelector;
use serde_json::{Value, json};

/// The `Scale` of an object.
fn to_scale(resource: &Resource, object: &Value) -> Value {
    let replicas = object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let status_replicas = object
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    // ReplicationControllers select with a plain map; the rest with a LabelSelector.
    let selector = match object.pointer("/spec/selector") {
        Some(s) if resource.plural == "replicationcontrollers" => {
            LabelSelector::from_label_selector_json(&json!({"matchLabels": s})).ok()
        }
        Some(s) => LabelSelector::from_label_selector_json(s).ok(),
        None => None,
    };
    let mut metadata = json!({});
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(value) = object.pointer(&format!("/metadata/{field}")) {
            metadata[field] = value.clone();
        }
    }
    let mut status = json!({"replicas": status_replicas});
    if let Some(selector) = selector {
        status["selector"] = json!(selector.to_string());
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": replicas},
        "status": status,
    })
}

fn replicas_of(scale: &Value, name: &str) -> Result<i64, ApiError> {
    match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(n),
            _ => Err(ApiError::invalid(
                "autoscaling",
                "Scale",
                name,
                vec![crate::status::Cause::invalid(
                    "spec.replicas",
                    v,
                    "must be greater than or equal to 0",
                )],
            )),
        },
    }
}

impl Registry {
    /// GET `.../scale`.
    pub async fn get_scale(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        Ok(to_scale(
            resource,
            &self.get(resource, namespace, name).await?,
        ))
    }

    /// PUT or PATCH `.../scale`: the new `Scale` is built from the current one, and only its
    /// `spec.replicas` is written back to the object.
    pub async fn write_scale(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        change: ScaleChange<'_>,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let object = self
            .write_loop(resource, namespace, name, None, dry_run, |current| {
                let scale = to_scale(resource, current);
                let (new_scale, precondition) = match &change {
                    ScaleChange::Replace(body) => {
                        let rv = meta::meta_str(body, "resourceVersion")
                            .filter(|rv| !rv.is_empty())
                            .map(|rv| {
                                rv.parse::<i64>()
                                    .map_err(|_| ApiError::bad_request("invalid resourceVersion"))
                            })
                            .transpose()?;
                        ((*body).clone(), rv)
                    }
                    ScaleChange::Patch(kind, patch) => {
                        let mut patched = scale.clone();
                        super::write::apply_patch(
                            &mut patched,
                            *kind,
                            patch,
                            "autoscaling",
                            "Scale",
                            name,
                        )?;
                        (patched, None)
                    }
                };
                let replicas = replicas_of(&new_scale, name)?;
                let mut updated = current.clone();
                updated["spec"]["replicas"] = json!(replicas);
                Ok((updated, precondition))
            })
            .await?;
        Ok(to_scale(resource, &object))
    }
}

/// How a scale write changes the `Scale`.
#[derive(Debug)]
pub enum ScaleChange<'a> {
    /// PUT of a whole `Scale`.
    Replace(&'a Value),
    /// PATCH of the `Scale`.
    Patch(PatchType, &'a Value),
}
