//! How the parts of an object merge and are owned, the type information server-side apply
//! needs beyond the JSON itself: whether a list is atomic, a set, or a map keyed by some of
//! its elements' fields; whether an object is replaced as a whole; whether it is a map with
//! free keys (labels) rather than a struct. Upstream reads this from the OpenAPI schema
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`); built-in
//! kinds get it here from a table of the fields that are not atomic, custom resources from
//! their structural schema.

use serde_json::{Map, Value};

/// How a list merges.
#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    /// Replaced as a whole, owned as one field.
    Atomic,
    /// A set of scalars, each owned on its own.
    Set,
    /// Elements identified by these key fields, each with the value a missing key field
    /// takes (container ports without `protocol` are TCP ports).
    Map(Vec<(String, Option<Value>)>),
}

/// The type information of one kind. `path` is the chain of field names from the root (list
/// elements add nothing: a container's ports are at `spec.containers.ports`).
pub trait Shape {
    /// How the list at `path` merges.
    fn list(&self, path: &[&str]) -> ListType;
    /// Whether the object at `path` is replaced and owned as a whole.
    fn atomic(&self, path: &[&str], object: &Map<String, Value>) -> bool;
    /// Whether the object at `path` is a map with free keys rather than a struct.
    fn is_map(&self, path: &[&str], object: &Map<String, Value>) -> bool;
}

fn key(name: &str) -> (String, Option<Value>) {
    (name.to_owned(), None)
}

fn keys(names: &[&str]) -> ListType {
    ListType::Map(names.iter().map(|n| key(n)).collect())
}

/// The built-in lists whose elements are named by their `name` (for server-side apply's list
/// maps and strategic merge patch's merge keys alike).
pub const KEYED_BY_NAME: &[&str] = &[
    "containers",
    "initContainers",
    "ephemeralContainers",
    "env",
    "volumes",
    "imagePullSecrets",
    "resourceClaims",
    "schedulingGates",
];

/// Whether `path` lies in a container (of a pod or a pod template).
fn in_container(path: &[&str]) -> bool {
    path.iter()
        .any(|p| matches!(*p, "containers" | "initContainers" | "ephemeralContainers"))
}

/// The built-in kinds, as upstream 1.33 tags their Go types.
#[derive(Debug, Clone, Copy, Default)]
pub struct Builtin;

impl Shape for Builtin {
    fn list(&self, path: &[&str]) -> ListType {
        let Some((last, _)) = path.split_last() else {
            return ListType::Atomic;
        };
        let tcp = || Some(Value::String("TCP".into()));
        match *last {
            list if KEYED_BY_NAME.contains(&list) => keys(&["name"]),
            "volumeMounts" => keys(&["mountPath"]),
            "volumeDevices" => keys(&["devicePath"]),
            "ports" if in_container(path) => {
                ListType::Map(vec![key("containerPort"), ("protocol".into(), tcp())])
            }
            "ports" if path == ["spec", "ports"] => {
                ListType::Map(vec![key("port"), ("protocol".into(), tcp())])
            }
            "conditions" => keys(&["type"]),
            "ownerReferences" => keys(&["uid"]),
            "hostAliases" => keys(&["ip"]),
            "topologySpreadConstraints" => keys(&["topologyKey", "whenUnsatisfiable"]),
            "podIPs" => keys(&["ip"]),
            "addresses" if path == ["status", "addresses"] => keys(&["type"]),
            "finalizers" | "podCIDRs" => ListType::Set,
            _ => ListType::Atomic,
        }
    }

    fn atomic(&self, path: &[&str], object: &Map<String, Value>) -> bool {
        let Some(last) = path.last() else {
            return false;
        };
        // Label selectors and node selectors are owned whole (`+structType=atomic`).
        let label_selector = object.contains_key("matchLabels")
            || object.contains_key("matchExpressions")
            || matches!(*last, "labelSelector" | "namespaceSelector");
        let node_selector = *last == "requiredDuringSchedulingIgnoredDuringExecution"
            && path.get(path.len().wrapping_sub(2)) == Some(&"nodeAffinity");
        // References are owned whole too: changing one field makes another reference.
        let reference = matches!(
            *last,
            "ownerReferences"
                | "imagePullSecrets"
                | "secretKeyRef"
                | "configMapKeyRef"
                | "fieldRef"
                | "resourceFieldRef"
                | "secretRef"
                | "configMapRef"
                | "roleRef"
                | "scaleTargetRef"
                | "targetRef"
                | "claimRef"
                | "involvedObject"
                | "dataSource"
                | "dataSourceRef"
        );
        label_selector || node_selector || reference
    }

    fn is_map(&self, path: &[&str], object: &Map<String, Value>) -> bool {
        let Some(last) = path.last() else {
            return false;
        };
        match *last {
            "labels" | "annotations" | "nodeSelector" | "data" | "binaryData" | "stringData"
            | "matchLabels" | "requests" | "limits" | "capacity" | "allocatable" | "parameters"
            | "hard" | "used" | "overhead" => true,
            // A Service's or ReplicationController's selector is a plain map; the workloads'
            // are label selectors.
            "selector" => {
                !object.contains_key("matchLabels") && !object.contains_key("matchExpressions")
            }
            _ => false,
        }
    }
}

/// A custom resource, read from its version's structural schema; `metadata` is the built-in
/// `ObjectMeta`.
#[derive(Debug, Clone, Copy)]
pub struct Structural<'a> {
    /// The `openAPIV3Schema` of the version.
    pub schema: &'a Value,
}

impl Structural<'_> {
    /// The schema at `path`, stepping into list items and map values on the way.
    fn at(&self, path: &[&str]) -> Option<&Value> {
        let mut node = self.schema;
        for name in path {
            if node.get("type").and_then(Value::as_str) == Some("array") {
                node = node.get("items")?;
            }
            node = match node.pointer(&format!(
                "/properties/{}",
                name.replace('~', "~0").replace('/', "~1")
            )) {
                Some(child) => child,
                None => node.get("additionalProperties").filter(|v| v.is_object())?,
            };
        }
        Some(node)
    }
}

impl Shape for Structural<'_> {
    fn list(&self, path: &[&str]) -> ListType {
        if path.first() == Some(&"metadata") {
            return Builtin.list(path);
        }
        let Some(schema) = self.at(path) else {
            return ListType::Atomic;
        };
        match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let names = schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                ListType::Map(
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|name| {
                            let default = schema
                                .pointer(&format!("/items/properties/{name}/default"))
                                .cloned();
                            (name.to_owned(), default)
                        })
                        .collect(),
                )
            }
            // Lists in custom resources are atomic unless their schema says otherwise.
            _ => ListType::Atomic,
        }
    }

    fn atomic(&self, path: &[&str], object: &Map<String, Value>) -> bool {
        if path.first() == Some(&"metadata") {
            return Builtin.atomic(path, object);
        }
        self.at(path)
            .and_then(|s| s.get("x-kubernetes-map-type"))
            .and_then(Value::as_str)
            == Some("atomic")
    }

    fn is_map(&self, path: &[&str], object: &Map<String, Value>) -> bool {
        if path.first() == Some(&"metadata") {
            return Builtin.is_map(path, object);
        }
        self.at(path).is_some_and(|s| {
            s.get("additionalProperties").is_some_and(Value::is_object)
                && s.get("properties").is_none()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn built_in_lists_merge_by_upstreams_keys() {
        let shape = Builtin;
        assert_eq!(
            shape.list(&["spec", "template", "spec", "containers"]),
            keys(&["name"])
        );
        let ListType::Map(ports) = shape.list(&["spec", "containers", "ports"]) else {
            panic!("container ports are a map");
        };
        assert_eq!(ports[1], ("protocol".into(), Some(json!("TCP"))));
        assert!(matches!(shape.list(&["spec", "ports"]), ListType::Map(k) if k[0].0 == "port"));
        assert_eq!(shape.list(&["metadata", "finalizers"]), ListType::Set);
        assert_eq!(
            shape.list(&["spec", "containers", "args"]),
            ListType::Atomic
        );
        assert_eq!(shape.list(&["spec", "tolerations"]), ListType::Atomic);
    }

    #[test]
    fn label_selectors_are_atomic_and_service_selectors_are_maps() {
        let shape = Builtin;
        let workload = json!({"matchLabels": {"app": "web"}});
        let service = json!({"app": "web"});
        let (w, s) = (workload.as_object().unwrap(), service.as_object().unwrap());
        assert!(shape.atomic(&["spec", "selector"], w));
        assert!(!shape.atomic(&["spec", "selector"], s));
        assert!(shape.is_map(&["spec", "selector"], s));
        assert!(shape.is_map(&["metadata", "labels"], s));
        assert!(!shape.is_map(&["spec", "strategy"], s));
    }

    #[test]
    fn custom_schemas_say_how_their_lists_merge() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name", "zone"],
                "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "zone": {"type": "string", "default": "a"},
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}},
            "plain": {"type": "array", "items": {"type": "string"}},
            "sel": {"type": "object", "x-kubernetes-map-type": "atomic"},
            "extra": {"type": "object", "additionalProperties": {"type": "string"}}}}}});
        let shape = Structural { schema: &schema };
        assert_eq!(
            shape.list(&["spec", "items"]),
            ListType::Map(vec![key("name"), ("zone".into(), Some(json!("a")))])
        );
        assert_eq!(shape.list(&["spec", "items", "tags"]), ListType::Set);
        assert_eq!(shape.list(&["spec", "plain"]), ListType::Atomic);
        assert_eq!(shape.list(&["metadata", "finalizers"]), ListType::Set);
        let empty = Map::new();
        assert!(shape.atomic(&["spec", "sel"], &empty));
        assert!(shape.is_map(&["spec", "extra"], &empty));
        assert!(!shape.is_map(&["spec"], &empty));
    }
}
