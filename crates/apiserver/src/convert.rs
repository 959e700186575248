//! One storage, several served shapes: `events.k8s.io/v1` Events are core `v1` Events stored
//! under the core key space and converted on the way in and out, as upstream converts between
//! the versions of one resource. So an event written through either API (the kube-rs and
//! client-go recorders use `events.k8s.io/v1`) is read through both (`kubectl describe` lists
//! core `v1` Events by `involvedObject`).

use gantry_api::catalogue::Resource;
use serde_json::{Map, Value};

/// `(events.k8s.io field, core v1 field)` pairs that only differ in name.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("deprecatedSource", "source"),
];

/// Whether the resource is stored in another resource's shape.
pub fn converts(resource: &Resource) -> bool {
    (resource.group, resource.plural) == ("events.k8s.io", "events")
}

/// The group whose key space holds the resource.
pub fn storage_group(resource: &Resource) -> &'static str {
    if converts(resource) {
        ""
    } else {
        resource.group
    }
}

fn rename(map: &mut Map<String, Value>, pairs: impl Iterator<Item = (&'static str, &'static str)>) {
    for (from, to) in pairs {
        if let Some(value) = map.remove(from) {
            map.insert(to.to_owned(), value);
        }
    }
}

/// The stored shape of a served object (both carry the served `apiVersion`/`kind` until the
/// caller stamps them).
pub fn to_storage(resource: &Resource, object: &mut Value) {
    if !converts(resource) {
        return;
    }
    if let Some(map) = object.as_object_mut() {
        rename(map, EVENT_FIELDS.iter().copied());
        map.insert("apiVersion".into(), Value::String("v1".into()));
        map.insert("kind".into(), Value::String("Event".into()));
    }
}

/// The served shape of a stored object.
pub fn from_storage(resource: &Resource, object: &mut Value) {
    if !converts(resource) {
        return;
    }
    if let Some(map) = object.as_object_mut() {
        rename(map, EVENT_FIELDS.iter().map(|(a, b)| (*b, *a)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_events_api_event_round_trips_through_the_core_shape() {
        let resource = gantry_api::catalogue::find("events.k8s.io", "v1", "events").unwrap();
        let served = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "pulled", "reason": "Pulled",
            "reportingController": "kubelet", "deprecatedCount": 2});
        let mut stored = served.clone();
        to_storage(resource, &mut stored);
        assert_eq!(stored["involvedObject"]["name"], "p");
        assert_eq!(
            (stored["message"].as_str(), stored["count"].as_i64()),
            (Some("pulled"), Some(2))
        );
        assert_eq!(stored["apiVersion"], "v1");
        let mut back = stored;
        from_storage(resource, &mut back);
        back["apiVersion"] = json!("events.k8s.io/v1");
        assert_eq!(back, served);
    }
}
