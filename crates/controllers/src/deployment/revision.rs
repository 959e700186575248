//! ReplicaSets as a Deployment's revisions: the pod-template hash that names them, the
//! annotations that number them (`deployment.kubernetes.io/revision`, and the
//! `revision-history` of numbers a template had before), and which set is the new one.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use std::collections::BTreeMap;

/// The label that ties pods and sets to one template.
pub const HASH_LABEL: &str = "pod-template-hash";
/// A set's revision number.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The earlier revision numbers of a set whose template came back (by rollback).
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the set was last scaled by it.
pub const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
/// `replicas + maxSurge` at that time.
pub const MAX: &str = "deployment.kubernetes.io/max-replicas";

/// Annotations a Deployment does not hand to its sets (upstream's `skipCopyAnnotation`).
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX,
    "deprecated.deployment.rollback.to",
];

/// Upstream's alphabet for generated names (no vowels, no look-alike digits).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The hash of a template (FNV-1a over its JSON, with the collision count appended, encoded
/// in upstream's alphabet). Stable for one template; a different template gets another.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u32::from(*byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    feed(
        serde_json::to_string(template)
            .unwrap_or_default()
            .as_bytes(),
    );
    if let Some(count) = collision_count {
        feed(&count.to_le_bytes());
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// Whether two templates are the same apart from the hash label (upstream's
/// `EqualIgnoreHash`).
pub fn same_template(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(meta) = t.metadata.as_mut()
            && let Some(labels) = meta.labels.as_mut()
        {
            labels.remove(HASH_LABEL);
            if labels.is_empty() {
                meta.labels = None;
            }
        }
        serde_json::to_value(t).unwrap_or_default()
    };
    strip(a) == strip(b)
}

/// A set's revision number (0 when absent or malformed).
pub fn revision_of(set: &ReplicaSet) -> i64 {
    set.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The annotations a set of this Deployment should carry: the Deployment's own (but those
/// above), and the revision. A set taking a newer revision records its old number in the
/// history (a rollback brings an old template back as the newest revision).
pub fn set_annotations(
    deployment: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
    revision: i64,
) -> BTreeMap<String, String> {
    let mut annotations = existing.clone();
    for (key, value) in deployment {
        if !NOT_COPIED.contains(&key.as_str()) {
            annotations.insert(key.clone(), value.clone());
        }
    }
    let old: i64 = existing
        .get(REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    if revision > old {
        if old > 0 {
            let history = match existing.get(REVISION_HISTORY) {
                Some(h) if !h.is_empty() => format!("{h},{old}"),
                _ => old.to_string(),
            };
            annotations.insert(REVISION_HISTORY.to_owned(), history);
        }
        annotations.insert(REVISION.to_owned(), revision.to_string());
    }
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut labels = json!({"app": "web"});
        if let Some(hash) = hash {
            labels[HASH_LABEL] = json!(hash);
        }
        serde_json::from_value(json!({"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": image}]}}))
        .unwrap()
    }

    #[test]
    fn the_hash_is_stable_differs_by_template_and_uses_safe_characters() {
        let a = template_hash(&template("a", None), None);
        assert_eq!(a, template_hash(&template("a", None), None));
        assert_ne!(a, template_hash(&template("b", None), None));
        assert_ne!(a, template_hash(&template("a", None), Some(1)));
        assert!(a.bytes().all(|b| ALPHANUMS.contains(&b)), "{a}");
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        assert!(same_template(
            &template("a", Some("x")),
            &template("a", None)
        ));
        assert!(!same_template(
            &template("a", Some("x")),
            &template("b", Some("x"))
        ));
    }

    #[test]
    fn a_set_taking_a_newer_revision_keeps_its_old_number_in_the_history() {
        let deployment = BTreeMap::from([
            ("kubernetes.io/change-cause".to_owned(), "v2".to_owned()),
            (REVISION.to_owned(), "9".to_owned()),
        ]);
        let fresh = set_annotations(&deployment, &BTreeMap::new(), 1);
        assert_eq!(fresh.get(REVISION).map(String::as_str), Some("1"));
        assert_eq!(
            fresh.get("kubernetes.io/change-cause").map(String::as_str),
            Some("v2")
        );
        assert!(!fresh.contains_key(REVISION_HISTORY));
        let back = set_annotations(&deployment, &fresh, 3);
        assert_eq!(back.get(REVISION).map(String::as_str), Some("3"));
        assert_eq!(back.get(REVISION_HISTORY).map(String::as_str), Some("1"));
        let again = set_annotations(&deployment, &back, 5);
        assert_eq!(again.get(REVISION_HISTORY).map(String::as_str), Some("1,3"));
        assert_eq!(
            set_annotations(&deployment, &again, 2),
            again,
            "never backwards"
        );
    }
}
