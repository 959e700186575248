//! Pruning: fields a structural schema does not specify are dropped (upstream's default for
//! `apiextensions.k8s.io/v1`), except under `x-kubernetes-preserve-unknown-fields: true`; an
//! object's `apiVersion`, `kind` and `metadata` are always kept at the root (and in embedded
//! resources).

use super::{child_path, preserves_unknown};
use serde_json::Value;

/// Prunes `value` by `schema`; `root` is the object itself (its type fields and metadata are
/// the API server's, not the schema's). Returns the paths of the fields it dropped
/// (`spec.bogus`), for strict field validation.
pub fn prune(schema: &Value, value: &mut Value, root: bool) -> Vec<String> {
    let mut dropped = Vec::new();
    prune_at(schema, value, root, "", &mut dropped);
    dropped.sort();
    dropped
}

fn prune_at(schema: &Value, value: &mut Value, root: bool, path: &str, dropped: &mut Vec<String>) {
    let embedded = schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            if properties.is_none() && additional.is_none() && preserves_unknown(schema) {
                return;
            }
            let keep_meta = root || embedded;
            map.retain(|key, _| {
                let kept = (keep_meta
                    && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                    || properties.is_some_and(|p| p.contains_key(key))
                    || additional.is_some_and(|a| a != &Value::Bool(false))
                    || preserves_unknown(schema);
                if !kept {
                    dropped.push(child_path(path, key));
                }
                kept
            });
            for (key, child) in map.iter_mut() {
                if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = properties
                    .and_then(|p| p.get(key))
                    .or_else(|| additional.filter(|a| a.is_object()));
                if let Some(child_schema) = child_schema {
                    prune_at(child_schema, child, false, &child_path(path, key), dropped);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_at(item_schema, item, false, &format!("{path}[{i}]"), dropped);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_go_unless_preserved() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "cronSpec": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}});
        let mut object = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"cronSpec": "*", "bogus": 1, "labels": {"a": "b"},
                "items": [{"name": "n", "extra": true}], "free": {"anything": {"goes": 1}}},
            "status": {"dropped": true}});
        let dropped = prune(&schema, &mut object, true);
        assert_eq!(dropped, ["spec.bogus", "spec.items[0].extra", "status"]);
        assert_eq!(
            object,
            json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"cronSpec": "*", "labels": {"a": "b"}, "items": [{"name": "n"}],
                "free": {"anything": {"goes": 1}}}})
        );
    }
}
