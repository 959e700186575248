//! Validation against a structural schema, with upstream's field paths (`spec.items[0].name`)
//! and messages (kube-openapi's, as the apiextensions server reports them): types (with
//! `nullable`, `x-kubernetes-int-or-string`), `required`, `enum`, `pattern`, numeric bounds,
//! string lengths, item counts, nested `properties`, `additionalProperties` and `items`.

use super::child_path;
use crate::status::Cause;
use serde_json::{Value, json};

/// Every violation of `schema` in `object` (a whole object: its `apiVersion`, `kind` and
/// `metadata` are the API server's to check).
pub fn validate(schema: &Value, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    check(schema, object, "", true, &mut causes);
    causes
}

/// The JSON type name upstream reports for a value.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    match wanted {
        "integer" => value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => value.is_number(),
        other => type_name(value) == other,
    }
}

fn number(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

fn shown(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn check(schema: &Value, value: &Value, path: &str, root: bool, causes: &mut Vec<Cause>) {
    let invalid = |causes: &mut Vec<Cause>, detail: String| {
        causes.push(Cause::invalid(path, value, &detail));
    };
    if value.is_null() {
        if !flag(schema, "nullable") && schema.get("type").is_some() {
            let wanted = schema["type"].as_str().unwrap_or_default();
            causes.push(Cause::invalid(
                path,
                &json!("null"),
                &format!("{path} in body must be of type {wanted}: \"null\""),
            ));
        }
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(has_type(value, "integer") || value.is_string()) {
            let got = type_name(value);
            causes.push(Cause::invalid(
                path,
                &json!(got),
                &format!("{path} in body must be of type integer,string: \"{got}\""),
            ));
        }
        return;
    }
    if let Some(wanted) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, wanted)
    {
        let got = type_name(value);
        causes.push(Cause::invalid(
            path,
            &json!(got),
            &format!("{path} in body must be of type {wanted}: \"{got}\""),
        ));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let supported: Vec<String> = options
            .iter()
            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
            .collect();
        let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
        causes.push(Cause::not_supported(path, value, &supported));
    }
    match value {
        Value::String(text) => {
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pattern) {
                    Ok(re) if !re.is_match(text) => {
                        invalid(causes, format!("{path} in body should match '{pattern}'"));
                    }
                    Ok(_) => {}
                    Err(_) => invalid(causes, format!("{path} has an invalid pattern '{pattern}'")),
                }
            }
            let length = text.chars().count() as f64;
            if let Some(max) = number(schema, "maxLength")
                && length > max
            {
                causes.push(Cause {
                    reason: "FieldValueTooLong",
                    message: format!("Too long: may not be more than {} bytes", shown(max)),
                    field: path.to_owned(),
                });
            }
            if let Some(min) = number(schema, "minLength")
                && length < min
            {
                invalid(
                    causes,
                    format!(
                        "{path} in body should be at least {} chars long",
                        shown(min)
                    ),
                );
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or_default();
            if let Some(min) = number(schema, "minimum") {
                if flag(schema, "exclusiveMinimum") && n <= min {
                    invalid(
                        causes,
                        format!("{path} in body should be greater than {}", shown(min)),
                    );
                } else if n < min {
                    invalid(
                        causes,
                        format!(
                            "{path} in body should be greater than or equal to {}",
                            shown(min)
                        ),
                    );
                }
            }
            if let Some(max) = number(schema, "maximum") {
                if flag(schema, "exclusiveMaximum") && n >= max {
                    invalid(
                        causes,
                        format!("{path} in body should be less than {}", shown(max)),
                    );
                } else if n > max {
                    invalid(
                        causes,
                        format!(
                            "{path} in body should be less than or equal to {}",
                            shown(max)
                        ),
                    );
                }
            }
        }
        Value::Array(items) => {
            let count = items.len() as f64;
            if let Some(max) = number(schema, "maxItems")
                && count > max
            {
                causes.push(Cause {
                    reason: "FieldValueTooMany",
                    message: format!(
                        "Too many: {}: must have at most {} items",
                        items.len(),
                        shown(max)
                    ),
                    field: path.to_owned(),
                });
            }
            if let Some(min) = number(schema, "minItems")
                && count < min
            {
                invalid(
                    causes,
                    format!("{path} in body should have at least {} items", shown(min)),
                );
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), false, causes);
                }
            }
        }
        Value::Object(map) => {
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = name.as_str()
                    && !map.contains_key(name)
                {
                    causes.push(Cause::required(&child_path(path, name), ""));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                if root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = properties.and_then(|p| p.get(key)).or(additional);
                if let Some(child_schema) = child_schema {
                    check(child_schema, child, &child_path(path, key), false, causes);
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(schema: &Value, object: &Value) -> Vec<String> {
        validate(schema, object)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn violations_carry_upstreams_paths_and_messages() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["Allow", "Forbid"]},
                "image": {"type": "string", "maxLength": 5},
                "port": {"x-kubernetes-int-or-string": true},
                "items": {"type": "array", "maxItems": 1, "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}});
        let good = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"cronSpec": "*/5 * * * *", "replicas": 3, "mode": "Allow", "port": "http", "items": [{"name": "n"}]}});
        assert!(validate(&schema, &good).is_empty());
        let bad = json!({"spec": {"replicas": "three", "mode": "Maybe", "image": "toolong", "port": true,
            "items": [{"name": 1}, {}]}});
        assert_eq!(
            messages(&schema, &bad),
            [
                "spec.cronSpec: Required value",
                "spec.image: Too long: may not be more than 5 bytes",
                "spec.items: Too many: 2: must have at most 1 items",
                "spec.items[0].name: Invalid value: \"integer\": spec.items[0].name in body must be of type string: \"integer\"",
                "spec.mode: Unsupported value: \"Maybe\": supported values: \"Allow\", \"Forbid\"",
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
                "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
            ]
        );
        let low = json!({"spec": {"cronSpec": "bad", "replicas": 0}});
        assert_eq!(
            messages(&schema, &low),
            [
                "spec.cronSpec: Invalid value: \"bad\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'",
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            ]
        );
    }
}
