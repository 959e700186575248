//! Tables of custom resources, as upstream's apiextensions server prints them: the name, then
//! the version's `additionalPrinterColumns` (each `jsonPath` read from the object), or the
//! name and an `Age` date column when it declares none. Date cells carry the timestamp;
//! kubectl shows it as an age.

use super::{NAME, docs, format};
use crate::crd::served::Served;
use serde_json::{Value, json};

/// The default column of a definition without printer columns.
fn age_column() -> Value {
    json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
        "description": docs::OBJECT_META_CREATION_TIMESTAMP})
}

fn columns(served: &Served) -> Vec<Value> {
    if served.columns.is_empty() {
        vec![age_column()]
    } else {
        served.columns.clone()
    }
}

/// The column definitions.
pub(super) fn definitions(served: &Served) -> Vec<Value> {
    let mut definitions = vec![
        json!({"name": NAME.name, "type": NAME.kind, "format": NAME.format,
        "description": NAME.description, "priority": NAME.priority}),
    ];
    for column in columns(served) {
        definitions.push(json!({
            "name": column["name"],
            "type": column["type"],
            "format": column.get("format").cloned().unwrap_or(json!("")),
            "description": column.get("description").cloned().unwrap_or(json!("")),
            "priority": column.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    definitions
}

/// One object's cells.
pub(super) fn cells(served: &Served, object: &Value) -> Vec<Value> {
    let mut cells = vec![format::name(object)];
    for column in columns(served) {
        let path = column["jsonPath"].as_str().unwrap_or_default();
        cells.push(match read(object, path) {
            Some(composite @ (Value::Array(_) | Value::Object(_))) => json!(composite.to_string()),
            Some(value) => value.clone(),
            None => Value::Null,
        });
    }
    cells
}

/// The value at a printer column's path: fields separated by dots, each with optional `[n]`
/// indices (`.spec.containers[0].image`); anything fancier reads as absent.
fn read<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = object;
    for segment in path.trim_start_matches('.').split('.') {
        let (field, mut indices) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !field.is_empty() {
            at = at.get(field)?;
        }
        while let Some(rest) = indices.strip_prefix('[') {
            let (index, after) = rest.split_once(']')?;
            at = at.get(index.parse::<usize>().ok()?)?;
            indices = after;
        }
        if !indices.is_empty() {
            return None;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_columns_read_their_paths_and_default_to_age() {
        let served = Served {
            schema: None,
            scale: None,
            columns: vec![
                json!({"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}),
                json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "priority": 1}),
                json!({"name": "First", "type": "string", "jsonPath": ".spec.items[0].name"}),
                json!({"name": "Missing", "type": "string", "jsonPath": ".status.phase"}),
            ],
        };
        let object = json!({"metadata": {"name": "nightly", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"cronSpec": "0 3 * * *", "replicas": 2, "items": [{"name": "a"}]}});
        assert_eq!(
            cells(&served, &object),
            [
                json!("nightly"),
                json!("0 3 * * *"),
                json!(2),
                json!("a"),
                Value::Null
            ]
        );
        let names: Vec<Value> = definitions(&served)
            .iter()
            .map(|d| d["name"].clone())
            .collect();
        assert_eq!(names, ["Name", "Spec", "Replicas", "First", "Missing"]);
        assert_eq!(definitions(&served)[2]["priority"], 1);
        let plain = Served::default();
        assert_eq!(
            cells(&plain, &object),
            [json!("nightly"), json!("2026-01-01T00:00:00Z")]
        );
        assert_eq!(definitions(&plain)[1]["type"], "date");
    }
}
