//! A StatefulSet pod's identity: its ordinal and name, the labels and hostname that come with
//! them, and its claims from `volumeClaimTemplates` (`<template>-<set>-<ordinal>`).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use serde_json::json;

/// The ordinal in a pod's name `<set>-<ordinal>`, if it is one of this set's names.
pub fn ordinal_of(set: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(set)?
        .strip_prefix('-')?
        .parse()
        .ok()
        .filter(|n: &i32| *n >= 0)
}

/// The claim name for a template and an ordinal.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// The pod for `ordinal` from `template` (of the revision `revision`): its fixed name,
/// hostname and subdomain, identity labels, and its claims in place of same-named volumes.
pub fn pod_for(
    set: &StatefulSet,
    template: &PodTemplateSpec,
    revision: &str,
    ordinal: i32,
) -> serde_json::Value {
    let name = set.metadata.name.clone().unwrap_or_default();
    let pod_name = format!("{name}-{ordinal}");
    let spec = set.spec.clone().unwrap_or_default();
    let mut template = template.clone();
    let meta = template.metadata.get_or_insert_with(Default::default);
    let labels = meta.labels.get_or_insert_with(Default::default);
    labels.insert("controller-revision-hash".to_owned(), revision.to_owned());
    labels.insert(
        "statefulset.kubernetes.io/pod-name".to_owned(),
        pod_name.clone(),
    );
    labels.insert(
        "apps.kubernetes.io/pod-index".to_owned(),
        ordinal.to_string(),
    );
    let mut pod = crate::pods::from_template(&template, "", crate::pods::controller_ref(set));
    pod["metadata"]["name"] = json!(pod_name);
    if let Some(metadata) = pod["metadata"].as_object_mut() {
        metadata.remove("generateName");
    }
    pod["metadata"]["namespace"] = json!(set.metadata.namespace);
    pod["spec"]["hostname"] = json!(pod_name);
    if !spec.service_name.clone().unwrap_or_default().is_empty() {
        pod["spec"]["subdomain"] = json!(spec.service_name);
    }
    for claim in spec.volume_claim_templates.iter().flatten() {
        let volume = claim.metadata.name.clone().unwrap_or_default();
        let volumes = pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut volumes: Vec<serde_json::Value> = volumes
            .into_iter()
            .filter(|v| v["name"] != volume)
            .collect();
        volumes.push(json!({"name": volume, "persistentVolumeClaim": {"claimName": claim_name(&volume, &name, ordinal)}}));
        pod["spec"]["volumes"] = json!(volumes);
    }
    pod
}

/// The claims `ordinal` needs, as objects to create (labelled with the set's selector labels,
/// owned by the set when `whenDeleted: Delete`).
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let name = set.metadata.name.clone().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let delete_with_set = spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .and_then(|p| p.when_deleted.as_deref())
        == Some("Delete");
    spec.volume_claim_templates
        .iter()
        .flatten()
        .map(|template| {
            let mut claim = template.clone();
            let volume = claim.metadata.name.clone().unwrap_or_default();
            claim.metadata.name = Some(claim_name(&volume, &name, ordinal));
            claim.metadata.namespace = set.metadata.namespace.clone();
            let labels = claim.metadata.labels.get_or_insert_with(Default::default);
            labels.extend(spec.selector.match_labels.clone().unwrap_or_default());
            if delete_with_set {
                let mut owner = crate::pods::controller_ref(set);
                owner.controller = None;
                claim.metadata.owner_references = Some(vec![owner]);
            }
            claim.status = None;
            claim
        })
        .collect()
}

/// The revision (ControllerRevision name) a pod was made from.
pub fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get("controller-revision-hash")
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ordinals_and_claims_follow_upstream() {
        assert_eq!(ordinal_of("web", "web-2"), Some(2));
        assert_eq!(ordinal_of("web", "web-x"), None);
        assert_eq!(ordinal_of("web", "webby-1"), None);
        let set: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "d", "uid": "u"},
            "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}}}],
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}}})).unwrap();
        let template = set.spec.as_ref().unwrap().template.clone();
        let pod = pod_for(&set, &template, "web-abc", 1);
        assert_eq!(pod["metadata"]["name"], "web-1");
        assert_eq!(pod["spec"]["hostname"], "web-1");
        assert_eq!(pod["spec"]["subdomain"], "nginx");
        assert_eq!(
            pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
            "1"
        );
        assert_eq!(
            pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "www-web-1"
        );
        let claims = claims_for(&set, 1);
        assert_eq!(claims[0].metadata.name.as_deref(), Some("www-web-1"));
        assert_eq!(claims[0].metadata.labels.as_ref().unwrap()["app"], "web");
        assert_eq!(
            claims[0].metadata.owner_references.as_ref().unwrap()[0].kind,
            "StatefulSet"
        );
    }
}
