//! Field management on every write: who the writer is (the request's `fieldManager`, or its
//! user agent's product name), and `metadata.managedFields` kept as upstream's field manager
//! keeps it — updates take over the fields they change, server-side applies claim their
//! configuration's fields and conflict with other owners. The writer is held for the request
//! like its field validation (`warnings`), so the registry's shared write path records it
//! without every caller passing it down. The API server's own writes (bootstrap) record
//! nothing new.

use crate::meta;
use crate::status::{ApiError, Cause};
use gantry_api::catalogue::Resource;
use gantry_api::managed::{self, Builtin, Entry, Shape, Structural, Writer};
use serde_json::Value;
use std::future::Future;

/// The owner of whatever an object had when its first apply came without any owners.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// The longest field manager name upstream accepts, in bytes.
const MAX_MANAGER: usize = 128;

struct Scope {
    manager: String,
    subresource: Option<String>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Runs one write request's work as `manager`, through `subresource`.
pub async fn scoped<T>(
    manager: String,
    subresource: Option<&str>,
    work: impl Future<Output = T>,
) -> T {
    let scope = Scope {
        manager,
        subresource: subresource.map(str::to_owned),
    };
    SCOPE.scope(scope, work).await
}

/// The manager a request writes as. An explicit `fieldManager` must be at most 128 bytes of
/// printable characters (else 422 against the request's options kind, `PatchOptions`...);
/// without one, the user agent up to its first `/` (`kubectl`, `OpenAPI-Generator`), or
/// `unknown`.
pub fn manager_of(
    field_manager: Option<&str>,
    user_agent: Option<&str>,
    options_kind: &str,
) -> Result<String, ApiError> {
    let Some(name) = field_manager else {
        let product = user_agent
            .unwrap_or_default()
            .split('/')
            .next()
            .unwrap_or_default();
        let mut out = String::new();
        for c in product.chars().filter(|c| !c.is_control()) {
            if out.len() + c.len_utf8() > MAX_MANAGER {
                break;
            }
            out.push(c);
        }
        return Ok(if out.is_empty() {
            "unknown".into()
        } else {
            out
        });
    };
    let invalid = |cause: Cause| ApiError::invalid("meta.k8s.io", options_kind, "", vec![cause]);
    if name.len() > MAX_MANAGER {
        return Err(invalid(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: must have at most {MAX_MANAGER} bytes"),
            field: "fieldManager".into(),
        }));
    }
    if let Some((at, c)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return Err(invalid(Cause::invalid(
            "fieldManager",
            &Value::String(name.to_owned()),
            &format!("invalid character U+{:04X} (at position {at})", c as u32),
        )));
    }
    Ok(name.to_owned())
}

/// Runs `f` with the shape of `resource`: its structural schema for a custom resource, the
/// built-in table otherwise.
fn with_shape<R>(resource: &Resource, f: impl FnOnce(&dyn Shape) -> R) -> R {
    let served = crate::crd::served::get(resource);
    match served.as_ref().and_then(|s| s.schema.as_ref()) {
        Some(schema) => f(&Structural { schema }),
        None => f(&Builtin),
    }
}

fn entries_of(object: &Value) -> Vec<Entry> {
    managed::entries::read(object).unwrap_or_default()
}

/// The entries an update starts from: the live ones unless the body replaced them (a list)
/// or reset them (`[]` or `[{}]`); a subresource always starts from the live ones.
fn base_entries(old: &Value, sent: Option<&Value>, subresource: bool) -> Vec<Entry> {
    let reset = |items: &[Value]| {
        items
            .iter()
            .all(|e| e.as_object().is_some_and(|m| m.is_empty()))
    };
    match sent {
        Some(Value::Array(items)) if !subresource => {
            if reset(items) {
                Vec::new()
            } else {
                let wrapped = serde_json::json!({"metadata": {"managedFields": items}});
                managed::entries::read(&wrapped).unwrap_or_else(|_| entries_of(old))
            }
        }
        _ => entries_of(old),
    }
}

/// Runs `f` as the current request's writer of `resource`, now, with the resource's shape
/// (`None` outside a request).
fn as_writer<R>(
    resource: &Resource,
    f: impl FnOnce(&Writer<'_>, &dyn Shape, bool) -> R,
) -> Option<R> {
    SCOPE
        .try_with(|scope| {
            let api_version = resource.api_version();
            let time = meta::now_rfc3339();
            let writer = Writer {
                manager: &scope.manager,
                api_version: &api_version,
                subresource: scope.subresource.as_deref(),
                time: &time,
            };
            with_shape(resource, |shape| {
                f(&writer, shape, scope.subresource.is_some())
            })
        })
        .ok()
}

/// Records a create or update from `old` (`{}` for a create) to `new` in `new`'s
/// `managedFields`; `sent` is what the request body had there.
pub fn record_update(resource: &Resource, old: &Value, sent: Option<&Value>, new: &mut Value) {
    let recorded = as_writer(resource, |writer, shape, subresource| {
        let mut entries = base_entries(old, sent, subresource);
        managed::update(old, new, &mut entries, writer, shape);
        entries
    });
    let entries = recorded.unwrap_or_else(|| entries_of(old));
    managed::entries::write(new, &entries);
}

/// Applies `config` to `live` (`{}` when the object does not exist yet) for the request's
/// manager: the merged object with its `managedFields`, or a 409 naming the conflicts.
pub fn apply(
    resource: &Resource,
    live: &Value,
    config: &Value,
    force: bool,
) -> Result<Value, ApiError> {
    let applied = as_writer(resource, |writer, shape, _| {
        if let Some(problem) = managed::merge::key_problem(config, shape) {
            return Err(ApiError::internal(format!(
                "failed to create typed patch object ({}, Kind={}): {problem}",
                resource.api_version(),
                resource.kind
            )));
        }
        let mut entries = entries_of(live);
        // An object nobody owns yet (made before field management, or with its entries reset)
        // is first owned by `before-first-apply`, so the first apply can conflict with what
        // was there and does not remove it later, as upstream does.
        if entries.is_empty() {
            let first = Writer {
                manager: BEFORE_FIRST_APPLY,
                subresource: None,
                ..*writer
            };
            managed::update(&serde_json::json!({}), live, &mut entries, &first, shape);
        }
        let mut object = managed::apply(live, config, &mut entries, writer, force, shape).map_err(
            |conflicts| {
                let causes = conflicts
                    .iter()
                    .map(|c| Cause {
                        reason: "FieldManagerConflict",
                        message: format!("conflict with {}", c.owner_text()),
                        field: c.field(),
                    })
                    .collect();
                ApiError::apply_conflict(managed::conflict_message(&conflicts), causes)
            },
        )?;
        managed::entries::write(&mut object, &entries);
        Ok(object)
    });
    applied.unwrap_or_else(|| Err(ApiError::internal("an apply outside a request")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_manager_comes_from_the_request_or_its_user_agent() {
        let m = |f, ua| manager_of(f, ua, "PatchOptions");
        assert_eq!(m(Some("kubectl"), None).unwrap(), "kubectl");
        assert_eq!(
            m(None, Some("kubectl/v1.33.0 (linux/amd64) kubernetes/abc")).unwrap(),
            "kubectl"
        );
        assert_eq!(m(None, None).unwrap(), "unknown");
        let long = "x".repeat(129);
        let e = m(Some(&long), None).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(
            e.message
                .starts_with("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long"),
            "{}",
            e.message
        );
        let e = m(Some("a\u{7}"), None).unwrap_err();
        assert!(
            e.message
                .contains("invalid character U+0007 (at position 1)"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn updates_are_recorded_for_the_requests_manager_only_inside_a_request() {
        let configmaps = gantry_api::catalogue::find("", "v1", "configmaps").unwrap();
        let old = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        let mut new = json!({"metadata": {"name": "c"}, "data": {"a": "2"}});
        record_update(configmaps, &old, None, &mut new);
        assert!(new["metadata"].get("managedFields").is_none());
        scoped("editor".into(), None, async {
            record_update(configmaps, &old, None, &mut new);
        })
        .await;
        let fields = &new["metadata"]["managedFields"][0];
        assert_eq!(fields["manager"], "editor");
        assert_eq!(fields["operation"], "Update");
        assert_eq!(fields["fieldsV1"], json!({"f:data": {"f:a": {}}}));
        // A body that resets the entries starts from none.
        let mut again = new.clone();
        again["data"]["b"] = json!("3");
        scoped("other".into(), None, async {
            record_update(configmaps, &new, Some(&json!([{}])), &mut again);
        })
        .await;
        let managers = again["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(managers.len(), 1);
        assert_eq!(managers[0]["fieldsV1"], json!({"f:data": {"f:b": {}}}));
    }

    #[tokio::test]
    async fn a_conflicting_apply_is_a_409_with_a_cause_per_field() {
        let deployments = gantry_api::catalogue::find("apps", "v1", "deployments").unwrap();
        let live = json!({"metadata": {"name": "d", "managedFields": [{"manager": "kubectl",
            "operation": "Update", "apiVersion": "apps/v1", "subresource": "scale",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
            "spec": {"replicas": 3}});
        let config = json!({"metadata": {"name": "d"}, "spec": {"replicas": 5}});
        let e = scoped("ssa".into(), None, async {
            apply(deployments, &live, &config, false)
        })
        .await
        .unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
        );
        let status = e.to_status();
        assert_eq!(
            status["details"]["causes"][0]["reason"],
            "FieldManagerConflict"
        );
        assert_eq!(status["details"]["causes"][0]["field"], ".spec.replicas");
        let forced = scoped("ssa".into(), None, async {
            apply(deployments, &live, &config, true)
        })
        .await
        .unwrap();
        assert_eq!(forced["spec"]["replicas"], 5);
        assert_eq!(
            forced["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
