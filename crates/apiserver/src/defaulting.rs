//! Upstream 1.33's defaults for built-in objects, applied to every object written (as upstream
//! applies them when it decodes a request): only absent or null fields are filled, nothing a
//! client set is changed, and unknown fields pass through untouched. Mirrors the
//! `SetDefaults_*` functions of `pkg/apis/{core,apps,batch,...}/v1`, plus the two admission
//! plugins every cluster runs on pods (ServiceAccount, DefaultTolerationSeconds).
//!
//! The namespace strategy's `kubernetes` entry in `spec.finalizers` is added on create only
//! (by the registry), since upstream lets it be removed over the namespace's life.

use serde_json::{Map, Value, json};

/// Upstream decodes every object into its Go type and encodes it again, so metadata lists and
/// maps left empty (the last owner reference or finalizer patched away, labels cleared) vanish
/// (`omitempty`); raw JSON keeps them unless told.
fn omit_empty_metadata(root: &mut Map<String, Value>) {
    let Some(Value::Object(metadata)) = root.get_mut("metadata") else {
        return;
    };
    for field in [
        "ownerReferences",
        "finalizers",
        "labels",
        "annotations",
        "managedFields",
    ] {
        let empty = match metadata.get(field) {
            Some(Value::Array(list)) => list.is_empty(),
            Some(Value::Object(map)) => map.is_empty(),
            _ => false,
        };
        if empty {
            metadata.remove(field);
        }
    }
}

/// Fills in the defaults of a `group`/`kind` object.
pub fn apply(group: &str, kind: &str, object: &mut Value) {
    let Some(root) = object.as_object_mut() else {
        return;
    };
    omit_empty_metadata(root);
    match (group, kind) {
        ("", "Pod") => {
            // A mirror pod keeps the spec its kubelet read from a file (upstream's ServiceAccount
            // admission leaves it alone; NodeRestriction refuses one naming an account).
            let mirror = root
                .get("metadata")
                .and_then(|m| m.pointer("/annotations/kubernetes.io~1config.mirror"))
                .is_some();
            if let Some(spec) = child(root, "spec") {
                pod_spec(spec);
                // ServiceAccount admission: a pod runs as `default` unless it names another.
                if !mirror {
                    set(spec, "serviceAccountName", json!("default"));
                    let name = spec
                        .get("serviceAccountName")
                        .cloned()
                        .unwrap_or(json!("default"));
                    set(spec, "serviceAccount", name);
                }
                default_tolerations(spec);
            }
        }
        ("", "PodTemplate") => template(root),
        ("scheduling.k8s.io", "PriorityClass") => {
            set(root, "preemptionPolicy", json!("PreemptLowerPriority"));
        }
        ("", "ReplicationController") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "replicas", json!(1));
                template(spec);
            }
        }
        ("apps", "Deployment") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "replicas", json!(1));
                set(spec, "revisionHistoryLimit", json!(10));
                set(spec, "progressDeadlineSeconds", json!(600));
                let strategy = child(spec, "strategy");
                if let Some(strategy) = strategy {
                    set(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate"))
                        && let Some(rolling) = child(strategy, "rollingUpdate")
                    {
                        set(rolling, "maxUnavailable", json!("25%"));
                        set(rolling, "maxSurge", json!("25%"));
                    }
                }
                template(spec);
            }
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "replicas", json!(1));
                template(spec);
            }
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "replicas", json!(1));
                set(spec, "podManagementPolicy", json!("OrderedReady"));
                set(spec, "revisionHistoryLimit", json!(10));
                if let Some(strategy) = child(spec, "updateStrategy") {
                    set(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate"))
                        && let Some(rolling) = child(strategy, "rollingUpdate")
                    {
                        set(rolling, "partition", json!(0));
                    }
                }
                if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
                    set(policy, "whenDeleted", json!("Retain"));
                    set(policy, "whenScaled", json!("Retain"));
                }
                if let Some(claims) = spec
                    .get_mut("volumeClaimTemplates")
                    .and_then(Value::as_array_mut)
                {
                    for claim in claims.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(claim_spec) = child(claim, "spec") {
                            set(claim_spec, "volumeMode", json!("Filesystem"));
                        }
                    }
                }
                template(spec);
            }
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "revisionHistoryLimit", json!(10));
                if let Some(strategy) = child(spec, "updateStrategy") {
                    set(strategy, "type", json!("RollingUpdate"));
                    if strategy.get("type") == Some(&json!("RollingUpdate"))
                        && let Some(rolling) = child(strategy, "rollingUpdate")
                    {
                        set(rolling, "maxUnavailable", json!(1));
                        set(rolling, "maxSurge", json!(0));
                    }
                }
                template(spec);
            }
        }
        ("batch", "Job") => {
            if let Some(spec) = child(root, "spec") {
                job_spec(spec);
            }
        }
        ("batch", "CronJob") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "concurrencyPolicy", json!("Allow"));
                set(spec, "suspend", json!(false));
                set(spec, "successfulJobsHistoryLimit", json!(3));
                set(spec, "failedJobsHistoryLimit", json!(1));
                if let Some(job_template) = child(spec, "jobTemplate")
                    && let Some(job) = child(job_template, "spec")
                {
                    job_spec(job);
                }
            }
        }
        ("", "Secret") => set(root, "type", json!("Opaque")),
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "volumeMode", json!("Filesystem"));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            set(root, "reclaimPolicy", json!("Delete"));
            set(root, "volumeBindingMode", json!("Immediate"));
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set(spec, "volumeMode", json!("Filesystem"));
            }
        }
        ("", "Endpoints") => {
            for subset in array(root, "subsets") {
                for port in array(subset, "ports") {
                    set(port, "protocol", json!("TCP"));
                }
            }
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            for port in array(root, "ports") {
                set(port, "protocol", json!("TCP"));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            for subject in array(root, "subjects") {
                let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
                if kind == "User" || kind == "Group" {
                    set(subject, "apiGroup", json!("rbac.authorization.k8s.io"));
                }
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if let Some(spec) = child(root, "spec") {
                set(spec, "minReplicas", json!(1));
            }
        }
        _ => {}
    }
}

/// The object under `key`, created empty if absent or null; `None` if it is something else.
fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let value = map.entry(key).or_insert_with(|| json!({}));
    if value.is_null() {
        *value = json!({});
    }
    value.as_object_mut()
}

/// Sets `key` unless it has a non-null value.
fn set(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_owned(), value);
    }
}

/// The objects of the array under `key` (none if absent or not an array).
fn array<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// A workload's `spec.template` gets the pod defaults (not the pod admission ones).
fn template(spec: &mut Map<String, Value>) {
    if let Some(template) = spec.get_mut("template").and_then(Value::as_object_mut)
        && let Some(pod) = child(template, "spec")
    {
        pod_spec(pod);
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    let neither = spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null);
    if neither {
        set(spec, "completions", json!(1));
    }
    set(spec, "parallelism", json!(1));
    set(spec, "backoffLimit", json!(6));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    if spec.get("podFailurePolicy").is_none_or(Value::is_null) {
        set(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    }
    template(spec);
}

fn pod_spec(spec: &mut Map<String, Value>) {
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "securityContext", json!({}));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "enableServiceLinks", json!(true));
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for container in array(spec, list) {
            container_defaults(container);
        }
    }
    for volume in array(spec, "volumes") {
        for source in ["secret", "configMap", "downwardAPI", "projected"] {
            if let Some(source) = volume.get_mut(source).and_then(Value::as_object_mut) {
                set(source, "defaultMode", json!(420));
            }
        }
    }
}

fn container_defaults(container: &mut Map<String, Value>) {
    set(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set(container, "terminationMessagePolicy", json!("File"));
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    set(container, "imagePullPolicy", json!(pull_policy(image)));
    set(container, "resources", json!({}));
    for port in array(container, "ports") {
        set(port, "protocol", json!("TCP"));
    }
    for env in array(container, "env") {
        if let Some(field) = env
            .get_mut("valueFrom")
            .and_then(|v| v.get_mut("fieldRef"))
            .and_then(Value::as_object_mut)
        {
            set(field, "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = container.get_mut(probe).and_then(Value::as_object_mut) {
            set(probe, "timeoutSeconds", json!(1));
            set(probe, "periodSeconds", json!(10));
            set(probe, "successThreshold", json!(1));
            set(probe, "failureThreshold", json!(3));
            if let Some(http) = probe.get_mut("httpGet").and_then(Value::as_object_mut) {
                set(http, "scheme", json!("HTTP"));
            }
        }
    }
}

/// `Always` for `:latest` or an untagged image (without a digest), else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None | Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// DefaultTolerationSeconds admission: five minutes on a not-ready or unreachable node unless
/// the pod says otherwise.
fn default_tolerations(spec: &mut Map<String, Value>) {
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if tolerations.is_null() {
        *tolerations = json!([]);
    }
    let Some(list) = tolerations.as_array_mut() else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = list.iter().any(|t| {
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (t.get("key").and_then(Value::as_str) == Some(key)
                || (t.get("key").is_none() && t.get("operator") == Some(&json!("Exists"))))
                && (effect.is_empty() || effect == "NoExecute")
        });
        if !covered {
            list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(group: &str, kind: &str, object: Value) -> Value {
        let mut object = object;
        apply(group, kind, &mut object);
        object
    }

    #[test]
    fn a_bare_pod_gets_upstreams_defaults() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}),
        );
        let spec = &pod["spec"];
        assert_eq!(
            (spec["restartPolicy"].as_str(), spec["dnsPolicy"].as_str()),
            (Some("Always"), Some("ClusterFirst"))
        );
        assert_eq!(
            (
                spec["terminationGracePeriodSeconds"].as_i64(),
                spec["schedulerName"].as_str()
            ),
            (Some(30), Some("default-scheduler"))
        );
        assert_eq!(spec["serviceAccountName"], "default");
        let c = &spec["containers"][0];
        assert_eq!(
            (
                c["imagePullPolicy"].as_str(),
                c["terminationMessagePath"].as_str()
            ),
            (Some("Always"), Some("/dev/termination-log"))
        );
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(spec["tolerations"][0]["tolerationSeconds"], 300);
    }

    #[test]
    fn empty_metadata_lists_and_maps_vanish_as_upstreams_omitempty() {
        let object = defaulted(
            "",
            "ConfigMap",
            json!({"metadata": {"name": "c", "ownerReferences": [], "finalizers": [], "labels": {},
                "annotations": {"a": "b"}}}),
        );
        assert_eq!(
            object["metadata"],
            json!({"name": "c", "annotations": {"a": "b"}})
        );
    }

    #[test]
    fn the_pull_policy_follows_the_tag() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(
            pull_policy("registry:5000/nginx"),
            "Always",
            "a registry port is not a tag"
        );
        assert_eq!(pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn what_a_client_set_is_never_changed_and_unknown_fields_survive() {
        let pod = defaulted(
            "",
            "Pod",
            json!({"spec": {"restartPolicy": "Never", "x-custom": 1,
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
            "containers": [{"name": "c", "image": "nginx:1", "imagePullPolicy": "Never"}]}}),
        );
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["x-custom"], 1);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Never");
        let tolerations = pod["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(
            tolerations.len(),
            2,
            "only the missing unreachable toleration is added"
        );
        assert_eq!(tolerations[0]["tolerationSeconds"], 5);
    }

    #[test]
    fn a_deployment_and_its_template_get_their_defaults() {
        let d = defaulted(
            "apps",
            "Deployment",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}}}),
        );
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(
            (
                d["spec"]["revisionHistoryLimit"].as_i64(),
                d["spec"]["progressDeadlineSeconds"].as_i64()
            ),
            (Some(10), Some(600))
        );
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert!(
            pod.get("serviceAccountName").is_none(),
            "admission defaults are for pods only"
        );
        let recreate = defaulted(
            "apps",
            "Deployment",
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        );
        assert!(recreate["spec"]["strategy"].get("rollingUpdate").is_none());
    }

    #[test]
    fn jobs_cronjobs_statefulsets_and_secrets_get_theirs() {
        let job = defaulted(
            "batch",
            "Job",
            json!({"spec": {"template": {"spec": {"restartPolicy": "Never"}}}}),
        );
        assert_eq!(
            (
                job["spec"]["completions"].as_i64(),
                job["spec"]["parallelism"].as_i64(),
                job["spec"]["backoffLimit"].as_i64()
            ),
            (Some(1), Some(1), Some(6))
        );
        let parallel = defaulted("batch", "Job", json!({"spec": {"parallelism": 3}}));
        assert!(
            parallel["spec"].get("completions").is_none(),
            "a work queue job keeps completions unset"
        );
        let cron = defaulted(
            "batch",
            "CronJob",
            json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {}}}}),
        );
        assert_eq!(
            (
                cron["spec"]["concurrencyPolicy"].as_str(),
                cron["spec"]["successfulJobsHistoryLimit"].as_i64()
            ),
            (Some("Allow"), Some(3))
        );
        assert_eq!(cron["spec"]["jobTemplate"]["spec"]["backoffLimit"], 6);
        let sts = defaulted("apps", "StatefulSet", json!({"spec": {}}));
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(defaulted("", "Secret", json!({}))["type"], "Opaque");
    }
}
