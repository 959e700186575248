//! Update rules: the fields upstream's validation refuses to change once an object exists
//! (`ValidatePodUpdate`, `ValidateDeploymentUpdate`, `ValidateStatefulSetUpdate`, ...). Checked
//! on updates of the main resource; subresources (`status`, `binding`, `scale`) have their own
//! narrower rules.

use crate::status::Cause;
use serde_json::{Value, json};

/// Why an update of `old` into `new` is refused, as upstream words it.
pub fn violations(group: &str, kind: &str, old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let unchanged = |path: &str| old.pointer(path) == new.pointer(path);
    let immutable = |path: &str, field: &str, causes: &mut Vec<Cause>| {
        if !unchanged(path) {
            causes.push(Cause::invalid(
                field,
                new.pointer(path).unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
    };
    match (group, kind) {
        ("", "Pod") => pod(old, new, &mut causes),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") => {
            immutable("/spec/selector", "spec.selector", &mut causes)
        }
        ("apps", "StatefulSet") => {
            const MUTABLE: &[&str] = &[
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ];
            if strip(old.get("spec"), MUTABLE) != strip(new.get("spec"), MUTABLE) {
                causes.push(Cause::forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                ));
            }
        }
        ("batch", "Job") => {
            immutable("/spec/selector", "spec.selector", &mut causes);
            immutable("/spec/completionMode", "spec.completionMode", &mut causes);
        }
        ("", "ConfigMap" | "Secret") => {
            if old.get("immutable") == Some(&json!(true)) {
                for field in ["data", "binaryData", "stringData"] {
                    if old.get(field) != new.get(field)
                        && !(field == "stringData" && new.get(field).is_none())
                    {
                        causes.push(Cause::forbidden(
                            field,
                            "field is immutable when `immutable` is set",
                        ));
                    }
                }
                if new.get("immutable") != Some(&json!(true)) {
                    causes.push(Cause::forbidden(
                        "immutable",
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
            if kind == "Secret" {
                immutable("/type", "type", &mut causes);
            }
        }
        ("", "PersistentVolumeClaim") => {
            const MUTABLE: &[&str] = &["resources", "volumeAttributesClassName"];
            // The volume controller binds a pending claim (`volumeName` set once) and gives a
            // class-less claim the default class later (upstream since 1.28).
            let mut before = strip(old.get("spec"), MUTABLE);
            let after = strip(new.get("spec"), MUTABLE);
            for settable in ["volumeName", "storageClassName"] {
                let unset = before.get(settable).is_none_or(|v| v.is_null() || v == "");
                let may =
                    settable == "volumeName" || before.get(settable).is_none_or(Value::is_null);
                if unset
                    && may
                    && let (Some(map), Some(value)) = (before.as_object_mut(), after.get(settable))
                {
                    map.insert(settable.into(), value.clone());
                }
            }
            if before != after {
                causes.push(Cause::forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
            }
        }
        _ => {}
    }
    causes
}

/// A spec without the named fields, for "everything else is immutable" rules.
fn strip(spec: Option<&Value>, mutable: &[&str]) -> Value {
    let mut spec = spec.cloned().unwrap_or_else(|| json!({}));
    if let Some(map) = spec.as_object_mut() {
        for field in mutable {
            map.remove(*field);
        }
    }
    spec
}

/// A pod's spec may change only in container images, `activeDeadlineSeconds`, added
/// tolerations, removed scheduling gates and a negative grace period set to 1.
fn pod(old: &Value, new: &Value, causes: &mut Vec<Cause>) {
    let comparable = |spec: Option<&Value>| {
        let mut spec = spec.cloned().unwrap_or_else(|| json!({}));
        for list in ["containers", "initContainers"] {
            if let Some(items) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for container in items {
                    if let Some(c) = container.as_object_mut() {
                        c.remove("image");
                    }
                }
            }
        }
        if let Some(map) = spec.as_object_mut() {
            for field in [
                "activeDeadlineSeconds",
                "tolerations",
                "schedulingGates",
                "terminationGracePeriodSeconds",
            ] {
                map.remove(field);
            }
        }
        spec
    };
    let tolerations = |spec: Option<&Value>| {
        spec.and_then(|s| s.get("tolerations"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (old_tol, new_tol) = (tolerations(old.get("spec")), tolerations(new.get("spec")));
    let only_added = old_tol.iter().all(|t| new_tol.contains(t));
    let gates = |v: &Value| {
        v.pointer("/spec/schedulingGates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let gates_only_removed = gates(new).iter().all(|g| gates(old).contains(g));
    let grace_ok = old.pointer("/spec/terminationGracePeriodSeconds")
        == new.pointer("/spec/terminationGracePeriodSeconds")
        || (old
            .pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_some_and(|g| g < 0)
            && new.pointer("/spec/terminationGracePeriodSeconds") == Some(&json!(1)));
    if comparable(old.get("spec")) != comparable(new.get("spec"))
        || !only_added
        || !gates_only_removed
        || !grace_ok
    {
        causes.push(Cause::forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_with(spec: Value) -> Value {
        json!({"kind": "Pod", "spec": spec})
    }

    #[test]
    fn a_pod_may_change_images_and_add_tolerations_only() {
        let old = pod_with(
            json!({"containers": [{"name": "c", "image": "a:1"}], "tolerations": [{"key": "k"}]}),
        );
        let image = pod_with(
            json!({"containers": [{"name": "c", "image": "a:2"}], "tolerations": [{"key": "k"}, {"key": "l"}]}),
        );
        assert!(violations("", "Pod", &old, &image).is_empty());
        let restart = pod_with(
            json!({"containers": [{"name": "c", "image": "a:1"}], "tolerations": [{"key": "k"}], "restartPolicy": "Never"}),
        );
        let causes = violations("", "Pod", &old, &restart);
        assert!(
            causes[0]
                .message
                .starts_with("Forbidden: pod updates may not change fields other than")
        );
        let removed = pod_with(json!({"containers": [{"name": "c", "image": "a:1"}]}));
        assert_eq!(
            violations("", "Pod", &old, &removed).len(),
            1,
            "tolerations may only be added"
        );
    }

    #[test]
    fn workload_selectors_are_immutable() {
        let old = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "replicas": 1}});
        let scaled = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "replicas": 5}});
        assert!(violations("apps", "Deployment", &old, &scaled).is_empty());
        let moved = json!({"spec": {"selector": {"matchLabels": {"a": "2"}}}});
        let causes = violations("apps", "Deployment", &old, &moved);
        assert_eq!(
            (causes[0].field.as_str(), causes[0].reason),
            ("spec.selector", "FieldValueInvalid")
        );
        assert!(causes[0].message.ends_with("field is immutable"));
    }

    #[test]
    fn an_immutable_configmap_keeps_its_data() {
        let old = json!({"immutable": true, "data": {"a": "1"}});
        let changed = json!({"immutable": true, "data": {"a": "2"}});
        assert_eq!(violations("", "ConfigMap", &old, &changed)[0].field, "data");
        let relabelled =
            json!({"immutable": true, "data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}});
        assert!(violations("", "ConfigMap", &old, &relabelled).is_empty());
        let secret_type = violations(
            "",
            "Secret",
            &json!({"type": "Opaque"}),
            &json!({"type": "kubernetes.io/tls"}),
        );
        assert_eq!(secret_type[0].field, "type");
    }

    #[test]
    fn a_statefulset_spec_changes_only_in_its_mutable_fields() {
        let old = json!({"spec": {"replicas": 1, "serviceName": "s", "template": {}}});
        assert!(
            violations(
                "apps",
                "StatefulSet",
                &old,
                &json!({"spec": {"replicas": 3, "serviceName": "s", "template": {"x": 1}}})
            )
            .is_empty()
        );
        assert_eq!(
            violations(
                "apps",
                "StatefulSet",
                &old,
                &json!({"spec": {"replicas": 1, "serviceName": "t", "template": {}}})
            )
            .len(),
            1
        );
    }
}
