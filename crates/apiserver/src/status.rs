//! API errors as Kubernetes `Status` objects: every failure a client sees goes through here, with
//! upstream's `code`, `reason`, message wording and `details` (mirrors apimachinery's
//! `api/errors` constructors).

use serde_json::{Value, json};

/// One field-level cause of an error (`details.causes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Upstream's cause type, e.g. `FieldValueInvalid`, `FieldValueRequired`.
    pub reason: &'static str,
    /// Human-readable text, e.g. `Invalid value: "Foo": ...`.
    pub message: String,
    /// The field path, e.g. `metadata.name`.
    pub field: String,
}

impl Cause {
    /// A `FieldValueInvalid` cause (upstream `field.Invalid`).
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        let shown = match value {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        Self {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {shown}: {detail}"),
            field: field.to_owned(),
        }
    }

    /// A `FieldValueRequired` cause (upstream `field.Required`).
    pub fn required(field: &str, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired",
            message,
            field: field.to_owned(),
        }
    }

    /// A `FieldValueForbidden` cause (upstream `field.Forbidden`).
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {detail}"),
            field: field.to_owned(),
        }
    }

    /// A `FieldValueNotSupported` cause (upstream `field.NotSupported`).
    pub fn not_supported(field: &str, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
            field: field.to_owned(),
        }
    }

    fn rendered(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// What an error is about (`details`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// The object's name.
    pub name: String,
    /// The API group.
    pub group: String,
    /// The resource (plural) for most errors, the kind for `Invalid`.
    pub kind: String,
    /// The object's uid, when known.
    pub uid: String,
    /// Field-level causes.
    pub causes: Vec<Cause>,
    /// Seconds a client should wait before retrying.
    pub retry_after_seconds: Option<u32>,
}

/// An error answered to a client as a `Status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// The HTTP status code.
    pub code: u16,
    /// The `StatusReason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// The message, in upstream's wording.
    pub message: String,
    /// Optional details (boxed: errors travel in every `Result`, and most have none).
    pub details: Option<Box<Details>>,
}

/// `"pods"` for the core group, `"deployments.apps"` otherwise (upstream's GroupResource string).
pub fn group_resource(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn about(mut self, group: &str, resource: &str, name: &str) -> Self {
        self.details = Some(Box::new(Details {
            name: name.to_owned(),
            group: group.to_owned(),
            kind: resource.to_owned(),
            ..Details::default()
        }));
        self
    }

    /// 404: `pods "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let message = format!("{} {name:?} not found", group_resource(group, resource));
        Self::new(404, "NotFound", message).about(group, resource, name)
    }

    /// 409: `pods "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let message = format!(
            "{} {name:?} already exists",
            group_resource(group, resource)
        );
        Self::new(409, "AlreadyExists", message).about(group, resource, name)
    }

    /// 409: the optimistic-concurrency conflict, in upstream's words.
    pub fn conflict(group: &str, resource: &str, name: &str, detail: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} {name:?}: {detail}",
            group_resource(group, resource)
        );
        Self::new(409, "Conflict", message).about(group, resource, name)
    }

    /// 409 refusing a server-side apply: the conflicting fields as causes, nothing else in
    /// `details` (upstream's `NewApplyConflict`).
    pub fn apply_conflict(message: String, causes: Vec<Cause>) -> Self {
        let mut error = Self::new(409, "Conflict", message);
        error.details = Some(Box::new(Details {
            causes,
            ..Details::default()
        }));
        error
    }

    /// The detail upstream gives for a stale `resourceVersion`.
    pub const MODIFIED: &'static str = "the object has been modified; please apply your changes to the latest version and try again";

    /// 422: `Pod "x" is invalid: <causes>` (`Deployment.apps "x"` outside the core group).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let rendered: Vec<String> = causes.iter().map(Cause::rendered).collect();
        let joined = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        // Upstream names the kind with its group (`Deployment.apps`), the core group bare.
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let message = format!("{qualified} {name:?} is invalid: {joined}");
        let mut error = Self::new(422, "Invalid", message).about(group, kind, name);
        if let Some(details) = &mut error.details {
            details.causes = causes;
        }
        error
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 403 with a message.
    pub fn forbidden(group: &str, resource: &str, name: &str, detail: &str) -> Self {
        let message = format!(
            "{} {name:?} is forbidden: {detail}",
            group_resource(group, resource)
        );
        Self::new(403, "Forbidden", message).about(group, resource, name)
    }

    /// 403 from authorization, in upstream's shapes: `forbidden: <detail>` for a path,
    /// `pods is forbidden: <detail>` for a collection, `pods "x" is forbidden: <detail>` for
    /// one object.
    pub fn forbidden_because(group: &str, resource: &str, name: &str, detail: &str) -> Self {
        if resource.is_empty() {
            return Self::new(403, "Forbidden", format!("forbidden: {detail}"));
        }
        let what = group_resource(group, resource);
        let message = if name.is_empty() {
            format!("{what} is forbidden: {detail}")
        } else {
            format!("{what} {name:?} is forbidden: {detail}")
        };
        Self::new(403, "Forbidden", message).about(group, resource, name)
    }

    /// A webhook's denial: its code and (known) reason, with the message already worded.
    pub fn from_webhook(code: u16, reason: &str, message: String) -> Self {
        let reason = match reason {
            "BadRequest" => "BadRequest",
            "Forbidden" => "Forbidden",
            "Invalid" => "Invalid",
            "NotFound" => "NotFound",
            "Conflict" => "Conflict",
            "AlreadyExists" => "AlreadyExists",
            "Unauthorized" => "Unauthorized",
            "TooManyRequests" => "TooManyRequests",
            "InternalError" => "InternalError",
            _ => match code {
                403 => "Forbidden",
                422 => "Invalid",
                500 => "InternalError",
                _ => "BadRequest",
            },
        };
        Self::new(code, reason, message)
    }

    /// 401: the credentials presented are not valid (upstream says no more than that).
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 405: the verb is not served on this resource.
    pub fn method_not_supported(group: &str, resource: &str, verb: &str) -> Self {
        let message = format!(
            "{verb} is not supported on resources of kind {:?}",
            group_resource(group, resource)
        );
        Self::new(405, "MethodNotAllowed", message).about(group, resource, "")
    }

    /// 404 for a path that names no resource.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 406: no acceptable representation.
    pub fn not_acceptable(detail: &str) -> Self {
        Self::new(406, "NotAcceptable", detail.to_owned())
    }

    /// 415: a body in a format the server does not read.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"
            ),
        )
    }

    /// 415 with a specific reason.
    pub fn unsupported_media_type_because(detail: &str) -> Self {
        Self::new(415, "UnsupportedMediaType", detail.to_owned())
    }

    /// 413: a body over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 410: a resource version that has been compacted away.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// What a node's non-2xx answer becomes, as upstream's response checker maps it: the
    /// node's text is the message.
    pub fn from_node(code: u16, text: &str) -> Self {
        let text = text.trim().to_owned();
        match code {
            400 => Self::bad_request(text),
            404 => Self::new(404, "NotFound", text),
            500 => Self::internal(text),
            _ => Self::new(code, "", text),
        }
    }

    /// 500 with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// 504: the store did not answer in time.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            let mut details = serde_json::Map::new();
            for (key, value) in [
                ("name", &d.name),
                ("group", &d.group),
                ("kind", &d.kind),
                ("uid", &d.uid),
            ] {
                if !value.is_empty() {
                    details.insert(key.into(), Value::String(value.clone()));
                }
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                details.insert("causes".into(), Value::Array(causes));
            }
            if let Some(seconds) = d.retry_after_seconds {
                details.insert("retryAfterSeconds".into(), json!(seconds));
            }
            status["details"] = Value::Object(details);
        }
        status
    }
}

/// Maps a store failure to what upstream answers for an etcd failure of the same kind.
impl From<gantry_store::Error> for ApiError {
    fn from(error: gantry_store::Error) -> Self {
        use gantry_store::Error as E;
        match error {
            E::Compacted { requested } => Self::gone(format!(
                "The resourceVersion for the provided list is too old. (requested {requested})"
            )),
            E::FutureRevision { requested } => Self::timeout(format!(
                "Too large resource version: {requested}, current resource version is lower"
            )),
            E::ValueTooLarge { .. } => Self::too_large(gantry_store::validate::MAX_VALUE_BYTES),
            other => Self::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_the_group_resource_as_upstream() {
        let e = ApiError::not_found("apps", "deployments", "web");
        assert_eq!(e.message, r#"deployments.apps "web" not found"#);
        let s = e.to_status();
        assert_eq!(s["code"], 404);
        assert_eq!(
            s["details"],
            json!({"name": "web", "group": "apps", "kind": "deployments"})
        );
        assert_eq!(
            ApiError::not_found("", "pods", "p").message,
            r#"pods "p" not found"#
        );
    }

    #[test]
    fn a_conflict_carries_upstreams_retry_advice() {
        let e = ApiError::conflict("", "configmaps", "c", ApiError::MODIFIED);
        assert_eq!(
            e.message,
            r#"Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again"#
        );
    }

    #[test]
    fn invalid_lists_each_cause_with_its_field() {
        let causes = vec![
            Cause::invalid(
                "metadata.name",
                &json!("Bad_Name"),
                "a lowercase RFC 1123 subdomain",
            ),
            Cause::required("spec.containers", ""),
        ];
        let e = ApiError::invalid("", "Pod", "Bad_Name", causes);
        assert_eq!(
            e.message,
            r#"Pod "Bad_Name" is invalid: [metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain, spec.containers: Required value]"#
        );
        let s = e.to_status();
        assert_eq!(s["reason"], "Invalid");
        assert_eq!(s["details"]["causes"][1]["reason"], "FieldValueRequired");
        assert_eq!(s["details"]["kind"], "Pod");
    }
}
