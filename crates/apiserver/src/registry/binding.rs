//! `pods/binding` (and the older `bindings` resource): how the scheduler assigns a pod to a
//! node; and `pods/eviction`: a policy-aware delete. Mirrors upstream's pod storage: a binding
//! sets `spec.nodeName` only if it is still empty, copies the binding's annotations, and marks
//! the pod `PodScheduled`.

use super::{DeleteOptions, Registry};
use crate::meta;
use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use serde_json::{Value, json};

fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

impl Registry {
    /// Binds pod `name` to the node named in `binding.target`; returns a success `Status`.
    pub async fn bind(
        &self,
        pods: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        binding: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if let Some(named) = meta::meta_str(binding, "name")
            && named != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({named}) does not match the name on the URL ({name})"
            )));
        }
        let node = binding
            .pointer("/target/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    "",
                    "Binding",
                    name,
                    vec![crate::status::Cause::required("target.name", "")],
                )
            })?
            .to_owned();
        let annotations = binding.pointer("/metadata/annotations").cloned();
        let uid = binding
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let how = (Some("binding"), super::write::Tracking::Untracked);
        self.write_loop(pods, namespace, name, how, dry_run, |current| {
            let assigned = current
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !assigned.is_empty() {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    name,
                    &format!("pod {name} is already assigned to node {assigned:?}"),
                ));
            }
            if meta::meta_str(current, "deletionTimestamp").is_some() {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    name,
                    &format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            if let Some(uid) = &uid
                && meta::meta_str(current, "uid") != Some(uid.as_str())
            {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    name,
                    "the UID in the binding does not match the pod",
                ));
            }
            let mut pod = current.clone();
            pod["spec"]["nodeName"] = json!(node);
            if let Some(Value::Object(extra)) = &annotations {
                let meta = meta::metadata_mut(&mut pod)
                    .ok_or_else(|| ApiError::internal("pod without metadata"))?;
                let existing = meta.entry("annotations").or_insert_with(|| json!({}));
                for (k, v) in extra {
                    existing[k] = v.clone();
                }
            }
            set_scheduled(&mut pod);
            Ok((pod, None))
        })
        .await?;
        Ok(success())
    }

    /// Evicts a pod: deletes it with the eviction's options. (PodDisruptionBudgets are honoured
    /// once the disruption controller maintains their status.)
    pub async fn evict(
        &self,
        pods: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        eviction: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let options = eviction.get("deleteOptions").map_or_else(
            || Ok(DeleteOptions::default()),
            |o| DeleteOptions::parse(o.to_string().as_bytes(), &crate::request::Query::default()),
        )?;
        self.delete(pods, namespace, name, &options, dry_run)
            .await?;
        Ok(success())
    }
}

/// Sets the `PodScheduled` condition to `True`, as upstream's binding does.
fn set_scheduled(pod: &mut Value) {
    let now = meta::now_rfc3339();
    let condition = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let status = pod
        .as_object_mut()
        .map(|o| o.entry("status").or_insert_with(|| json!({})));
    let Some(status) = status.and_then(Value::as_object_mut) else {
        return;
    };
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    if let Some(list) = conditions.as_array_mut() {
        list.retain(|c| c["type"] != "PodScheduled");
        list.push(condition);
    }
}
