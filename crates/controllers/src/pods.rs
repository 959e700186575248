//! What controllers ask of pods: whether one is active, ready, available; which to delete
//! first when scaling down (upstream's ranking); and creating pods from a template with the
//! owner's controller reference.

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::json;
use std::cmp::Ordering;

/// Not finished and not being deleted (upstream's `IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// The time the pod's `Ready` condition last became `True`, if it is ready now.
pub fn ready_since(pod: &Pod) -> Option<Option<&k8s_openapi::jiff::Timestamp>> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"))
        .filter(|c| c.status == "True")
        .map(|c| c.last_transition_time.as_ref().map(|t| &t.0))
}

/// Whether the pod is ready.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` (upstream's `IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: k8s_openapi::jiff::Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since.as_second() + i64::from(min_ready_seconds) <= now.as_second(),
    }
}

/// The owner reference that marks the pod's controller, if any.
pub fn controller_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// A controller reference to `owner` (`controller` and `blockOwnerDeletion` set, as upstream's
/// `NewControllerRef`).
pub fn controller_ref<K: kube::Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A pod for `template`, to be created with a generated name starting `prefix` (upstream
/// gives the owner's name and a dash), owned by `owner`.
pub fn from_template(
    template: &PodTemplateSpec,
    prefix: &str,
    owner: OwnerReference,
) -> serde_json::Value {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": prefix,
            "labels": meta.labels,
            "annotations": meta.annotations,
            "finalizers": meta.finalizers,
            "ownerReferences": [owner],
        },
        "spec": template.spec,
    });
    if let Some(metadata) = pod["metadata"].as_object_mut() {
        metadata.retain(|_, v| !v.is_null());
    }
    pod
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") => 0,
        Some("Running") => 2,
        _ => 1,
    }
}

fn deletion_cost(pod: &Pod) -> i64 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |statuses| {
            statuses.iter().map(|c| c.restart_count).max().unwrap_or(0)
        })
}

/// Which of two pods to delete first when scaling down (`Less` = `a` first), as upstream's
/// `ActivePodsWithRanks`: unscheduled before scheduled; pending before unknown before running;
/// not ready before ready; lower `pod-deletion-cost` first; pods sharing a node with more of
/// their siblings (`rank`) first; ready more recently first; more restarts first; newer first.
pub fn delete_first(a: &Pod, a_rank: usize, b: &Pod, b_rank: usize) -> Ordering {
    let assigned = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        .then_with(|| deletion_cost(a).cmp(&deletion_cost(b)))
        .then_with(|| b_rank.cmp(&a_rank))
        .then_with(|| {
            let since = |p: &Pod| ready_since(p).flatten().copied();
            match (since(a), since(b)) {
                (Some(x), Some(y)) => y.cmp(&x),
                _ => Ordering::Equal,
            }
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(b).cmp(&created(a))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, phase: &str, ready: bool, created: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{node}-{phase}-{ready}-{created}"), "creationTimestamp": created},
            "spec": {"nodeName": node, "containers": []},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                "lastTransitionTime": created}]},
        }))
        .unwrap()
    }

    #[test]
    fn scale_down_takes_the_least_established_pods_first() {
        let mut pods = [
            pod("n1", "Running", true, "2026-01-01T00:00:00Z"),
            pod("n1", "Running", true, "2026-01-02T00:00:00Z"),
            pod("n1", "Running", false, "2026-01-01T00:00:00Z"),
            pod("n1", "Pending", false, "2026-01-01T00:00:00Z"),
            pod("", "Pending", false, "2026-01-01T00:00:00Z"),
        ];
        pods.sort_by(|a, b| delete_first(a, 0, b, 0));
        let order: Vec<&str> = pods
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "-Pending-false-2026-01-01T00:00:00Z",
                "n1-Pending-false-2026-01-01T00:00:00Z",
                "n1-Running-false-2026-01-01T00:00:00Z",
                "n1-Running-true-2026-01-02T00:00:00Z",
                "n1-Running-true-2026-01-01T00:00:00Z",
            ]
        );
    }

    #[test]
    fn available_means_ready_for_min_ready_seconds() {
        let p = pod("n", "Running", true, "2026-01-01T00:00:00Z");
        let at = |s: &str| s.parse::<k8s_openapi::jiff::Timestamp>().unwrap();
        assert!(is_available(&p, 0, at("2026-01-01T00:00:00Z")));
        assert!(!is_available(&p, 10, at("2026-01-01T00:00:09Z")));
        assert!(is_available(&p, 10, at("2026-01-01T00:00:10Z")));
        assert!(!is_available(
            &pod("n", "Running", false, "2026-01-01T00:00:00Z"),
            0,
            at("2027-01-01T00:00:00Z")
        ));
        assert!(is_active(&p));
    }

    #[test]
    fn template_pods_carry_the_controller_reference_and_the_template() {
        let template: PodTemplateSpec = serde_json::from_value(json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        }))
        .unwrap();
        let owner = OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let pod = from_template(&template, "web-", owner);
        assert_eq!(pod["metadata"]["generateName"], "web-");
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["containers"][0]["image"], "i");
        assert!(pod["metadata"].get("annotations").is_none());
    }
}
