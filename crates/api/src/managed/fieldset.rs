//! Sets of field paths, the unit of ownership in server-side apply, and their wire form
//! (`fieldsType: FieldsV1`). A set is a tree: each node is reached by one path element from
//! its parent and may itself be owned (a member) as well as have owned descendants.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One step of a field path. The order of the variants is the order elements are written in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    /// A field of an object (`f:replicas`).
    Field(String),
    /// An element of a list with map keys, named by its keys as a compact JSON object with
    /// the key fields in name order (`k:{"name":"nginx"}`).
    Key(String),
    /// An element of a set-like list, named by its value as compact JSON (`v:"a"`).
    Value(String),
    /// An element of a list by position (`i:0`).
    Index(usize),
}

impl Element {
    fn encode(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(key) => format!("k:{key}"),
            Self::Value(value) => format!("v:{value}"),
            Self::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(text: &str) -> Result<Self, String> {
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("invalid path element {text:?}"))?;
        match kind {
            "f" => Ok(Self::Field(rest.to_owned())),
            // Keys and values are re-encoded so that equal elements compare equal however the
            // client spaced or ordered them.
            "k" | "v" => {
                let value: Value = serde_json::from_str(rest)
                    .map_err(|e| format!("invalid path element {text:?}: {e}"))?;
                match (kind, &value) {
                    ("k", Value::Object(_)) => Ok(Self::Key(value.to_string())),
                    ("k", _) => Err(format!("invalid path element {text:?}: not an object")),
                    _ => Ok(Self::Value(value.to_string())),
                }
            }
            "i" => rest
                .parse()
                .map(Self::Index)
                .map_err(|_| format!("invalid path element {text:?}")),
            _ => Err(format!("invalid path element {text:?}")),
        }
    }

    /// How the element reads in a conflict message: `.image`, `[name="nginx"]`, `[="a"]`.
    fn describe(&self, out: &mut String) {
        match self {
            Self::Field(name) => {
                let _ = write!(out, ".{name}");
            }
            Self::Key(key) => {
                let parsed: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = write!(out, "[{}]", parts.join(","));
            }
            Self::Value(value) => {
                let _ = write!(out, "[={value}]");
            }
            Self::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Whether the path leading here is itself in the set.
    pub(crate) member: bool,
    pub(crate) children: BTreeMap<Element, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no path is in the set.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Adds `path`.
    pub fn insert(&mut self, path: &[Element]) {
        match path.split_first() {
            None => self.member = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is in the set.
    pub fn contains(&self, path: &[Element]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// The child set under one element (the empty set when there is none).
    pub fn child(&self, element: &Element) -> Option<&FieldSet> {
        self.children.get(element)
    }

    /// Adds every path of `other`.
    pub fn union(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (element, theirs) in &other.children {
            self.children
                .entry(element.clone())
                .or_default()
                .union(theirs);
        }
    }

    /// The paths of `self` that are not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (element, mine) in &self.children {
            let rest = match other.children.get(element) {
                Some(theirs) => mine.difference(theirs),
                None => mine.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(element.clone(), rest);
            }
        }
        out
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (element, mine) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = mine.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    /// Every path in the set, in order.
    pub fn paths(&self) -> Vec<Vec<Element>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<Element>, out: &mut Vec<Vec<Element>>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (element, child) in &self.children {
            prefix.push(element.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The wire form: `{"f:spec":{"f:replicas":{}}}`, with `".": {}` marking a node that is
    /// owned itself and has owned descendants.
    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            map.insert(element.encode(), child.to_fields_v1());
        }
        Value::Object(map)
    }

    /// Reads the wire form.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, String> {
        let mut set = Self::read(value)?;
        set.member = false; // the root is never a path of its own
        Ok(set)
    }

    fn read(value: &Value) -> Result<FieldSet, String> {
        let map = value
            .as_object()
            .ok_or_else(|| "FieldsV1 nodes must be objects".to_owned())?;
        let mut set = FieldSet {
            member: map.is_empty() || map.contains_key("."),
            children: BTreeMap::new(),
        };
        for (key, child) in map {
            if key != "." {
                set.children
                    .insert(Element::decode(key)?, Self::read(child)?);
            }
        }
        Ok(set)
    }
}

/// A path as conflict messages print it: `.spec.template.spec.containers[name="nginx"].image`.
pub fn describe(path: &[Element]) -> String {
    let mut out = String::new();
    for element in path {
        element.describe(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(value: Value) -> FieldSet {
        FieldSet::from_fields_v1(&value).unwrap()
    }

    #[test]
    fn the_wire_form_round_trips_with_self_marks() {
        let wire = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}}}}});
        let parsed = set(wire.clone());
        assert!(parsed.contains(&[
            Element::Field("metadata".into()),
            Element::Field("labels".into())
        ]));
        assert!(!parsed.contains(&[Element::Field("spec".into())]));
        assert_eq!(parsed.to_fields_v1(), wire);
    }

    #[test]
    fn keys_written_with_other_spacing_or_order_are_the_same_element() {
        let a = set(json!({"k:{\"protocol\": \"TCP\", \"containerPort\": 80}": {}}));
        let b = set(json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}}));
        assert_eq!(a, b);
        assert!(FieldSet::from_fields_v1(&json!({"x:y": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"k:3": {}})).is_err());
    }

    #[test]
    fn set_algebra_works_node_by_node() {
        let a = set(json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}));
        let b = set(json!({"f:spec": {"f:replicas": {}}, "f:data": {}}));
        assert_eq!(
            a.difference(&b).to_fields_v1(),
            json!({"f:spec": {"f:paused": {}}})
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}}})
        );
        let mut u = a.clone();
        u.union(&b);
        assert_eq!(u.paths().len(), 3);
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn paths_read_as_upstream_prints_them() {
        let s = set(
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {"f:image": {}}},
            "f:finalizers": {"v:\"a\"": {}}}}),
        );
        let printed: Vec<String> = s.paths().iter().map(|p| describe(p)).collect();
        assert_eq!(
            printed,
            vec![
                ".spec.containers[name=\"nginx\"].image",
                ".spec.finalizers[=\"a\"]"
            ]
        );
    }
}
