//! Pruning: fields a structural schema does not specify are dropped (upstream's default for
//! `apiextensions.k8s.io/v1`), except under `x-kubernetes-preserve-unknown-fields: true`; an
//! object's `apiVersion`, `kind` and `metadata` are always kept at the root (and in embedded
//! resources).

use super::preserves_unknown;
use serde_json::Value;

/// Prunes `value` by `schema`; `root` is the object itself (its type fields and metadata are
/// the API server's, not the schema's).
pub fn prune(schema: &Value, value: &mut Value, root: bool) {
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
                (keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                    || properties.is_some_and(|p| p.contains_key(key))
                    || additional.is_some_and(|a| a != &Value::Bool(false))
                    || preserves_unknown(schema)
            });
            for (key, child) in map.iter_mut() {
                if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = properties
                    .and_then(|p| p.get(key))
                    .or_else(|| additional.filter(|a| a.is_object()));
                if let Some(child_schema) = child_schema {
                    prune(child_schema, child, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    prune(item_schema, item, false);
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
        prune(&schema, &mut object, true);
        assert_eq!(
            object,
            json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"cronSpec": "*", "labels": {"a": "b"}, "items": [{"name": "n"}],
                "free": {"anything": {"goes": 1}}}})
        );
    }
}
