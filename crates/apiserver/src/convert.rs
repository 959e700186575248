//! One storage, several served shapes, converted on the way in and out as upstream converts
//! between the versions of one resource:
//! - `events.k8s.io/v1` Events are core `v1` Events under the core key space, so an event written
//!   through either API (the kube-rs and client-go recorders use `events.k8s.io/v1`) is read
//!   through both (`kubectl describe` lists core `v1` Events by `involvedObject`);
//! - `autoscaling/v1` HorizontalPodAutoscalers are stored as `autoscaling/v2`: the v1 CPU target
//!   is a cpu `Utilization` metric; what v1 cannot express rides in upstream's annotations.

use gantry_api::catalogue::Resource;
use serde_json::{Map, Value};

/// `(events.k8s.io field, core v1 field)` pairs that only differ in name.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
];

/// Whether the resource is stored in another resource's shape.
pub fn converts(resource: &Resource) -> bool {
    matches!(
        (resource.group, resource.version, resource.plural),
        ("events.k8s.io", _, "events") | ("autoscaling", "v1", "horizontalpodautoscalers")
    )
}

fn is_hpa_v1(resource: &Resource) -> bool {
    (resource.group, resource.version, resource.plural)
        == ("autoscaling", "v1", "horizontalpodautoscalers")
}

/// Where upstream keeps, on a v1 HPA, the v2 metrics that v1 cannot express.
const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";

fn is_cpu_utilization(metric: &Value) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == "cpu"
        && metric["resource"]["target"]["type"] == "Utilization"
}

fn annotations(map: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    let annotations = metadata
        .as_object_mut()?
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations.as_object_mut()
}

fn take_annotation(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let annotations = map
        .get_mut("metadata")?
        .get_mut("annotations")?
        .as_object_mut()?;
    let text = annotations.remove(key)?;
    if annotations.is_empty()
        && let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut)
    {
        metadata.remove("annotations");
    }
    serde_json::from_str(text.as_str()?).ok()
}

/// v1 → v2.
fn hpa_to_storage(map: &mut Map<String, Value>) {
    let mut metrics: Vec<Value> = take_annotation(map, METRICS_ANNOTATION)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let current: Vec<Value> = take_annotation(map, CURRENT_METRICS_ANNOTATION)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let conditions = take_annotation(map, CONDITIONS_ANNOTATION);
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
        if let Some(target) = spec
            .remove("targetCPUUtilizationPercentage")
            .filter(|t| !t.is_null())
        {
            metrics.insert(0, serde_json::json!({"type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}));
        }
        if !metrics.is_empty() {
            spec.insert("metrics".into(), Value::Array(metrics));
        }
    }
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut) {
        let mut current = current;
        if let Some(cpu) = status
            .remove("currentCPUUtilizationPercentage")
            .filter(|c| !c.is_null())
        {
            current.insert(
                0,
                serde_json::json!({"type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}),
            );
        }
        if !current.is_empty() {
            status.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(conditions) = conditions {
            status.insert("conditions".into(), conditions);
        }
    }
}

/// v2 → v1.
fn hpa_from_storage(map: &mut Map<String, Value>) {
    let mut other_metrics = Vec::new();
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
        for metric in spec
            .remove("metrics")
            .and_then(|m| m.as_array().cloned())
            .unwrap_or_default()
        {
            if is_cpu_utilization(&metric) && !spec.contains_key("targetCPUUtilizationPercentage") {
                let target = metric["resource"]["target"]["averageUtilization"].clone();
                spec.insert("targetCPUUtilizationPercentage".into(), target);
            } else {
                other_metrics.push(metric);
            }
        }
        spec.remove("behavior");
    }
    let mut other_current = Vec::new();
    let mut conditions = None;
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut) {
        for metric in status
            .remove("currentMetrics")
            .and_then(|m| m.as_array().cloned())
            .unwrap_or_default()
        {
            let cpu = metric["type"] == "Resource" && metric["resource"]["name"] == "cpu";
            match metric["resource"]["current"]["averageUtilization"].clone() {
                Value::Null => other_current.push(metric),
                value if cpu => {
                    status.insert("currentCPUUtilizationPercentage".into(), value);
                }
                _ => other_current.push(metric),
            }
        }
        conditions = status.remove("conditions");
    }
    for (key, value) in [
        (
            METRICS_ANNOTATION,
            (!other_metrics.is_empty()).then_some(Value::Array(other_metrics)),
        ),
        (
            CURRENT_METRICS_ANNOTATION,
            (!other_current.is_empty()).then_some(Value::Array(other_current)),
        ),
        (
            CONDITIONS_ANNOTATION,
            conditions.filter(|c| c.as_array().is_some_and(|a| !a.is_empty())),
        ),
    ] {
        if let Some(value) = value
            && let Some(annotations) = annotations(map)
        {
            annotations.insert(key.into(), Value::String(value.to_string()));
        }
    }
}

/// The group whose key space holds the resource.
pub fn storage_group(resource: &Resource) -> &'static str {
    // Events of both APIs live in the core key space; both HPA versions already share
    // `autoscaling`'s.
    if resource.group == "events.k8s.io" {
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
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if is_hpa_v1(resource) {
        hpa_to_storage(map);
        map.insert("apiVersion".into(), Value::String("autoscaling/v2".into()));
        return;
    }
    rename(map, EVENT_FIELDS.iter().copied());
    map.insert("apiVersion".into(), Value::String("v1".into()));
    map.insert("kind".into(), Value::String("Event".into()));
}

/// The served shape of a stored object.
pub fn from_storage(resource: &Resource, object: &mut Value) {
    if !converts(resource) {
        return;
    }
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if is_hpa_v1(resource) {
        hpa_from_storage(map);
        return;
    }
    rename(map, EVENT_FIELDS.iter().map(|(a, b)| (*b, *a)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_v1_hpa_is_stored_as_v2_and_read_back_unchanged() {
        let v1 =
            gantry_api::catalogue::find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let served = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                     "targetCPUUtilizationPercentage": 70},
            "status": {"currentReplicas": 2, "desiredReplicas": 2, "currentCPUUtilizationPercentage": 40}});
        let mut stored = served.clone();
        to_storage(v1, &mut stored);
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert!(is_cpu_utilization(&stored["spec"]["metrics"][0]));
        assert_eq!(
            stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
        assert_eq!(
            stored["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
            40
        );
        let mut back = stored;
        from_storage(v1, &mut back);
        back["apiVersion"] = json!("autoscaling/v1");
        assert_eq!(back, served);
    }

    #[test]
    fn v2_metrics_that_v1_cannot_express_ride_in_annotations() {
        let v1 =
            gantry_api::catalogue::find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let memory = json!({"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}});
        let mut object = json!({"metadata": {"name": "h"}, "spec": {"maxReplicas": 3, "metrics": [memory.clone()]}});
        from_storage(v1, &mut object);
        let annotation = object["metadata"]["annotations"][METRICS_ANNOTATION]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            serde_json::from_str::<Value>(&annotation).unwrap(),
            json!([memory])
        );
        to_storage(v1, &mut object);
        assert_eq!(object["spec"]["metrics"], json!([memory]));
        assert!(object["metadata"].get("annotations").is_none());
    }

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
        assert_eq!(stored["reportingComponent"], "kubelet");
        let mut back = stored;
        from_storage(resource, &mut back);
        back["apiVersion"] = json!("events.k8s.io/v1");
        assert_eq!(back, served);
    }
}
