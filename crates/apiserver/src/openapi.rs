//! OpenAPI v3, as much of it as clients need today: the `/openapi/v3` index and one document per
//! group-version whose operations carry `x-kubernetes-group-version-kind` and declare the
//! `fieldValidation` parameter. Seeing that parameter, kubectl (`apply`/`create` with the default
//! `--validate=strict`) leaves validation to the server instead of failing to find schemas.
//! Custom resources carry their definitions' schemas (so `kubectl explain` works for them); full
//! schemas of the built-in kinds (explain, strict validation) come with the schema work.

use gantry_api::catalogue::{self, Resource};
use serde_json::{Map, Value, json};

fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Every served group-version as `(group, version)`.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out = vec![("", "v1")];
    for group in catalogue::groups() {
        out.extend(group.versions.iter().map(|v| (group.name, *v)));
    }
    out
}

/// A short, stable hash of a group-version's document, so clients cache it correctly.
fn hash(group: &str, version: &str) -> String {
    let text = document(group, version)
        .map(|d| d.to_string())
        .unwrap_or_default();
    format!("{:016X}", crc_like(text.as_bytes()))
}

fn crc_like(bytes: &[u8]) -> u64 {
    // FNV-1a: enough to change when the document changes.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// `/openapi/v3`.
pub fn index() -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions() {
        let path = path_of(group, version);
        let url = format!("/openapi/v3/{path}?hash={}", hash(group, version));
        paths.insert(path, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn gvk(resource: &Resource) -> Value {
    json!({"group": resource.group, "version": resource.version, "kind": resource.kind})
}

fn operation(resource: &Resource, action: &str, with_validation: bool) -> Value {
    let mut parameters = vec![
        json!({"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}}),
    ];
    if with_validation {
        parameters.push(json!({"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}));
        parameters.push(json!({"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}}));
    }
    json!({
        "operationId": format!("{action}{}", resource.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(resource),
        "parameters": parameters,
        "responses": {"200": {"description": "OK"}},
    })
}

/// A kind's schema: a custom resource's own (its definition's `openAPIV3Schema`, with the
/// fields every object has), so that `kubectl explain` can walk it; for built-in kinds, an open
/// object until their schemas are generated.
fn schema(resource: &Resource) -> Value {
    match crate::crd::served::get(resource).and_then(|s| s.schema.clone()) {
        Some(mut schema) => {
            if let Some(map) = schema.as_object_mut() {
                map.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!([gvk(resource)]),
                );
                let properties = map.entry("properties").or_insert_with(|| json!({}));
                if let Some(properties) = properties.as_object_mut() {
                    properties.insert("apiVersion".into(), json!({"type": "string",
                        "description": "APIVersion defines the versioned schema of this representation of an object."}));
                    properties.insert("kind".into(), json!({"type": "string",
                        "description": "Kind is a string value representing the REST resource this object represents."}));
                    properties.insert(
                        "metadata".into(),
                        json!({"type": "object",
                        "description": "Standard object's metadata."}),
                    );
                }
            }
            schema
        }
        None => json!({
            "type": "object",
            "x-kubernetes-group-version-kind": [gvk(resource)],
            "x-kubernetes-preserve-unknown-fields": true,
        }),
    }
}

fn schema_name(resource: &Resource) -> String {
    // Custom kinds are named by their reversed group, as upstream names them.
    if crate::crd::served::get(resource).is_some() {
        let reversed: Vec<&str> = resource.group.split('.').rev().collect();
        return format!(
            "{}.{}.{}",
            reversed.join("."),
            resource.version,
            resource.kind
        );
    }
    let group = match resource.group {
        "" => "core".to_owned(),
        g => g.split('.').next().unwrap_or(g).to_owned(),
    };
    format!("io.k8s.api.{group}.{}.{}", resource.version, resource.kind)
}

/// `/openapi/v3/<api|apis/group>/<version>`, if served.
pub fn document(group: &str, version: &str) -> Option<Value> {
    let resources: Vec<&Resource> = catalogue::in_group_version(group, version).collect();
    if resources.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let base = format!("/{}", path_of(group, version));
    for r in resources {
        let collection = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        let mut item = Map::new();
        if r.has_verb("get") {
            item.insert("get".into(), operation(r, "get", false));
        }
        if r.has_verb("update") {
            item.insert("put".into(), operation(r, "put", true));
        }
        if r.has_verb("patch") {
            item.insert("patch".into(), operation(r, "patch", true));
        }
        if r.has_verb("delete") {
            item.insert("delete".into(), operation(r, "delete", false));
        }
        paths.insert(format!("{collection}/{{name}}"), Value::Object(item));
        if r.has_verb("create") {
            paths.insert(collection, json!({"post": operation(r, "post", true)}));
        }
        schemas.insert(schema_name(r), schema(r));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_points_at_every_group_version() {
        let index = index();
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(index["paths"]["api/v1"].is_object());
    }

    #[test]
    fn patch_operations_declare_field_validation_for_their_kind() {
        let doc = document("apps", "v1").unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        let params = patch["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "fieldValidation"));
    }
}
