//! Reading raw JSON objects as upstream's printers read typed ones, and upstream's small cell
//! formatters.
//!
//! Objects are raw JSON and any field may be missing; the readers answer Go's zero value then
//! (`""`, `0`, an empty list), because upstream prints from decoded structs where a missing field
//! *is* its zero value.

use gantry_api::selector::LabelSelector;
use serde_json::{Map, Value, json};

/// The string at `pointer`; `""` when missing or not a string.
pub(super) fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The integer at `pointer`, if there is one.
pub(super) fn opt_int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// The integer at `pointer`; `0` when missing.
pub(super) fn int(object: &Value, pointer: &str) -> i64 {
    opt_int(object, pointer).unwrap_or(0)
}

/// The boolean at `pointer`, if there is one.
pub(super) fn flag(object: &Value, pointer: &str) -> Option<bool> {
    object.pointer(pointer).and_then(Value::as_bool)
}

/// The list at `pointer`; empty when missing.
pub(super) fn items<'a>(object: &'a Value, pointer: &str) -> &'a [Value] {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The map at `pointer`, if there is one.
pub(super) fn map<'a>(object: &'a Value, pointer: &str) -> Option<&'a Map<String, Value>> {
    object.pointer(pointer).and_then(Value::as_object)
}

/// Whether `pointer` names a present, non-null value (a set Go pointer).
pub(super) fn is_set(object: &Value, pointer: &str) -> bool {
    object.pointer(pointer).is_some_and(|v| !v.is_null())
}

/// The number of entries of the list or map at `pointer`, as the `int64` upstream prints.
pub(super) fn len(object: &Value, pointer: &str) -> i64 {
    let n = match object.pointer(pointer) {
        Some(Value::Array(list)) => list.len(),
        Some(Value::Object(map)) => map.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `text`, or `placeholder` when it is empty.
pub(super) fn or(text: &str, placeholder: &str) -> String {
    if text.is_empty() {
        placeholder.to_owned()
    } else {
        text.to_owned()
    }
}

/// The object's name cell.
pub(super) fn name(object: &Value) -> Value {
    json!(text(object, "/metadata/name"))
}

/// The object's age cell (`translateTimestampSince(creationTimestamp)`).
pub(super) fn age(object: &Value) -> Value {
    json!(super::age(object))
}

/// Seconds since the epoch of the timestamp at `pointer`; `None` when missing or Go's zero time.
pub(super) fn timestamp(object: &Value, pointer: &str) -> Option<u64> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(crate::meta::parse_rfc3339)
}

/// How long ago the timestamp at `pointer` was (upstream's `translateTimestampSince`):
/// `<unknown>` when missing.
pub(super) fn since(object: &Value, pointer: &str) -> String {
    timestamp(object, pointer).map_or_else(|| "<unknown>".to_owned(), super::since)
}

/// Container names and images, each comma-joined (upstream's `layoutContainerCells`).
pub(super) fn containers(object: &Value, pointer: &str) -> (Value, Value) {
    let list = items(object, pointer);
    let names: Vec<&str> = list
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    let images: Vec<&str> = list
        .iter()
        .map(|c| c["image"].as_str().unwrap_or(""))
        .collect();
    (json!(names.join(",")), json!(images.join(",")))
}

/// A label map as `k=v,k2=v2`, sorted by key; `<none>` when empty (`labels.FormatLabels`).
pub(super) fn format_labels(object: &Value, pointer: &str) -> String {
    let mut pairs: Vec<(&String, &str)> = map(object, pointer)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    pairs.sort_unstable();
    let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    or(&text.join(","), "<none>")
}

/// A `metav1.LabelSelector` as a selector string (`LabelSelectorAsSelector(s).String()`): empty
/// for a missing selector and for `{}`.
fn selector(object: &Value, pointer: &str) -> Result<String, ()> {
    let value = object.pointer(pointer).unwrap_or(&Value::Null);
    LabelSelector::from_label_selector_json(value)
        .map(|s| s.to_string())
        .map_err(|_| ())
}

/// A label selector as upstream's `metav1.FormatLabelSelector` prints it: `<none>` when it
/// selects by nothing, `<error>` when it is invalid.
pub(super) fn format_label_selector(object: &Value, pointer: &str) -> String {
    match selector(object, pointer) {
        Ok(text) => or(&text, "<none>"),
        Err(()) => "<error>".to_owned(),
    }
}

/// A label selector as the Deployment printer prints it: the bare selector string, `<invalid>`
/// when it is invalid.
pub(super) fn selector_string(object: &Value, pointer: &str) -> String {
    selector(object, pointer).unwrap_or_else(|()| "<invalid>".to_owned())
}

/// Up to `max` entries joined by commas, then ` + N more...`; `<unset>` when there are none
/// (upstream's `listWithMoreString`).
pub(super) fn list_with_more(list: &[String], max: usize) -> String {
    if list.len() > max {
        return format!("{} + {} more...", list[..max].join(","), list.len() - max);
    }
    or(&list.join(","), "<unset>")
}

/// An `IntOrString` as upstream's `String()` prints it.
pub(super) fn int_or_string(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".to_owned(),
    }
}

/// An optional boolean as upstream's `printBoolPtr`: `True`, `False` or `<unset>`.
pub(super) fn bool_pointer(object: &Value, pointer: &str) -> String {
    match flag(object, pointer) {
        Some(true) => "True".to_owned(),
        Some(false) => "False".to_owned(),
        None => "<unset>".to_owned(),
    }
}

/// The status of the first condition of this type (`""` when there is none).
pub(super) fn condition<'a>(object: &'a Value, pointer: &str, kind: &str) -> &'a str {
    items(object, pointer)
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
}

/// Kind and name, lowercased kind first (`pod/web-0`); only the kind when there is no name.
pub(super) fn kind_slash_name(kind: &str, name: &str) -> String {
    if name.is_empty() {
        kind.to_lowercase()
    } else {
        format!("{}/{name}", kind.to_lowercase())
    }
}
