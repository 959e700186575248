//! OpenAPI v3, as much of it as clients need today: the `/openapi/v3` index and one document per
//! group-version whose operations carry `x-kubernetes-group-version-kind` and declare the
//! `fieldValidation` parameter. Seeing that parameter, kubectl (`apply`/`create` with the default
//! `--validate=strict`) leaves validation to the server instead of failing to find schemas.
//! Built-in kinds carry the schemas generated from the API's types (`builtin_schema`), custom
//! resources their definitions' schemas, so `kubectl explain` works for both.

use gantry_api::catalogue::{self, Resource};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

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

/// The built-in kinds' part of a group-version's schemas (the same for the server's life):
/// the kinds' schemas marked with their group-version-kind, every schema they use, and a hash
/// of it all.
struct BuiltinPart {
    schemas: Map<String, Value>,
    hash: u64,
}

fn builtin_part(group: &str, version: &str) -> &'static BuiltinPart {
    static PARTS: OnceLock<HashMap<(String, String), BuiltinPart>> = OnceLock::new();
    static EMPTY: OnceLock<BuiltinPart> = OnceLock::new();
    let parts = PARTS.get_or_init(|| {
        let schemas = crate::builtin_schema::get();
        let mut parts = HashMap::new();
        for (g, v) in group_versions() {
            let kinds: Vec<(&str, &Resource)> = catalogue::resources()
                .iter()
                .filter(|r| (r.group, r.version) == (g, v))
                .filter_map(|r| schemas.name_of(r).map(|name| (name, r)))
                .collect();
            let roots: Vec<&str> = kinds.iter().map(|(name, _)| *name).collect();
            let mut closure = schemas.closure(&roots);
            for (name, resource) in &kinds {
                if let Some(Value::Object(schema)) = closure.get_mut(*name) {
                    schema.insert(
                        "x-kubernetes-group-version-kind".into(),
                        json!([gvk(resource)]),
                    );
                }
            }
            let hash = crc_like(Value::Object(closure.clone()).to_string().as_bytes());
            parts.insert(
                (g.to_owned(), v.to_owned()),
                BuiltinPart {
                    schemas: closure,
                    hash,
                },
            );
        }
        parts
    });
    parts
        .get(&(group.to_owned(), version.to_owned()))
        .unwrap_or_else(|| {
            EMPTY.get_or_init(|| BuiltinPart {
                schemas: Map::new(),
                hash: 0,
            })
        })
}

/// A short, stable hash of a group-version's document, so clients cache it correctly: the
/// built-in part's (computed once) combined with the rest's.
fn hash(group: &str, version: &str) -> String {
    let rest = document_without_builtin(group, version)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let combined = crc_like(rest.as_bytes()) ^ builtin_part(group, version).hash.rotate_left(17);
    format!("{combined:016X}")
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

/// A custom kind's schema: its definition's `openAPIV3Schema` with the fields every object
/// has, so that `kubectl explain` can walk it (an open object for a version without one).
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

/// A custom kind's schema name: by its reversed group, as upstream names them.
fn schema_name(resource: &Resource) -> String {
    let reversed: Vec<&str> = resource.group.split('.').rev().collect();
    format!(
        "{}.{}.{}",
        reversed.join("."),
        resource.version,
        resource.kind
    )
}

/// `/openapi/v3/<api|apis/group>/<version>`, if served.
pub fn document(group: &str, version: &str) -> Option<Value> {
    let mut document = document_without_builtin(group, version)?;
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in &builtin_part(group, version).schemas {
            schemas.insert(name.clone(), schema.clone());
        }
    }
    Some(document)
}

/// The document but for the built-in kinds' schemas: the paths, and custom kinds' schemas.
fn document_without_builtin(group: &str, version: &str) -> Option<Value> {
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
        if crate::crd::served::get(r).is_some() {
            schemas.insert(schema_name(r), schema(r));
        }
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
    fn built_in_kinds_carry_their_generated_schemas() {
        let doc = document("apps", "v1").unwrap();
        let schemas = &doc["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert!(schemas["io.k8s.api.apps.v1.DeploymentStrategy"]["description"].is_string());
        assert!(schemas["io.k8s.api.core.v1.PodSpec"].is_object());
        // The hash is the document's: stable, and different per group-version.
        assert_eq!(hash("apps", "v1"), hash("apps", "v1"));
        assert_ne!(hash("apps", "v1"), hash("batch", "v1"));
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
