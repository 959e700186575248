//! Custom resources' structural schemas (`openAPIV3Schema` of each version of a
//! CustomResourceDefinition), applied to every write in upstream's order: unknown fields
//! pruned (`prune`), defaults filled in (`defaults`), then the object validated (`validate`)
//! with upstream's field paths and messages. The schemas themselves are kept with the
//! definitions' other per-version data (`crd::served`).

pub mod defaults;
pub mod prune;
pub mod validate;

use serde_json::Value;

/// Whether a schema keeps the fields it does not list.
pub(crate) fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

/// The field path of `key` under `path` (`spec` + `replicas` → `spec.replicas`).
pub(crate) fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
