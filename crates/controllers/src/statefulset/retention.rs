//! `persistentVolumeClaimRetentionPolicy` on existing claims, as upstream keeps it: with
//! `whenDeleted: Delete` a claim is owned by its set (the garbage collector deletes it with the
//! set); with `whenScaled: Delete` the claims of a pod condemned by a scale-down are owned by
//! that pod (they go once it is gone), and lose that owner again if the set grows back before.
//! `Retain` removes the corresponding owner. Other owners are left alone.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

fn policy<'a>(set: &'a StatefulSet, which: &str) -> &'a str {
    let policy = set
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let value = match which {
        "whenDeleted" => policy.and_then(|p| p.when_deleted.as_deref()),
        _ => policy.and_then(|p| p.when_scaled.as_deref()),
    };
    value.unwrap_or("Retain")
}

/// The owner references `claim` should have, when they differ from what it has: `pod` is the
/// pod of the claim's ordinal (if it exists) and `condemned` whether scale-down removes it.
pub fn wanted_owners(
    claim: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: Option<&Pod>,
    condemned: bool,
) -> Option<Vec<OwnerReference>> {
    let current = claim.metadata.owner_references.clone().unwrap_or_default();
    let set_uid = set.metadata.uid.as_deref().unwrap_or_default();
    let pod_uid = pod.and_then(|p| p.metadata.uid.as_deref());
    let mut wanted: Vec<OwnerReference> = current
        .iter()
        .filter(|r| r.uid != set_uid && !(r.kind == "Pod" && Some(r.uid.as_str()) == pod_uid))
        .cloned()
        .collect();
    if policy(set, "whenDeleted") == "Delete" {
        let mut owner = crate::pods::controller_ref(set);
        owner.controller = None;
        wanted.push(owner);
    }
    if let Some(pod) = pod.filter(|_| condemned && policy(set, "whenScaled") == "Delete") {
        let mut owner = crate::pods::controller_ref(pod);
        owner.controller = None;
        owner.block_owner_deletion = None;
        wanted.push(owner);
    }
    let same = wanted.len() == current.len()
        && wanted
            .iter()
            .all(|w| current.iter().any(|c| c.uid == w.uid));
    (!same).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(when_deleted: &str, when_scaled: &str) -> StatefulSet {
        serde_json::from_value(json!({"metadata": {"name": "web", "uid": "set-uid"},
            "spec": {"selector": {}, "template": {}, "serviceName": "web",
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": when_deleted, "whenScaled": when_scaled}}}))
        .unwrap()
    }

    fn claim(owners: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(
            json!({"metadata": {"name": "www-web-2", "ownerReferences": owners}}),
        )
        .unwrap()
    }

    fn pod() -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "pod-uid"}})).unwrap()
    }

    fn uids(owners: &[OwnerReference]) -> Vec<&str> {
        owners.iter().map(|o| o.uid.as_str()).collect()
    }

    #[test]
    fn condemned_pods_own_their_claims_only_when_scale_down_deletes() {
        let pod = pod();
        let owned = wanted_owners(
            &claim(json!([])),
            &set("Retain", "Delete"),
            Some(&pod),
            true,
        )
        .unwrap();
        assert_eq!(uids(&owned), ["pod-uid"]);
        assert_eq!(owned[0].kind, "Pod");
        // Grown back before the pod went: the pod lets go.
        let back = wanted_owners(
            &claim(json!(owned)),
            &set("Retain", "Delete"),
            Some(&pod),
            false,
        )
        .unwrap();
        assert!(back.is_empty());
        assert!(
            wanted_owners(
                &claim(json!([])),
                &set("Retain", "Retain"),
                Some(&pod),
                true
            )
            .is_none()
        );
    }

    #[test]
    fn the_set_owns_claims_when_its_deletion_deletes_them_and_other_owners_stay() {
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "other"});
        let owned = wanted_owners(
            &claim(json!([other])),
            &set("Delete", "Retain"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(uids(&owned), ["other", "set-uid"]);
        assert!(
            wanted_owners(&claim(json!(owned)), &set("Delete", "Retain"), None, false).is_none()
        );
        let released =
            wanted_owners(&claim(json!(owned)), &set("Retain", "Retain"), None, false).unwrap();
        assert_eq!(uids(&released), ["other"]);
    }
}
