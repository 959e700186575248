//! `/openapi/v2`, the Swagger 2.0 document kubectl still reads (as gnostic's protobuf) to
//! decide whether a kind's writes take `fieldValidation` — server-side validation — and, when
//! they do not, to validate on the client side. It lists every served resource's operations
//! with upstream's `x-kubernetes-group-version-kind` and `x-kubernetes-action` extensions and
//! parameters, for built-in and custom kinds alike.
//!
//! Not yet: the `definitions` (the kinds' schemas), so clients find no model in it: kubectl
//! then skips its client-side schema check, and `explain` uses OpenAPI v3. For the same reason
//! PATCH operations do not offer strategic merge patches here: kubectl would build one from
//! the (missing) v2 model rather than from its own compiled-in types.

mod proto;

use crate::handler::Body;
use crate::status::ApiError;
use bytes::Bytes;
use gantry_api::catalogue::{self, Resource};
use http::{HeaderMap, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};

/// What kubectl asks for (the older `@` form) and what is answered for either form.
const PROTOBUF_ASKED: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn gvk(resource: &Resource) -> Value {
    json!({"group": resource.group, "version": resource.version, "kind": resource.kind})
}

fn query(name: &str, kind: &str) -> Value {
    json!({"name": name, "in": "query", "type": kind, "uniqueItems": true})
}

fn path_parameter(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "type": "string", "uniqueItems": true})
}

/// One operation of `resource`, as upstream writes them.
fn operation(resource: &Resource, action: &str) -> Value {
    let mut parameters = Vec::new();
    let writes = matches!(action, "post" | "put" | "patch");
    if writes {
        parameters.push(
            json!({"name": "body", "in": "body", "required": true, "schema": {"type": "object"}}),
        );
        parameters.push(query("dryRun", "string"));
        parameters.push(query("fieldManager", "string"));
        parameters.push(query("fieldValidation", "string"));
    }
    if action == "patch" {
        parameters.push(query("force", "boolean"));
    }
    if matches!(action, "list" | "watch") {
        for (name, kind) in [
            ("labelSelector", "string"),
            ("fieldSelector", "string"),
            ("limit", "integer"),
            ("continue", "string"),
            ("resourceVersion", "string"),
            ("watch", "boolean"),
        ] {
            parameters.push(query(name, kind));
        }
    }
    let mut operation = json!({
        "operationId": format!("{action}{}", resource.kind),
        "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
        "schemes": ["https"],
        "parameters": parameters,
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(resource),
    });
    if action == "patch" {
        operation["consumes"] = json!([
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ]);
    } else if writes {
        operation["consumes"] = json!(["*/*"]);
    }
    operation
}

fn base(resource: &Resource) -> String {
    match resource.group {
        "" => format!("/api/{}", resource.version),
        group => format!("/apis/{group}/{}", resource.version),
    }
}

/// The whole document, as JSON.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut versions = vec![("", "v1")];
    for group in catalogue::groups() {
        versions.extend(group.versions.iter().map(|v| (group.name, *v)));
    }
    for (group, version) in versions {
        for resource in catalogue::in_group_version(group, version) {
            let base = base(resource);
            let (collection, mut shared) = if resource.namespaced {
                (
                    format!("{base}/namespaces/{{namespace}}/{}", resource.plural),
                    vec![path_parameter("namespace")],
                )
            } else {
                (format!("{base}/{}", resource.plural), Vec::new())
            };
            let mut list = Map::new();
            if resource.has_verb("list") {
                list.insert("get".into(), operation(resource, "list"));
            }
            if resource.has_verb("create") {
                list.insert("post".into(), operation(resource, "post"));
            }
            if !list.is_empty() {
                list.insert("parameters".into(), json!(shared));
                paths.insert(collection.clone(), Value::Object(list));
            }
            let mut item = Map::new();
            for (verb, method, action) in [
                ("get", "get", "get"),
                ("update", "put", "put"),
                ("patch", "patch", "patch"),
                ("delete", "delete", "delete"),
            ] {
                if resource.has_verb(verb) {
                    item.insert(method.into(), operation(resource, action));
                }
            }
            if !item.is_empty() {
                shared.push(path_parameter("name"));
                item.insert("parameters".into(), json!(shared));
                paths.insert(format!("{collection}/{{name}}"), Value::Object(item));
            }
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "definitions": {},
        "securityDefinitions": {"BearerToken": {
            "type": "apiKey", "name": "authorization", "in": "header",
            "description": "Bearer Token authentication",
        }},
        "security": [{"BearerToken": []}],
    })
}

/// Whether an Accept header takes `wanted` (`*/*` and `type/*` included).
fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    accept.split(',').any(|clause| {
        let media = clause.split(';').next().unwrap_or("").trim();
        media == wanted
            || media == "*/*"
            || media
                .strip_suffix("/*")
                .is_some_and(|kind| wanted.starts_with(&format!("{kind}/")))
    })
}

/// Answers `GET /openapi/v2`: protobuf for kubectl's Accept, JSON for JSON (or anything),
/// 406 for nothing it can give; an ETag of the JSON, and 304 when the client has it.
pub fn respond(headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
    let document = document();
    let json = document.to_string();
    let digest = ring::digest::digest(&ring::digest::SHA512, json.as_bytes());
    let etag: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    let etag = format!("\"{etag}\"");
    let protobuf = !accepts(headers, "application/json")
        && (accepts(headers, PROTOBUF_ASKED) || accepts(headers, PROTOBUF));
    let (content_type, body) = if protobuf {
        (PROTOBUF, Bytes::from(proto::document(&document)))
    } else if accepts(headers, "application/json") {
        ("application/json", Bytes::from(json))
    } else {
        return Err(ApiError::not_acceptable(
            "only application/json and the gnostic protobuf are served",
        ));
    };
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::VARY, "Accept");
    let response = if unchanged {
        builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::new(Bytes::new()).boxed_unsync())
    } else {
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(body).boxed_unsync())
    };
    response.map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests;
