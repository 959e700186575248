//! Merging an applied configuration into the live object, and removing the fields an applier
//! stopped applying.

use super::extract::key_of;
use super::fieldset::{Element, FieldSet};
use super::shape::{ListType, Shape};
use serde_json::Value;

/// `live` with every field of `config` set (a `null` clearing it): objects merge field by field, keyed lists element
/// by element (in upstream's order, see `merge_keyed`), sets by value; atomic parts and
/// scalars take the configuration's value.
pub fn merge(live: &Value, config: &Value, shape: &dyn Shape) -> Value {
    let mut out = live.clone();
    merge_into(&mut out, config, &mut Vec::new(), shape);
    out
}

fn merge_into<'c>(live: &mut Value, config: &'c Value, path: &mut Vec<&'c str>, shape: &dyn Shape) {
    match (live, config) {
        (Value::Object(target), Value::Object(source)) if !shape.atomic(path, source) => {
            for (name, value) in source {
                // A null clears the field.
                if value.is_null() {
                    target.remove(name);
                    continue;
                }
                path.push(name);
                match target.get_mut(name) {
                    Some(existing) => merge_into(existing, value, path, shape),
                    None => {
                        target.insert(name.clone(), value.clone());
                    }
                }
                path.pop();
            }
        }
        (Value::Array(target), Value::Array(source)) => match shape.list(path) {
            ListType::Atomic => *target = source.clone(),
            ListType::Set => {
                let mut present: std::collections::HashSet<String> =
                    target.iter().map(Value::to_string).collect();
                for item in source {
                    if present.insert(item.to_string()) {
                        target.push(item.clone());
                    }
                }
            }
            ListType::Map(keys) => {
                let live = std::mem::take(target);
                *target = merge_keyed(live, source, &keys, path, shape);
            }
        },
        (target, source) => *target = source.clone(),
    }
}

/// Merges a keyed list in upstream's order: elements only the live list has keep their place,
/// the configuration's come in its order, and a new element goes just before the next one
/// both lists have (or at the end).
fn merge_keyed<'c>(
    live: Vec<Value>,
    config: &'c [Value],
    keys: &[(String, Option<Value>)],
    path: &mut Vec<&'c str>,
    shape: &dyn Shape,
) -> Vec<Value> {
    let live_keys: Vec<Option<Element>> = live.iter().map(|i| key_of(i, keys)).collect();
    let config_keys: Vec<Option<Element>> = config.iter().map(|i| key_of(i, keys)).collect();
    let in_config: std::collections::HashSet<&Element> = config_keys.iter().flatten().collect();
    let live_at: std::collections::HashMap<&Element, usize> = live_keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| k.as_ref().map(|k| (k, i)))
        .collect();
    let configured = |key: &Option<Element>| key.as_ref().is_some_and(|k| in_config.contains(k));
    let mut slots: Vec<Option<Value>> = live.into_iter().map(Some).collect();
    let (mut out, mut pending, mut next) = (Vec::new(), Vec::new(), 0);
    for (item, key) in config.iter().zip(&config_keys) {
        let at = key.as_ref().and_then(|k| live_at.get(k).copied());
        let Some(at) = at else {
            pending.push(item.clone());
            continue;
        };
        while next < at {
            if !configured(&live_keys[next]) {
                out.extend(slots[next].take());
            }
            next += 1;
        }
        out.append(&mut pending);
        let mut merged = slots[at]
            .take()
            .unwrap_or_else(|| Value::Object(Default::default()));
        merge_into(&mut merged, item, path, shape);
        out.push(merged);
    }
    for (slot, key) in slots.into_iter().zip(&live_keys) {
        if !configured(key) {
            out.extend(slot);
        }
    }
    out.append(&mut pending);
    out
}

/// What makes a configuration's keyed list unusable, as upstream prints it: an element
/// without its keys, or a key given twice (`.spec.containers: duplicate entries for key
/// [name="a"]`).
pub fn key_problem(config: &Value, shape: &dyn Shape) -> Option<String> {
    fn walk<'c>(value: &'c Value, path: &mut Vec<&'c str>, shape: &dyn Shape) -> Option<String> {
        match value {
            Value::Object(map) => map.iter().find_map(|(name, child)| {
                path.push(name);
                let found = walk(child, path, shape);
                path.pop();
                found
            }),
            Value::Array(items) => {
                if let ListType::Map(keys) = shape.list(path) {
                    let at: String = path.iter().map(|p| format!(".{p}")).collect();
                    let mut seen = std::collections::HashSet::new();
                    for (i, item) in items.iter().enumerate() {
                        let Some(key) = key_of(item, &keys) else {
                            let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
                            return Some(format!(
                                "{at}: element {i}: associative list with keys has an element that omits all key fields {names:?} (and doesn't have default values for any key fields)"
                            ));
                        };
                        let described = super::fieldset::describe(std::slice::from_ref(&key));
                        if !seen.insert(key) {
                            return Some(format!("{at}: duplicate entries for key {described}"));
                        }
                    }
                }
                items.iter().find_map(|i| walk(i, path, shape))
            }
            _ => None,
        }
    }
    walk(config, &mut Vec::new(), shape)
}

/// Removes from `value` the fields in `remove`, except where `keep` (what other managers
/// own) has something at or under them: there only the fields nobody keeps go.
pub fn prune(value: &mut Value, remove: &FieldSet, keep: &FieldSet, shape: &dyn Shape) {
    prune_at(value, remove, Some(keep), &mut Vec::new(), shape, &[]);
}

fn prune_at<'s>(
    value: &mut Value,
    remove: &'s FieldSet,
    keep: Option<&FieldSet>,
    path: &mut Vec<&'s str>,
    shape: &dyn Shape,
    protected: &[&str],
) {
    let list = match value {
        Value::Array(_) => Some(shape.list(path)),
        _ => None,
    };
    for (element, sub) in &remove.children {
        let kept = keep
            .and_then(|k| k.child(element))
            .filter(|k| !k.is_empty());
        let whole = sub.member && kept.is_none();
        match (element, &mut *value) {
            (Element::Field(name), Value::Object(map)) if !protected.contains(&name.as_str()) => {
                if whole {
                    map.remove(name);
                } else if let Some(child) = map.get_mut(name) {
                    path.push(name);
                    prune_at(child, sub, kept, path, shape, &[]);
                    path.pop();
                }
            }
            (Element::Key(_), Value::Array(items)) => {
                let Some(ListType::Map(keys)) = &list else {
                    continue;
                };
                let Some(i) = items
                    .iter()
                    .position(|item| key_of(item, keys).as_ref() == Some(element))
                else {
                    continue;
                };
                if whole {
                    items.remove(i);
                } else {
                    // An element that stays keeps its key fields.
                    let keys: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
                    prune_at(&mut items[i], sub, kept, path, shape, &keys);
                }
            }
            (Element::Value(text), Value::Array(items)) if whole => {
                if let Ok(gone) = serde_json::from_str::<Value>(text) {
                    items.retain(|item| *item != gone);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::shape::Builtin;
    use serde_json::json;

    #[test]
    fn configuration_merges_into_live_by_key() {
        let live = json!({"spec": {"replicas": 1, "containers": [
            {"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
            "tolerations": [{"key": "x"}]}});
        let config = json!({"spec": {"containers": [
            {"name": "b", "image": "b:1"},
            {"name": "a", "image": "a:2", "ports": [{"containerPort": 80, "name": "http"}]}],
            "tolerations": [{"key": "y"}]}});
        let merged = merge(&live, &config, &Builtin);
        assert_eq!(
            merged,
            json!({"spec": {"replicas": 1, "containers": [
                {"name": "b", "image": "b:1"},
                {"name": "a", "image": "a:2",
                    "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]}],
                "tolerations": [{"key": "y"}]}})
        );
    }

    #[test]
    fn keyed_lists_keep_upstreams_order() {
        let names = |v: &Value| -> Vec<String> {
            v["c"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let list =
            |n: &[&str]| json!({"c": n.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()});
        let shape = Keyed;
        assert_eq!(
            names(&merge(&list(&["a", "b"]), &list(&["x", "b"]), &shape)),
            ["a", "x", "b"]
        );
        assert_eq!(
            names(&merge(&list(&["a", "b", "c"]), &list(&["c", "a"]), &shape)),
            ["b", "c", "a"]
        );
        assert_eq!(
            names(&merge(&list(&["a"]), &list(&["y", "z"]), &shape)),
            ["a", "y", "z"]
        );
        assert_eq!(
            key_problem(&list(&["a", "a"]), &shape).as_deref(),
            Some(".c: duplicate entries for key [name=\"a\"]")
        );
        assert_eq!(key_problem(&list(&["a", "b"]), &shape), None);
        let keyless = json!({"c": [{"name": "a"}, {"image": "x"}]});
        assert!(
            key_problem(&keyless, &shape)
                .unwrap()
                .starts_with(".c: element 1: associative list with keys has an element that omits all key fields [\"name\"]")
        );
    }

    /// A list `c` keyed by `name`.
    struct Keyed;

    impl Shape for Keyed {
        fn list(&self, _: &[&str]) -> ListType {
            ListType::Map(vec![("name".into(), None)])
        }
        fn atomic(&self, _: &[&str], _: &serde_json::Map<String, Value>) -> bool {
            false
        }
        fn is_map(&self, _: &[&str], _: &serde_json::Map<String, Value>) -> bool {
            false
        }
    }

    #[test]
    fn pruning_spares_what_others_own() {
        let mut object = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "a", "image": "x", "command": ["sh"]},
                {"name": "b", "image": "y"}]}});
        let remove = FieldSet::from_fields_v1(&json!({
            "f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}},
            "f:spec": {"f:containers": {
                "k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:command": {}, "f:name": {}},
                "k:{\"name\":\"b\"}": {".": {}, "f:image": {}, "f:name": {}}}}}))
        .unwrap();
        let keep = FieldSet::from_fields_v1(&json!({
            "f:metadata": {"f:labels": {"f:b": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {"f:image": {}}}}}))
        .unwrap();
        prune(&mut object, &remove, &keep, &Builtin);
        assert_eq!(
            object,
            json!({"metadata": {"labels": {"b": "2"}},
                "spec": {"containers": [{"name": "a", "image": "x"}]}})
        );
    }
}
