//! Strategic merge patch (`application/strategic-merge-patch+json`), the patch kubectl's
//! client-side `apply`, `rollout restart` and `set image` send, and the Python client's default
//! for a dict body. Like a JSON merge patch, except that:
//!
//! - lists of objects with a merge key (containers by `name`, container ports by
//!   `containerPort`, env by `name`, ...) merge element by element instead of being replaced;
//! - lists with the merge strategy but no key (`finalizers`) merge as sets;
//! - directives shape the merge: `$patch: replace | delete | merge` on a map or list element,
//!   `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
//!
//! Upstream takes merge keys from the Go struct tags of each type; here a table by field name
//! covers the built-in kinds' merging lists (the full per-type schema comes with the apply
//! work). Lists not in the table are replaced, as upstream does for atomic lists.

use serde_json::{Map, Value};

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

/// The merge key of a list field, judged from the field name and (for `ports`, which means
/// container ports in pods and service ports in services) from the elements themselves.
fn merge_key(field: &str, elements: &[Value]) -> Option<&'static str> {
    let has = |key: &str| elements.iter().any(|e| e.get(key).is_some());
    Some(match field {
        list if crate::managed::shape::KEYED_BY_NAME.contains(&list) => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" if has("containerPort") => "containerPort",
        "ports" => "port",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "taints" => "key",
        "addresses" => "type",
        _ => return None,
    })
}

/// Lists of scalars that merge as sets rather than being replaced.
fn merges_as_set(field: &str) -> bool {
    field == "finalizers"
}

/// Applies `patch` to `target`.
pub fn apply(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(original), Some(patch)) => merge_map(original, patch),
        (_, Some(patch)) => {
            let mut fresh = Map::new();
            merge_map(&mut fresh, patch)?;
            *target = Value::Object(fresh);
            Ok(())
        }
        _ => Err(PatchError(
            "a strategic merge patch must be a JSON object".into(),
        )),
    }
}

fn merge_map(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<(), PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = patch.clone();
            replaced.remove("$patch");
            strip_directives(&mut replaced);
            *original = replaced;
            return Ok(());
        }
        Some("delete") => {
            original.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(PatchError(format!("unknown patch type: {other:?}"))),
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        original.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) =
                (original.get_mut(field), value.as_array())
            {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        match value {
            Value::Null => {
                original.remove(key);
            }
            Value::Object(sub) => match original.get_mut(key) {
                Some(Value::Object(existing)) => merge_map(existing, sub)?,
                _ => {
                    let mut fresh = Map::new();
                    merge_map(&mut fresh, sub)?;
                    original.insert(key.clone(), Value::Object(fresh));
                }
            },
            Value::Array(items) => {
                let merged = match original.remove(key) {
                    Some(Value::Array(existing)) => merge_list(key, existing, items)?,
                    _ => merge_list(key, Vec::new(), items)?,
                };
                original.insert(key.clone(), Value::Array(merged));
            }
            scalar => {
                original.insert(key.clone(), scalar.clone());
            }
        }
    }
    Ok(())
}

fn merge_list(
    field: &str,
    existing: Vec<Value>,
    patch: &[Value],
) -> Result<Vec<Value>, PatchError> {
    // A list-level `$patch: replace` element replaces the whole list.
    if patch
        .iter()
        .any(|e| e.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        let mut items: Vec<Value> = patch
            .iter()
            .filter(|e| e.get("$patch").is_none())
            .cloned()
            .collect();
        items.iter_mut().for_each(strip_value);
        return Ok(items);
    }
    if merges_as_set(field) {
        let mut out = existing;
        for item in patch {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        return Ok(out);
    }
    let Some(key) = merge_key(field, patch).or_else(|| merge_key(field, &existing)) else {
        let mut items = patch.to_vec();
        items.iter_mut().for_each(strip_value);
        return Ok(items);
    };
    let mut out = existing;
    for item in patch {
        let Some(id) = item.get(key) else {
            return Err(PatchError(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let position = out.iter().position(|e| e.get(key) == Some(id));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                if let (Some(existing), Some(patch)) = (out[i].as_object_mut(), item.as_object()) {
                    merge_map(existing, patch)?;
                }
            }
            (None, false) => {
                let mut fresh = Map::new();
                if let Some(patch) = item.as_object() {
                    merge_map(&mut fresh, patch)?;
                }
                out.push(Value::Object(fresh));
            }
        }
    }
    Ok(out)
}

fn strip_value(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        strip_directives(map);
    }
}

fn strip_directives(map: &mut Map<String, Value>) {
    map.retain(|k, _| !k.starts_with('$'));
    for value in map.values_mut() {
        match value {
            Value::Object(sub) => strip_directives(sub),
            Value::Array(items) => items.iter_mut().for_each(strip_value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(original: Value, patch: Value) -> Value {
        let mut target = original;
        apply(&mut target, &patch).unwrap();
        target
    }

    #[test]
    fn containers_merge_by_name_and_keep_unmentioned_fields() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "b:1"}]}});
        let out = patched(
            pod,
            json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}),
        );
        assert_eq!(out["spec"]["containers"][0]["image"], "a:1");
        assert_eq!(
            out["spec"]["containers"][1],
            json!({"name": "b", "image": "b:2"})
        );
    }

    #[test]
    fn delete_and_replace_directives_work_on_elements_maps_and_lists() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeSelector": {"x": "1"}}});
        let out = patched(
            pod.clone(),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(out["spec"]["containers"], json!([{"name": "b"}]));
        let out = patched(
            pod.clone(),
            json!({"spec": {"nodeSelector": {"$patch": "replace", "y": "2"}}}),
        );
        assert_eq!(out["spec"]["nodeSelector"], json!({"y": "2"}));
        let out = patched(
            pod,
            json!({"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}}),
        );
        assert_eq!(out["spec"]["containers"], json!([{"name": "c"}]));
    }

    #[test]
    fn kubectl_apply_directives_are_honoured_and_never_stored() {
        let original =
            json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}}});
        let patch = json!({"metadata": {
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "$setElementOrder/finalizers": ["b", "c"],
            "finalizers": ["c"],
            "labels": {"y": null}}});
        let out = patched(original, patch);
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "c"]));
        assert_eq!(out["metadata"]["labels"], json!({"x": "1"}));
        let retain = patched(
            json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}),
            json!({"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}),
        );
        assert_eq!(retain["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced() {
        let out = patched(
            json!({"spec": {"args": ["a", "b"]}}),
            json!({"spec": {"args": ["c"]}}),
        );
        assert_eq!(out["spec"]["args"], json!(["c"]));
    }

    #[test]
    fn an_element_missing_its_merge_key_is_an_error() {
        let mut pod = json!({"spec": {"containers": [{"name": "a"}]}});
        let err = apply(&mut pod, &json!({"spec": {"containers": [{"image": "x"}]}})).unwrap_err();
        assert!(
            err.0.contains("does not contain declared merge key: name"),
            "{err}"
        );
    }
}
