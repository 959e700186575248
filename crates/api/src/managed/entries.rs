//! `metadata.managedFields`: one entry per manager, operation and subresource, each with the
//! set of fields it owns.

use super::fieldset::FieldSet;
use serde_json::{Map, Value, json};

/// How a manager came to own its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write (create, update, patch).
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The field manager (`kubectl`, `kube-controller-manager`).
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The API version the fields were written in.
    pub api_version: String,
    /// When the manager last changed its fields.
    pub time: Option<String>,
    /// The subresource written through (`status`, `scale`), if any.
    pub subresource: Option<String>,
    /// The fields owned.
    pub fields: FieldSet,
}

impl Entry {
    /// Whether this entry is the one a write by `manager` with `operation` through
    /// `subresource` records into.
    pub fn is(&self, manager: &str, operation: Operation, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".into(), json!(self.manager));
        map.insert("operation".into(), json!(self.operation.as_str()));
        map.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            map.insert("time".into(), json!(time));
        }
        map.insert("fieldsType".into(), json!("FieldsV1"));
        map.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(sub) = &self.subresource {
            map.insert("subresource".into(), json!(sub));
        }
        Value::Object(map)
    }

    fn from_json(value: &Value) -> Result<Entry, String> {
        let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_owned);
        let operation = match text("operation").as_deref() {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            Some(other) => return Err(format!("operation must be Apply or Update, not {other:?}")),
            None => return Err("operation is required".into()),
        };
        match text("fieldsType").as_deref() {
            Some("FieldsV1") | None => {}
            Some(other) => return Err(format!("fieldsType must be FieldsV1, not {other:?}")),
        }
        let fields = match value.get("fieldsV1") {
            Some(v) => FieldSet::from_fields_v1(v)?,
            None => FieldSet::new(),
        };
        Ok(Entry {
            manager: text("manager").unwrap_or_default(),
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }
}

/// The entries of an object (none when it has no `managedFields`).
pub fn read(object: &Value) -> Result<Vec<Entry>, String> {
    match object.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(Entry::from_json).collect(),
        Some(_) => Err("managedFields must be a list".into()),
    }
}

/// Writes `entries` into the object's metadata (dropping the field when there are none):
/// entries with no fields left are dropped; apply entries come first, then updates, each
/// group by time, then manager, version and subresource, as upstream sorts them.
pub fn write(object: &mut Value, entries: &[Entry]) {
    let mut kept: Vec<&Entry> = entries.iter().filter(|e| !e.fields.is_empty()).collect();
    let order = |e: &Entry| {
        (
            e.operation != Operation::Apply,
            e.time.clone(),
            e.manager.clone(),
            e.api_version.clone(),
            e.subresource.clone(),
        )
    };
    kept.sort_by_key(|e| order(e));
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if kept.is_empty() {
        metadata.remove("managedFields");
    } else {
        metadata.insert(
            "managedFields".into(),
            Value::Array(kept.iter().map(|e| e.to_json()).collect()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_empty_ones_vanish() {
        let mut object = json!({"metadata": {"managedFields": [
            {"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "gone", "operation": "Update", "apiVersion": "v1",
                "fieldsType": "FieldsV1", "fieldsV1": {}},
            {"manager": "ssa", "operation": "Apply", "apiVersion": "v1",
                "time": "2026-01-02T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:b": {}}}, "subresource": ""}]}});
        let entries = read(&object).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].subresource, None);
        write(&mut object, &entries);
        let managers: Vec<&str> = object["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, vec!["ssa", "kubectl"]);
        assert!(read(&json!({"metadata": {"managedFields": [{"operation": "Nope"}]}})).is_err());
    }
}
