//! The fields each kind can be selected by (`fieldSelector`), as upstream registers them per kind
//! (`metadata.name` and `metadata.namespace` everywhere, plus a few per kind).

use gantry_api::catalogue::Resource;
use serde_json::Value;

/// The fields a resource supports beyond `metadata.name` and `metadata.namespace`.
fn extra_fields(resource: &Resource) -> &'static [&'static str] {
    match (resource.group, resource.plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "namespaces") => &["status.phase"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    }
}

/// Whether `field` can be selected on.
pub fn supported(resource: &Resource, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || extra_fields(resource).contains(&field)
}

/// The value of a selectable field, as upstream's field sets render it (absent = empty).
pub fn value(resource: &Resource, object: &Value, field: &str) -> Option<String> {
    if !supported(resource, field) {
        return None;
    }
    // Events' `source` is the reporting component's name.
    let path = match (resource.plural, field) {
        ("events", "source") => "/source/component".to_owned(),
        _ => format!("/{}", field.replace('.', "/")),
    };
    Some(match object.pointer(&path) {
        None | Some(Value::Null) => match (resource.plural, field) {
            ("nodes", "spec.unschedulable") | ("pods", "spec.hostNetwork") => "false".to_owned(),
            _ => String::new(),
        },
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    })
}
