//! The fields an object sets, and the fields that differ between two versions of an object:
//! what an applier claims, and what an update takes over or gives up.

use super::fieldset::{Element, FieldSet};
use super::shape::{ListType, Shape};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Fields no manager owns: the API server sets them, or they name the object.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "clusterName",
];

/// Whether a field is left out of ownership.
fn ignored(path: &[&str], name: &str) -> bool {
    match path {
        [] => matches!(name, "apiVersion" | "kind"),
        ["metadata"] => SERVER_METADATA.contains(&name),
        _ => false,
    }
}

/// The element naming a list item of a keyed list: its key fields (missing ones at their
/// defaults) as a compact JSON object. `None` when a key without default is missing.
pub(crate) fn key_of(item: &Value, keys: &[(String, Option<Value>)]) -> Option<Element> {
    let mut key = Map::new();
    for (name, default) in keys {
        match item.get(name).or(default.as_ref()) {
            Some(value) => {
                key.insert(name.clone(), value.clone());
            }
            None if keys.len() > 1 => {}
            None => return None,
        }
    }
    (!key.is_empty()).then(|| Element::Key(Value::Object(key).to_string()))
}

struct Walk<'a> {
    shape: &'a dyn Shape,
    /// Whether maps newly set are owned themselves too (`.`), as updates record them.
    mark_maps: bool,
    /// Whether a `null` is a value: in an applied configuration it is (it clears the field,
    /// and the applier owns that); in a stored object it is an absent field.
    claim_nulls: bool,
}

impl Walk<'_> {
    /// Everything `value` sets, as the set under the node holding it.
    fn all<'v>(&self, value: &'v Value, path: &mut Vec<&'v str>) -> FieldSet {
        let mut node = FieldSet::new();
        match value {
            Value::Object(map) if !map.is_empty() && !self.shape.atomic(path, map) => {
                node.member = self.mark_maps && self.shape.is_map(path, map);
                for (name, child) in map {
                    if ignored(path, name) || (child.is_null() && !self.claim_nulls) {
                        continue;
                    }
                    path.push(name);
                    let sub = self.all(child, path);
                    path.pop();
                    put(&mut node, Element::Field(name.clone()), sub);
                }
            }
            // An empty list owns nothing unless it is atomic (then it is a value).
            Value::Array(items) => match self.shape.list(path) {
                ListType::Atomic => node.member = true,
                ListType::Set => {
                    for item in items {
                        node.children
                            .insert(Element::Value(item.to_string()), FieldSet::leaf());
                    }
                }
                ListType::Map(keys) => {
                    for item in items {
                        if let Some(element) = key_of(item, &keys) {
                            let mut sub = self.all(item, path);
                            sub.member = true;
                            node.children.insert(element, sub);
                        }
                    }
                }
            },
            _ => node.member = true,
        }
        node
    }

    /// What changed from `old` to `new`: (added or modified, removed).
    fn compare<'v>(
        &self,
        old: &'v Value,
        new: &'v Value,
        path: &mut Vec<&'v str>,
    ) -> (FieldSet, FieldSet) {
        let mut changed = FieldSet::new();
        let mut removed = FieldSet::new();
        match (old, new) {
            // An empty object gaining fields (or losing them all) is compared field by field,
            // as upstream does: only two empty objects are one leaf.
            (Value::Object(before), Value::Object(after))
                if !(self.shape.atomic(path, after) || (after.is_empty() && before.is_empty())) =>
            {
                // Emptied: the `{}` left is a value of its own.
                changed.member = after.is_empty();
                for (name, value) in after {
                    if ignored(path, name) || value.is_null() {
                        continue;
                    }
                    path.push(name);
                    let (c, r) = match before.get(name).filter(|v| !v.is_null()) {
                        Some(was) => self.compare(was, value, path),
                        None => (self.all(value, path), FieldSet::new()),
                    };
                    path.pop();
                    put(&mut changed, Element::Field(name.clone()), c);
                    put(&mut removed, Element::Field(name.clone()), r);
                }
                for (name, value) in before {
                    if !after.contains_key(name) && !ignored(path, name) && !value.is_null() {
                        path.push(name);
                        let gone = self.all(value, path);
                        path.pop();
                        put(&mut removed, Element::Field(name.clone()), gone);
                    }
                }
            }
            (Value::Array(before), Value::Array(after)) => match self.shape.list(path) {
                ListType::Atomic => changed.member = before != after,
                // Sets and keyed lists are indexed once, so long lists cost linear time.
                ListType::Set => {
                    let text = |items: &[Value]| -> HashSet<String> {
                        items.iter().map(Value::to_string).collect()
                    };
                    let (was, is) = (text(before), text(after));
                    for item in is.difference(&was) {
                        put(&mut changed, Element::Value(item.clone()), FieldSet::leaf());
                    }
                    for item in was.difference(&is) {
                        put(&mut removed, Element::Value(item.clone()), FieldSet::leaf());
                    }
                }
                ListType::Map(keys) => {
                    let keyed = |items: &'v [Value]| -> Vec<(Element, &'v Value)> {
                        items
                            .iter()
                            .filter_map(|i| key_of(i, &keys).map(|k| (k, i)))
                            .collect()
                    };
                    let (before, after) = (keyed(before), keyed(after));
                    let was: HashMap<&Element, &Value> =
                        before.iter().map(|(e, v)| (e, *v)).collect();
                    let is: HashSet<&Element> = after.iter().map(|(e, _)| e).collect();
                    for (element, item) in &after {
                        let (c, r) = match was.get(element) {
                            Some(old_item) => self.compare(old_item, item, path),
                            None => {
                                let mut sub = self.all(item, path);
                                sub.member = true;
                                (sub, FieldSet::new())
                            }
                        };
                        put(&mut changed, element.clone(), c);
                        put(&mut removed, element.clone(), r);
                    }
                    for (element, item) in &before {
                        if !is.contains(element) {
                            let mut gone = self.all(item, path);
                            gone.member = true;
                            put(&mut removed, element.clone(), gone);
                        }
                    }
                }
            },
            _ if old == new => {}
            _ => {
                changed = self.all(new, path);
                changed.member = true;
                removed = self.all(old, path).difference(&changed);
            }
        }
        (changed, removed)
    }
}

fn put(set: &mut FieldSet, element: Element, child: FieldSet) {
    if !child.is_empty() {
        set.children.insert(element, child);
    }
}

impl FieldSet {
    fn leaf() -> FieldSet {
        FieldSet {
            member: true,
            ..FieldSet::default()
        }
    }
}

/// The fields `object` sets (an applied configuration's claim).
pub fn fields(object: &Value, shape: &dyn Shape) -> FieldSet {
    let mut set = Walk {
        shape,
        mark_maps: false,
        claim_nulls: true,
    }
    .all(object, &mut Vec::new());
    set.member = false;
    set
}

/// What an update from `old` to `new` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Fields added or given another value.
    pub changed: FieldSet,
    /// Fields no longer there.
    pub removed: FieldSet,
}

/// Compares two versions of an object.
pub fn compare(old: &Value, new: &Value, shape: &dyn Shape) -> Changes {
    let walk = Walk {
        shape,
        mark_maps: true,
        claim_nulls: false,
    };
    let (mut changed, mut removed) = walk.compare(old, new, &mut Vec::new());
    changed.member = false;
    removed.member = false;
    Changes { changed, removed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::shape::Builtin;
    use serde_json::json;

    #[test]
    fn an_applied_deployment_claims_its_leaves_and_keyed_elements() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx",
                    "ports": [{"containerPort": 80}], "args": ["a"]}]}}}});
        let set = fields(&config, &Builtin);
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {},
                    "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:args": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}}}}}}}}})
        );
    }

    #[test]
    fn an_update_reports_what_it_added_changed_and_removed() {
        let old = json!({"metadata": {"name": "a", "resourceVersion": "1", "labels": {"x": "1"}},
            "spec": {"replicas": 1, "paused": true}});
        let new = json!({"metadata": {"name": "a", "resourceVersion": "2",
                "labels": {"x": "1"}, "annotations": {"y": "2"}},
            "spec": {"replicas": 3}});
        let changes = compare(&old, &new, &Builtin);
        assert_eq!(
            changes.changed.to_fields_v1(),
            json!({"f:metadata": {"f:annotations": {".": {}, "f:y": {}}}, "f:spec": {"f:replicas": {}}})
        );
        assert_eq!(
            changes.removed.to_fields_v1(),
            json!({"f:spec": {"f:paused": {}}})
        );
    }

    #[test]
    fn keyed_elements_compare_by_key_and_sets_by_value() {
        let old = json!({"metadata": {"finalizers": ["a", "b"]},
            "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}});
        let new = json!({"metadata": {"finalizers": ["b", "c"]},
            "spec": {"containers": [{"name": "b", "image": "2"}, {"name": "a", "image": "1"}]}});
        let changes = compare(&old, &new, &Builtin);
        assert_eq!(
            changes.changed.to_fields_v1(),
            json!({"f:metadata": {"f:finalizers": {"v:\"c\"": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"b\"}": {"f:image": {}}}}})
        );
        assert_eq!(
            changes.removed.to_fields_v1(),
            json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}}}})
        );
    }
}
