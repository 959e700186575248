//! MutatingAdmissionWebhook and ValidatingAdmissionWebhook: the configurations' webhooks whose
//! rules, namespace selector and object selector match a write are called over HTTPS with an
//! `AdmissionReview` (`admission.k8s.io/v1`) — mutating ones first, in order, their JSON
//! patches applied; then validating ones — and a denial becomes upstream's error (`admission
//! webhook "<name>" denied the request: <message>`). A webhook that cannot be reached fails the
//! request under `failurePolicy: Fail` (the v1 default) and is skipped under `Ignore`. Dry-run
//! requests reach only webhooks declaring `sideEffects: None` or `NoneOnDryRun`. Deletes are
//! admitted too (`DELETE`, with the object being deleted as `oldObject`); nothing can be
//! patched into a delete.
//!
//! The webhook configurations themselves are never sent to webhooks, so that a broken webhook
//! can always be removed.

pub mod cache;
pub mod call;
pub mod matching;

use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue::{self, Resource};
use serde_json::{Value, json};

/// The operation being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A create.
    Create,
    /// An update (or patch).
    Update,
    /// A delete.
    Delete,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

/// The object a write is about: the one written, or for a delete the one deleted.
fn subject<'a>(object: &'a Value, old: Option<&'a Value>) -> &'a Value {
    match old {
        Some(old) if object.is_null() => old,
        _ => object,
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Registry {
    /// Runs the matching webhooks on `object` (replacing `old`), mutating it as they answer;
    /// whether any patched it.
    pub(crate) async fn admit_webhooks(
        &self,
        resource: &'static Resource,
        subresource: Option<&str>,
        operation: Operation,
        object: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> Result<bool, ApiError> {
        if resource.group == "admissionregistration.k8s.io" {
            return Ok(false);
        }
        let (mutating, validating) = {
            let configurations = self
                .webhooks()
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if configurations.is_empty() {
                return Ok(false);
            }
            configurations.lists()
        };
        let namespace = crate::meta::meta_str(subject(object, old), "namespace")
            .unwrap_or_default()
            .to_owned();
        let namespace_labels = if namespace.is_empty() {
            Value::Null
        } else {
            let namespaces = catalogue::find("", "v1", "namespaces")
                .ok_or_else(|| ApiError::internal("no namespaces"))?;
            self.get(namespaces, None, &namespace)
                .await
                .ok()
                .and_then(|ns| ns.pointer("/metadata/labels").cloned())
                .unwrap_or(Value::Null)
        };
        let asked = matching::Asked {
            resource,
            subresource,
            operation: operation.as_str(),
            namespace_labels: &namespace_labels,
        };
        let mut patched = false;
        for (configurations, mutates) in [(&mutating, true), (&validating, false)] {
            for configuration in configurations {
                for webhook in configuration
                    .get("webhooks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if !matching::matches(webhook, &asked, object, old) {
                        continue;
                    }
                    let name = text(webhook, "/name").to_owned();
                    let side_effects = text(webhook, "/sideEffects");
                    if dry_run && !matches!(side_effects, "None" | "NoneOnDryRun") {
                        return Err(ApiError::bad_request(format!(
                            "admission webhook {name:?} does not support dry run"
                        )));
                    }
                    let review = review(&asked, object, old, dry_run);
                    let answer = match call::call(self, webhook, &review).await {
                        Ok(answer) => answer,
                        Err(why) if text(webhook, "/failurePolicy") == "Ignore" => {
                            tracing::warn!(webhook = %name, error = %why, "ignoring a failed webhook call");
                            continue;
                        }
                        Err(why) => {
                            return Err(ApiError::internal(format!(
                                "failed calling webhook {name:?}: {why}"
                            )));
                        }
                    };
                    let mutates = mutates && operation != Operation::Delete;
                    patched |= apply_answer(&name, &answer, object, mutates)?;
                }
            }
        }
        Ok(patched)
    }
}

/// The `AdmissionReview` sent for a write.
fn review(
    asked: &matching::Asked<'_>,
    object: &Value,
    old: Option<&Value>,
    dry_run: bool,
) -> Value {
    let resource = asked.resource;
    let user = crate::auth::user::current().unwrap_or_default();
    let kind = json!({"group": resource.group, "version": resource.version, "kind": resource.kind});
    let gvr =
        json!({"group": resource.group, "version": resource.version, "resource": resource.plural});
    let mut request = json!({
        "uid": crate::meta::new_uid(),
        "kind": kind,
        "resource": gvr,
        "requestKind": kind,
        "requestResource": gvr,
        "name": text(subject(object, old), "/metadata/name"),
        "operation": asked.operation,
        "userInfo": {"username": user.name, "uid": user.uid, "groups": user.groups, "extra": user.extra},
        "object": object,
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": match asked.operation {
            "CREATE" => "CreateOptions",
            "DELETE" => "DeleteOptions",
            _ => "UpdateOptions",
        }},
    });
    let namespace = text(subject(object, old), "/metadata/namespace");
    if !namespace.is_empty() {
        request["namespace"] = json!(namespace);
    }
    if let Some(sub) = asked.subresource {
        request["subResource"] = json!(sub);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

/// Turns a webhook's answer into a denial, warnings or (for a mutating webhook) a patched
/// object; whether it patched.
fn apply_answer(
    name: &str,
    answer: &Value,
    object: &mut Value,
    mutates: bool,
) -> Result<bool, ApiError> {
    let response = answer.get("response").ok_or_else(|| {
        ApiError::internal(format!(
            "failed calling webhook {name:?}: the answer has no response"
        ))
    })?;
    for warning in response
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(text) = warning.as_str() {
            crate::warnings::warn(text.to_owned());
        }
    }
    if response.get("allowed").and_then(Value::as_bool) != Some(true) {
        let status = response.get("status").cloned().unwrap_or(Value::Null);
        let code = status
            .get("code")
            .and_then(Value::as_u64)
            .filter(|c| *c >= 400)
            .unwrap_or(400);
        let message = text(&status, "/message");
        let reason = text(&status, "/reason");
        let denied = format!("admission webhook {name:?} denied the request");
        let message = if !message.is_empty() {
            format!("{denied}: {message}")
        } else if !reason.is_empty() {
            format!("{denied}: {reason}")
        } else {
            format!("{denied} without explanation")
        };
        return Err(ApiError::from_webhook(
            u16::try_from(code).unwrap_or(400),
            reason,
            message,
        ));
    }
    if let Some(patch) = response
        .get("patch")
        .and_then(Value::as_str)
        .filter(|_| mutates)
    {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .map_err(|e| {
                ApiError::internal(format!(
                    "webhook {name:?} sent a patch that is not base64: {e}"
                ))
            })?;
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::internal(format!(
                "webhook {name:?} sent a patch that is not a JSON patch: {e}"
            ))
        })?;
        json_patch::patch(object, &patch).map_err(|e| {
            ApiError::internal(format!(
                "webhook {name:?} sent a patch that does not apply: {e}"
            ))
        })?;
        return Ok(true);
    }
    Ok(false)
}
