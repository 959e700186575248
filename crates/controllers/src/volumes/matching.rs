//! Which existing volume a claim binds to, as upstream's `findMatchingVolume`: a volume
//! pre-bound to the claim wins; otherwise the smallest free volume of the claim's class that
//! is big enough, offers every access mode asked for, has the same volume mode, carries the
//! labels the claim selects, and (when the claim waits for its pod's node) reaches that node.

use gantry_api::selector::LabelSelector;
use gantry_client::predicates::term_matches;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bytes in a storage quantity (0 when absent or unreadable).
pub fn storage_bytes(
    resources: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
) -> f64 {
    resources
        .and_then(|r| r.get("storage"))
        .and_then(|q| gantry_api::quantity::parse(&q.0).ok())
        .unwrap_or(0.0)
}

/// The class a claim asks for (`""`: none).
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("")
}

/// Whether `volume`'s claim reference names `claim` (by name, and by uid when it has one).
pub fn refers_to(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(reference) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    reference.name == claim.metadata.name
        && reference.namespace == claim.metadata.namespace
        && reference
            .uid
            .as_deref()
            .is_none_or(|uid| uid.is_empty() || Some(uid) == claim.metadata.uid.as_deref())
}

/// Whether a volume reaches a node with `labels` named `node` (no node affinity: every node).
pub fn reaches(volume: &PersistentVolume, node: &str, labels: &BTreeMap<String, String>) -> bool {
    let required = volume
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref());
    required.is_none_or(|selector| {
        selector
            .node_selector_terms
            .iter()
            .any(|term| term_matches(term, labels, node))
    })
}

/// The best volume for `claim` among `volumes`; `node` is the node the claim's first pod goes
/// to (its name and labels), when the claim waits for it.
pub fn best<'a>(
    claim: &PersistentVolumeClaim,
    volumes: &'a [Arc<PersistentVolume>],
    node: Option<(&str, &BTreeMap<String, String>)>,
) -> Option<&'a Arc<PersistentVolume>> {
    let spec = claim.spec.clone().unwrap_or_default();
    let wanted = storage_bytes(spec.resources.as_ref().and_then(|r| r.requests.as_ref()));
    let modes = spec.access_modes.clone().unwrap_or_default();
    let mode = spec.volume_mode.as_deref().unwrap_or("Filesystem");
    let selector = spec
        .selector
        .as_ref()
        .and_then(|s| serde_json::to_value(s).ok())
        .map_or_else(LabelSelector::everything, |s| {
            LabelSelector::from_label_selector_json(&s).unwrap_or_else(|_| LabelSelector::nothing())
        });
    let fits = |volume: &PersistentVolume| -> bool {
        let Some(vspec) = volume.spec.as_ref() else {
            return false;
        };
        let size = storage_bytes(vspec.capacity.as_ref());
        let offered = vspec.access_modes.as_deref().unwrap_or_default();
        volume.metadata.deletion_timestamp.is_none()
            && size >= wanted
            && vspec.volume_mode.as_deref().unwrap_or("Filesystem") == mode
            && modes.iter().all(|m| offered.contains(m))
            && node.is_none_or(|(name, labels)| reaches(volume, name, labels))
    };
    if let Some(prebound) = volumes.iter().find(|v| refers_to(v, claim)) {
        return fits(prebound).then_some(prebound);
    }
    let class = claim_class(claim);
    volumes
        .iter()
        .filter(|v| {
            let vspec = v.spec.as_ref();
            vspec.is_some_and(|s| s.claim_ref.is_none())
                && vspec
                    .and_then(|s| s.storage_class_name.as_deref())
                    .unwrap_or("")
                    == class
                && selector.matches(&v.metadata.labels.clone().unwrap_or_default())
                && fits(v)
        })
        .min_by(|a, b| {
            let size = |v: &PersistentVolume| {
                storage_bytes(v.spec.as_ref().and_then(|s| s.capacity.as_ref()))
            };
            size(a).total_cmp(&size(b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(
        name: &str,
        size: &str,
        class: &str,
        extra: serde_json::Value,
    ) -> Arc<PersistentVolume> {
        let mut v = json!({"metadata": {"name": name, "labels": {"tier": "fast"}},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                "storageClassName": class, "volumeMode": "Filesystem"}});
        if let (Some(spec), Some(more)) = (v["spec"].as_object_mut(), extra.as_object()) {
            spec.extend(more.clone());
        }
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn claim(size: &str, class: &str) -> PersistentVolumeClaim {
        serde_json::from_value(
            json!({"metadata": {"name": "data", "namespace": "d", "uid": "u1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                "resources": {"requests": {"storage": size}}}}),
        )
        .unwrap()
    }

    #[test]
    fn the_smallest_free_volume_of_the_class_that_fits_wins() {
        let volumes = vec![
            volume("big", "10Gi", "slow", json!({})),
            volume("small", "1Gi", "slow", json!({})),
            volume("tiny", "100Mi", "slow", json!({})),
            volume("other-class", "1Gi", "fast", json!({})),
            volume(
                "taken",
                "1Gi",
                "slow",
                json!({"claimRef": {"namespace": "d", "name": "x"}}),
            ),
            volume(
                "rwx-only",
                "1Gi",
                "slow",
                json!({"accessModes": ["ReadWriteMany"]}),
            ),
        ];
        let chosen = best(&claim("500Mi", "slow"), &volumes, None).unwrap();
        assert_eq!(chosen.metadata.name.as_deref(), Some("small"));
        assert!(best(&claim("20Gi", "slow"), &volumes, None).is_none());
    }

    #[test]
    fn a_prebound_volume_wins_and_node_affinity_limits_delayed_claims() {
        let prebound = volume(
            "mine",
            "5Gi",
            "slow",
            json!({"claimRef": {"namespace": "d", "name": "data", "uid": "u1"}}),
        );
        let volumes = vec![
            volume("small", "1Gi", "slow", json!({})),
            Arc::clone(&prebound),
        ];
        assert_eq!(
            best(&claim("1Gi", "slow"), &volumes, None)
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("mine")
        );

        let pinned = volume(
            "pinned",
            "1Gi",
            "slow",
            json!({"nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}}}),
        );
        let volumes = vec![pinned];
        let labels =
            |host: &str| BTreeMap::from([("kubernetes.io/hostname".to_owned(), host.to_owned())]);
        assert!(best(&claim("1Gi", "slow"), &volumes, Some(("n1", &labels("n1")))).is_some());
        assert!(best(&claim("1Gi", "slow"), &volumes, Some(("n2", &labels("n2")))).is_none());
    }
}
