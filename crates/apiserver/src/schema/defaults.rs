//! Defaulting from a structural schema: a property missing from an object that is present gets
//! its schema's `default` (then defaulted itself), depth first, as upstream does on every
//! read from the request body and from storage.

use serde_json::Value;

/// Fills in the defaults `schema` declares under `value`.
pub fn apply(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, child_schema) in properties {
                    if !map.contains_key(key)
                        && let Some(default) = child_schema.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(child) = map.get_mut(key) {
                        apply(child_schema, child);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                let listed = schema.get("properties").and_then(Value::as_object);
                for (key, child) in map.iter_mut() {
                    if listed.is_none_or(|p| !p.contains_key(key)) {
                        apply(additional, child);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply(item_schema, item);
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
    fn missing_fields_get_defaults_in_present_objects_only() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "default": 1},
                "policy": {"type": "object", "default": {}, "properties": {"mode": {"type": "string", "default": "Allow"}}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"weight": {"type": "integer", "default": 5}}}}}},
            "status": {"type": "object", "properties": {"phase": {"type": "string", "default": "New"}}}}});
        let mut object = json!({"spec": {"replicas": 3, "items": [{}, {"weight": 1}]}});
        apply(&schema, &mut object);
        assert_eq!(
            object,
            json!({"spec": {"replicas": 3, "policy": {"mode": "Allow"}, "items": [{"weight": 5}, {"weight": 1}]}})
        );
    }
}
