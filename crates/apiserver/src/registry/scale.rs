//! The `scale` subresource (deployments, replicasets, statefulsets, replicationcontrollers, and
//! custom resources whose definition declares one): an
//! `autoscaling/v1` `Scale` view of `spec.replicas`, read and written through the owning object
//! so that a scale is an ordinary, conflict-checked update of it.

use super::Registry;
use super::write::PatchType;
use crate::meta;
use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use gantry_api::selector::LabelSelector;
use serde_json::{Value, json};

/// Where an object keeps what its `Scale` shows, as JSON pointers: built-in kinds use
/// `spec.replicas`, `status.replicas` and their `spec.selector`; a custom resource says where in
/// its definition's `subresources.scale` (the selector there is a string already).
struct Paths {
    spec: String,
    status: String,
    /// `None`: the built-in `spec.selector`.
    selector: Option<String>,
    /// `spec.replicas` when absent.
    default: i64,
}

/// A printer-column style path (`.spec.replicas`) as a JSON pointer (`/spec/replicas`).
fn pointer(path: &str) -> String {
    path.replace('.', "/")
}

fn paths(resource: &Resource) -> Paths {
    match crate::crd::served::get(resource).and_then(|s| s.scale.clone()) {
        Some(scale) => Paths {
            spec: pointer(
                scale["specReplicasPath"]
                    .as_str()
                    .unwrap_or(".spec.replicas"),
            ),
            status: pointer(
                scale["statusReplicasPath"]
                    .as_str()
                    .unwrap_or(".status.replicas"),
            ),
            selector: Some(
                scale["labelSelectorPath"]
                    .as_str()
                    .map(pointer)
                    .unwrap_or_default(),
            ),
            default: 0,
        },
        None => Paths {
            spec: "/spec/replicas".into(),
            status: "/status/replicas".into(),
            selector: None,
            default: 1,
        },
    }
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set_at(object: &mut Value, pointer: &str, value: Value) {
    let mut at = object;
    for field in pointer.trim_start_matches('/').split('/') {
        if !at.is_object() {
            *at = json!({});
        }
        let Some(map) = at.as_object_mut() else {
            return;
        };
        at = map.entry(field.to_owned()).or_insert(Value::Null);
    }
    *at = value;
}

/// The `Scale` of an object.
fn to_scale(resource: &Resource, object: &Value) -> Value {
    let paths = paths(resource);
    let replicas = object
        .pointer(&paths.spec)
        .and_then(Value::as_i64)
        .unwrap_or(paths.default);
    let status_replicas = object
        .pointer(&paths.status)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    // ReplicationControllers select with a plain map; the rest with a LabelSelector.
    let selector = match (&paths.selector, object.pointer("/spec/selector")) {
        (Some(at), _) => object
            .pointer(at)
            .and_then(Value::as_str)
            .map(str::to_owned),
        (None, Some(s)) if resource.plural == "replicationcontrollers" => {
            LabelSelector::from_label_selector_json(&json!({"matchLabels": s}))
                .ok()
                .map(|s| s.to_string())
        }
        (None, Some(s)) => LabelSelector::from_label_selector_json(s)
            .ok()
            .map(|s| s.to_string()),
        (None, None) => None,
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
    if let Some(selector) = selector.filter(|s| !s.is_empty()) {
        status["selector"] = json!(selector);
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
            .write_loop(
                resource,
                namespace,
                name,
                (None, super::write::Tracking::Update),
                dry_run,
                |current| {
                    let scale = to_scale(resource, current);
                    let (new_scale, precondition) = match &change {
                        ScaleChange::Replace(body) => {
                            let rv = meta::meta_str(body, "resourceVersion")
                                .filter(|rv| !rv.is_empty())
                                .map(|rv| {
                                    rv.parse::<i64>().map_err(|_| {
                                        ApiError::bad_request("invalid resourceVersion")
                                    })
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
                    set_at(&mut updated, &paths(resource).spec, json!(replicas));
                    Ok((updated, precondition))
                },
            )
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
