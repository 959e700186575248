//! Custom resources' structural schemas (`openAPIV3Schema` of each version of a
//! CustomResourceDefinition), applied to every write in upstream's order: unknown fields
//! pruned (`prune`), defaults filled in (`defaults`), then the object validated (`validate`)
//! with upstream's field paths and messages.

pub mod defaults;
pub mod prune;
pub mod validate;

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// `(group, version, plural)` → that version's schema.
type Key = (String, String, String);

static SCHEMAS: RwLock<Option<HashMap<Key, Arc<Value>>>> = RwLock::new(None);

/// Sets the schemas of the definition `plural.group` (version name → schema), replacing the
/// old ones.
pub fn define(group: &str, plural: &str, versions: Vec<(String, Value)>) {
    let mut schemas = SCHEMAS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = schemas.get_or_insert_with(HashMap::new);
    map.retain(|(g, _, p), _| !(g == group && p == plural));
    for (version, schema) in versions {
        map.insert(
            (group.to_owned(), version, plural.to_owned()),
            Arc::new(schema),
        );
    }
}

/// The schema of one served version, if it has one.
pub fn of(group: &str, version: &str, plural: &str) -> Option<Arc<Value>> {
    let schemas = SCHEMAS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    schemas
        .as_ref()?
        .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
        .cloned()
}

/// Whether a schema keeps the fields it does not list.
pub(crate) fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}
