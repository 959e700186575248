//! Tables as upstream 1.33 prints them: headers per kind, and cells for the cases `kubectl get`
//! users look at most.

use super::{IncludeObject, TableWriter, cells, columns, human_duration, quantity};
use crate::meta;
use gantry_api::catalogue::{self, Resource};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

fn resource(group: &str, version: &str, plural: &str) -> &'static Resource {
    catalogue::find(group, version, plural)
        .unwrap_or_else(|| panic!("{group}/{version} {plural} is not in the catalogue"))
}

/// The resource of a group and plural, at its first (preferred) version.
fn preferred(group: &str, plural: &str) -> &'static Resource {
    catalogue::resources()
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .unwrap_or_else(|| panic!("{group} {plural} is not in the catalogue"))
}

fn header(resource: &Resource) -> Vec<&'static str> {
    columns(resource).iter().map(|c| c.name).collect()
}

fn row(group: &str, plural: &str, object: Value) -> Vec<Value> {
    let resource = preferred(group, plural);
    let cells = cells(resource, &object);
    assert_eq!(
        cells.len(),
        columns(resource).len(),
        "one cell per column for {plural}"
    );
    cells
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A timestamp this many seconds ago.
fn ago(seconds: u64) -> String {
    meta::rfc3339(now() - seconds)
}

/// Upstream's column names per kind, in order (`AddHandlers` in
/// `pkg/printers/internalversion/printers.go`; `Name`/`Created At` for the default convertor).
const HEADERS: &[(&str, &str, &[&str])] = &[
    (
        "",
        "pods",
        &[
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates",
        ],
    ),
    (
        "",
        "podtemplates",
        &["Name", "Containers", "Images", "Pod Labels"],
    ),
    (
        "",
        "replicationcontrollers",
        &[
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Age",
            "Containers",
            "Images",
            "Selector",
        ],
    ),
    (
        "",
        "services",
        &[
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector",
        ],
    ),
    ("", "endpoints", &["Name", "Endpoints", "Age"]),
    (
        "",
        "nodes",
        &[
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "Internal-IP",
            "External-IP",
            "OS-Image",
            "Kernel-Version",
            "Container-Runtime",
        ],
    ),
    (
        "",
        "events",
        &[
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name",
        ],
    ),
    (
        "events.k8s.io",
        "events",
        &[
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name",
        ],
    ),
    ("", "namespaces", &["Name", "Status", "Age"]),
    ("", "secrets", &["Name", "Type", "Data", "Age"]),
    ("", "serviceaccounts", &["Name", "Secrets", "Age"]),
    ("", "configmaps", &["Name", "Data", "Age"]),
    ("", "limitranges", &["Name", "Created At"]),
    ("", "resourcequotas", &["Name", "Request", "Limit", "Age"]),
    (
        "",
        "componentstatuses",
        &["Name", "Status", "Message", "Error"],
    ),
    (
        "",
        "persistentvolumes",
        &[
            "Name",
            "Capacity",
            "Access Modes",
            "Reclaim Policy",
            "Status",
            "Claim",
            "StorageClass",
            "VolumeAttributesClass",
            "Reason",
            "Age",
            "VolumeMode",
        ],
    ),
    (
        "",
        "persistentvolumeclaims",
        &[
            "Name",
            "Status",
            "Volume",
            "Capacity",
            "Access Modes",
            "StorageClass",
            "VolumeAttributesClass",
            "Age",
            "VolumeMode",
        ],
    ),
    (
        "apps",
        "replicasets",
        &[
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Age",
            "Containers",
            "Images",
            "Selector",
        ],
    ),
    (
        "apps",
        "deployments",
        &[
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector",
        ],
    ),
    (
        "apps",
        "statefulsets",
        &["Name", "Ready", "Age", "Containers", "Images"],
    ),
    (
        "apps",
        "daemonsets",
        &[
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Node Selector",
            "Age",
            "Containers",
            "Images",
            "Selector",
        ],
    ),
    (
        "apps",
        "controllerrevisions",
        &["Name", "Controller", "Revision", "Age"],
    ),
    (
        "batch",
        "jobs",
        &[
            "Name",
            "Status",
            "Completions",
            "Duration",
            "Age",
            "Containers",
            "Images",
            "Selector",
        ],
    ),
    (
        "batch",
        "cronjobs",
        &[
            "Name",
            "Schedule",
            "Timezone",
            "Suspend",
            "Active",
            "Last Schedule",
            "Age",
            "Containers",
            "Images",
            "Selector",
        ],
    ),
    (
        "autoscaling",
        "horizontalpodautoscalers",
        &[
            "Name",
            "Reference",
            "Targets",
            "MinPods",
            "MaxPods",
            "Replicas",
            "Age",
        ],
    ),
    (
        "policy",
        "poddisruptionbudgets",
        &[
            "Name",
            "Min Available",
            "Max Unavailable",
            "Allowed Disruptions",
            "Age",
        ],
    ),
    (
        "discovery.k8s.io",
        "endpointslices",
        &["Name", "AddressType", "Ports", "Endpoints", "Age"],
    ),
    ("coordination.k8s.io", "leases", &["Name", "Holder", "Age"]),
    (
        "rbac.authorization.k8s.io",
        "roles",
        &["Name", "Created At"],
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        &["Name", "Created At"],
    ),
    (
        "rbac.authorization.k8s.io",
        "rolebindings",
        &["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        &["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
    ),
    (
        "networking.k8s.io",
        "ingresses",
        &["Name", "Class", "Hosts", "Address", "Ports", "Age"],
    ),
    (
        "networking.k8s.io",
        "ingressclasses",
        &["Name", "Controller", "Parameters", "Age"],
    ),
    (
        "networking.k8s.io",
        "networkpolicies",
        &["Name", "Pod-Selector", "Age"],
    ),
    ("networking.k8s.io", "ipaddresses", &["Name", "ParentRef"]),
    (
        "networking.k8s.io",
        "servicecidrs",
        &["Name", "CIDRs", "Age"],
    ),
    (
        "storage.k8s.io",
        "storageclasses",
        &[
            "Name",
            "Provisioner",
            "ReclaimPolicy",
            "VolumeBindingMode",
            "AllowVolumeExpansion",
            "Age",
        ],
    ),
    (
        "storage.k8s.io",
        "csidrivers",
        &[
            "Name",
            "AttachRequired",
            "PodInfoOnMount",
            "StorageCapacity",
            "TokenRequests",
            "RequiresRepublish",
            "Modes",
            "Age",
        ],
    ),
    ("storage.k8s.io", "csinodes", &["Name", "Drivers", "Age"]),
    (
        "storage.k8s.io",
        "csistoragecapacities",
        &["Name", "StorageClassName", "Capacity"],
    ),
    (
        "storage.k8s.io",
        "volumeattachments",
        &["Name", "Attacher", "PV", "Node", "Attached", "Age"],
    ),
    (
        "scheduling.k8s.io",
        "priorityclasses",
        &["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
    ),
    ("node.k8s.io", "runtimeclasses", &["Name", "Handler", "Age"]),
    (
        "certificates.k8s.io",
        "certificatesigningrequests",
        &[
            "Name",
            "Age",
            "SignerName",
            "Requestor",
            "RequestedDuration",
            "Condition",
        ],
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        &["Name", "Webhooks", "Age"],
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        &["Name", "Webhooks", "Age"],
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        &["Name", "Validations", "ParamKind", "Age"],
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        &["Name", "PolicyName", "ParamRef", "Age"],
    ),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        &["Name", "Created At"],
    ),
];

#[test]
fn ages_coarsen_as_upstream_prints_them() {
    assert_eq!(human_duration(5), "5s");
    assert_eq!(human_duration(119), "119s");
    assert_eq!(human_duration(183), "3m3s");
    assert_eq!(human_duration(600), "10m");
    assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
    assert_eq!(human_duration(20 * 3600), "20h");
    assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
    assert_eq!(human_duration(100 * 86400), "100d");
    assert_eq!(human_duration(3 * 365 * 86400 + 86400 * 5), "3y5d");
}

#[test]
fn every_kind_has_upstreams_column_names_in_order() {
    for (group, plural, expected) in HEADERS {
        for resource in catalogue::resources()
            .iter()
            .filter(|r| r.group == *group && r.plural == *plural)
        {
            assert_eq!(
                header(resource),
                *expected,
                "{}/{} {plural}",
                resource.group,
                resource.version
            );
        }
    }
}

#[test]
fn every_listable_catalogue_resource_has_a_printer_of_its_own() {
    for resource in catalogue::resources().iter().filter(|r| r.has_verb("list")) {
        assert!(
            HEADERS
                .iter()
                .any(|(g, p, _)| (*g, *p) == (resource.group, resource.plural)),
            "{}/{} {} has no expected header",
            resource.group,
            resource.version,
            resource.plural
        );
    }
}

#[test]
fn wide_columns_have_priority_one_and_names_are_formatted_as_names() {
    let pods = columns(preferred("", "pods"));
    let wide: Vec<&str> = pods
        .iter()
        .filter(|c| c.priority == 1)
        .map(|c| c.name)
        .collect();
    assert_eq!(wide, ["IP", "Node", "Nominated Node", "Readiness Gates"]);
    assert_eq!((pods[0].format, pods[1].format), ("name", ""));
    let events = columns(preferred("", "events"));
    let wide: Vec<&str> = events
        .iter()
        .filter(|c| c.priority == 1)
        .map(|c| c.name)
        .collect();
    assert_eq!(wide, ["Subobject", "Source", "First Seen", "Count", "Name"]);
    let bindings = columns(preferred(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
    ));
    assert_eq!(
        bindings.iter().map(|c| c.priority).collect::<Vec<_>>(),
        [0, 0, 0, 1, 1, 1]
    );
}

#[test]
fn column_descriptions_name_the_field_each_column_shows() {
    let pods = columns(preferred("", "pods"));
    assert_eq!(
        pods[0].description,
        "The `name` field of `ObjectMeta` (meta/v1)."
    );
    assert_eq!(
        pods[4].description,
        "The `creationTimestamp` field of `ObjectMeta` (meta/v1)."
    );
    assert_eq!(
        pods[5].description,
        "The `podIP` field of `PodStatus` (core/v1)."
    );
    let crd = columns(preferred(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
    ));
    assert_eq!((crd[1].kind, crd[1].format), ("date", ""));
}

#[test]
fn a_pod_in_crash_loop_back_off_shows_its_restarts_and_when_the_last_one_ended() {
    let pod = json!({
        "metadata": {"name": "web", "creationTimestamp": ago(7200)},
        "spec": {"nodeName": "n1", "containers": [{"name": "app"}]},
        "status": {
            "phase": "Running",
            "podIPs": [{"ip": "10.0.0.7"}],
            "containerStatuses": [{
                "name": "app", "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(1800)}},
            }],
        },
    });
    let cells = row("", "pods", pod);
    assert_eq!(
        cells,
        [
            json!("web"),
            json!("0/1"),
            json!("CrashLoopBackOff"),
            json!("4 (30m ago)"),
            json!("120m"),
            json!("10.0.0.7"),
            json!("n1"),
            json!("<none>"),
            json!("<none>"),
        ]
    );
}

#[test]
fn a_pod_waiting_on_its_init_container_is_init_0_of_1() {
    let pod = json!({
        "metadata": {"name": "web"},
        "spec": {"initContainers": [{"name": "migrate"}], "containers": [{"name": "app"}]},
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [{"name": "migrate", "restartCount": 0,
                "state": {"running": {"startedAt": ago(5)}}}],
            "containerStatuses": [{"name": "app", "restartCount": 0,
                "state": {"waiting": {"reason": "PodInitializing"}}}],
        },
    });
    let cells = row("", "pods", pod);
    assert_eq!(
        (&cells[1], &cells[2], &cells[3], &cells[4]),
        (
            &json!("0/1"),
            &json!("Init:0/1"),
            &json!("0"),
            &json!("<unknown>")
        )
    );
}

#[test]
fn a_failed_init_container_and_a_crashing_one_show_their_reasons() {
    let failed = json!({
        "metadata": {"name": "web"},
        "spec": {"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "app"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "b", "restartCount": 2, "state": {"terminated": {"exitCode": 3}}},
        ]},
    });
    let cells = row("", "pods", failed);
    assert_eq!(
        (&cells[2], &cells[3]),
        (&json!("Init:ExitCode:3"), &json!("2"))
    );
    let crashing = json!({
        "metadata": {"name": "web"},
        "spec": {"initContainers": [{"name": "a"}], "containers": [{"name": "app"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
        ]},
    });
    assert_eq!(row("", "pods", crashing)[2], json!("Init:CrashLoopBackOff"));
}

#[test]
fn a_started_sidecar_counts_as_ready_and_its_restarts_count_after_initialisation() {
    let pod = json!({
        "metadata": {"name": "web"},
        "spec": {
            "initContainers": [{"name": "proxy", "restartPolicy": "Always"}],
            "containers": [{"name": "app"}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 1,
                "state": {"running": {}}}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}],
        },
    });
    let cells = row("", "pods", pod);
    assert_eq!(
        (&cells[1], &cells[2], &cells[3]),
        (&json!("2/2"), &json!("Running"), &json!("1"))
    );
}

#[test]
fn a_pod_being_deleted_is_terminating_unless_it_already_finished() {
    let pod = |phase: &str| {
        json!({
            "metadata": {"name": "web", "deletionTimestamp": ago(3)},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"phase": phase, "containerStatuses": [{"name": "app", "ready": true,
                "restartCount": 0, "state": {"running": {"startedAt": ago(60)}}}]},
        })
    };
    let cells = row("", "pods", pod("Running"));
    assert_eq!(
        (&cells[1], &cells[2]),
        (&json!("1/1"), &json!("Terminating"))
    );
    assert_eq!(row("", "pods", pod("Succeeded"))[2], json!("Succeeded"));
}

#[test]
fn a_completed_container_beside_a_running_one_reads_running_or_not_ready() {
    let pod = |ready: &str| {
        json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "done"}, {"name": "serving"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}],
                "containerStatuses": [
                    {"name": "done", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    {"name": "serving", "ready": true, "state": {"running": {}}},
                ]},
        })
    };
    assert_eq!(row("", "pods", pod("True"))[2], json!("Running"));
    assert_eq!(row("", "pods", pod("False"))[2], json!("NotReady"));
}

#[test]
fn a_finished_pods_row_carries_upstreams_completed_condition() {
    let writer = TableWriter::new("meta.k8s.io/v1", IncludeObject::Metadata);
    let pod = json!({"metadata": {"name": "job-x"}, "status": {"phase": "Succeeded"}});
    let table = writer.table(preferred("", "pods"), vec![pod], json!({}));
    assert_eq!(
        table["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."}])
    );
    assert_eq!(table["columnDefinitions"][3]["type"], "string");
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[test]
fn a_replica_set_prints_its_counts_as_numbers_and_its_selector_in_wide_output() {
    let set = json!({
        "metadata": {"name": "web-5d9f", "creationTimestamp": ago(1800)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d9f"}},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"},
                {"name": "log", "image": "busybox"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2},
    });
    let cells = row("apps", "replicasets", set);
    assert_eq!(
        cells,
        [
            json!("web-5d9f"),
            json!(3),
            json!(3),
            json!(2),
            json!("30m"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web,pod-template-hash=5d9f"),
        ]
    );
}

#[test]
fn a_stateful_set_shows_ready_of_desired() {
    let set = json!({
        "metadata": {"name": "db"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "pg", "image": "postgres"}]}}},
        "status": {"readyReplicas": 2},
    });
    let cells = row("apps", "statefulsets", set);
    assert_eq!(
        (&cells[1], &cells[3], &cells[4]),
        (&json!("2/3"), &json!("pg"), &json!("postgres"))
    );
}

#[test]
fn a_deployment_and_a_daemon_set_print_like_upstream() {
    let deployment = json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        "status": {"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
    });
    let cells = row("apps", "deployments", deployment);
    assert_eq!(
        (&cells[1], &cells[2], &cells[3], &cells[7]),
        (&json!("1/1"), &json!(1), &json!(1), &json!("app=web"))
    );
    let daemons = json!({
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
            "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": []}}},
        "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1},
    });
    let cells = row("apps", "daemonsets", daemons);
    assert_eq!(
        (&cells[1], &cells[3], &cells[6], &cells[10]),
        (
            &json!(2),
            &json!(1),
            &json!("kubernetes.io/os=linux"),
            &json!("tier in (a,b)")
        )
    );
}

#[test]
fn a_controller_revision_names_its_controller_with_kind_and_group() {
    let revision = json!({
        "metadata": {"name": "web-7c8", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]},
        "revision": 2,
    });
    let cells = row("apps", "controllerrevisions", revision);
    assert_eq!(
        (&cells[1], &cells[2]),
        (&json!("statefulset.apps/web"), &json!(2))
    );
}

#[test]
fn a_finished_job_shows_its_completions_status_and_duration() {
    let job = json!({
        "metadata": {"name": "pi"},
        "spec": {"completions": 1, "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
        "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}],
            "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:00:07Z"},
    });
    let cells = row("batch", "jobs", job);
    assert_eq!(
        (&cells[1], &cells[2], &cells[3], &cells[7]),
        (
            &json!("Complete"),
            &json!("1/1"),
            &json!("7s"),
            &json!("batch.kubernetes.io/controller-uid=u1")
        )
    );
    let running = json!({"metadata": {"name": "work"}, "spec": {"parallelism": 3},
        "status": {"succeeded": 1}});
    let cells = row("batch", "jobs", running);
    assert_eq!(
        (&cells[1], &cells[2], &cells[3]),
        (&json!("Running"), &json!("1/1 of 3"), &json!(""))
    );
}

#[test]
fn a_cron_job_shows_schedule_suspend_active_and_last_schedule() {
    let cron = json!({
        "metadata": {"name": "backup"},
        "spec": {"schedule": "*/5 * * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "busybox"}]}}}}},
        "status": {"active": [{"kind": "Job", "name": "backup-1"}], "lastScheduleTime": ago(1800)},
    });
    let cells = row("batch", "cronjobs", cron);
    assert_eq!(
        &cells[1..6],
        [
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("30m")
        ]
    );
    assert_eq!(cells[9], json!("<none>"));
    let never =
        json!({"metadata": {"name": "n"}, "spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}});
    let cells = row("batch", "cronjobs", never);
    assert_eq!(
        (&cells[2], &cells[3], &cells[4], &cells[5]),
        (
            &json!("Etc/UTC"),
            &json!("<unset>"),
            &json!(0),
            &json!("<none>")
        )
    );
}

#[test]
fn an_hpa_shows_its_targets_in_both_versions() {
    let hpa = json!({
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1024Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            ]},
        "status": {"currentReplicas": 2, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 35}}}]},
    });
    let v2_cells = row("autoscaling", "horizontalpodautoscalers", hpa);
    assert_eq!(
        &v2_cells[1..6],
        [
            json!("Deployment/web"),
            json!("cpu: 35%/80%, memory: <unknown>/1Gi + 1 more..."),
            json!("1"),
            json!(5),
            json!(2)
        ]
    );
    let v1 = json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 50},
        "status": {"currentReplicas": 1},
    });
    let v1_cells = cells(
        resource("autoscaling", "v1", "horizontalpodautoscalers"),
        &v1,
    );
    assert_eq!(
        (&v1_cells[2], &v1_cells[3]),
        (&json!("cpu: <unknown>/50%"), &json!("<unset>"))
    );
}

#[test]
fn a_pod_disruption_budget_prints_int_or_percent_and_not_applicable() {
    let pdb = json!({"metadata": {"name": "web"}, "spec": {"minAvailable": "50%"},
        "status": {"disruptionsAllowed": 1}});
    let cells = row("policy", "poddisruptionbudgets", pdb);
    assert_eq!(&cells[1..4], [json!("50%"), json!("N/A"), json!(1)]);
}

#[test]
fn an_ingress_shows_class_hosts_address_and_ports() {
    let ingress = json!({
        "metadata": {"name": "web"},
        "spec": {"ingressClassName": "nginx",
            "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}],
            "tls": [{"hosts": ["a.example.com"]}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.net"},
            {"ip": "192.0.2.10"}]}},
    });
    let cells = row("networking.k8s.io", "ingresses", ingress);
    assert_eq!(
        &cells[1..5],
        [
            json!("nginx"),
            json!("a.example.com,b.example.com"),
            json!("192.0.2.10,lb.example.net"),
            json!("80, 443")
        ]
    );
    let many = json!({"metadata": {"name": "many"}, "spec": {"rules": [
        {"host": "a"}, {"host": "b"}, {"host": "c"}, {"host": "d"}, {"host": "e"}]}});
    let cells = row("networking.k8s.io", "ingresses", many);
    assert_eq!(
        &cells[1..5],
        [
            json!("<none>"),
            json!("a,b,c + 2 more..."),
            json!(""),
            json!("80")
        ]
    );
}

#[test]
fn services_show_their_external_addresses_by_type() {
    let service = |spec: Value, status: Value| {
        row(
            "",
            "services",
            json!({"metadata": {"name": "s"}, "spec": spec, "status": status}),
        )
    };
    let cluster = service(
        json!({"type": "ClusterIP", "clusterIPs": ["10.96.0.10"], "selector": {"k8s-app": "dns"},
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}),
        json!({}),
    );
    assert_eq!(
        &cluster[1..5],
        [
            json!("ClusterIP"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("53/UDP,53/TCP")
        ]
    );
    assert_eq!(cluster[6], json!("k8s-app=dns"));
    let pending = service(
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
        json!({}),
    );
    assert_eq!(
        (&pending[3], &pending[4], &pending[6]),
        (
            &json!("<pending>"),
            &json!("80:30080/TCP"),
            &json!("<none>")
        )
    );
    let external = service(
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
        json!({}),
    );
    assert_eq!(
        (&external[2], &external[3], &external[4]),
        (&json!("<none>"), &json!("db.example.com"), &json!("<none>"))
    );
}

#[test]
fn endpoints_and_slices_show_at_most_three_addresses() {
    let endpoints = json!({"metadata": {"name": "web"}, "subsets": [{
        "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::3"}],
        "ports": [{"port": 80}, {"port": 443}]}]});
    assert_eq!(
        row("", "endpoints", endpoints)[1],
        json!("10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 3 more...")
    );
    assert_eq!(
        row("", "endpoints", json!({"metadata": {"name": "e"}}))[1],
        json!("<none>")
    );
    let slice = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
        "ports": [{"port": 80, "name": "http"}, {"name": "dyn"}, {}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]});
    let cells = row("discovery.k8s.io", "endpointslices", slice);
    assert_eq!(
        &cells[1..4],
        [json!("IPv4"), json!("80,dyn,*"), json!("10.0.0.1,10.0.0.2")]
    );
    let empty = row(
        "discovery.k8s.io",
        "endpointslices",
        json!({"metadata": {"name": "e"}, "addressType": "IPv4"}),
    );
    assert_eq!(
        (&empty[2], &empty[3]),
        (&json!("<unset>"), &json!("<unset>"))
    );
}

#[test]
fn a_pvc_shows_the_bound_volumes_capacity_and_short_access_modes() {
    let bound = json!({
        "metadata": {"name": "data", "creationTimestamp": ago(1800)},
        "spec": {"volumeName": "pv-1", "storageClassName": "fast", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "1024Mi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"]},
    });
    assert_eq!(
        row("", "persistentvolumeclaims", bound),
        [
            json!("data"),
            json!("Bound"),
            json!("pv-1"),
            json!("1Gi"),
            json!("RWO,RWX"),
            json!("fast"),
            json!("<unset>"),
            json!("30m"),
            json!("Filesystem"),
        ]
    );
    let pending = json!({"metadata": {"name": "p"}, "spec": {"storageClassName": "fast"},
        "status": {"phase": "Pending", "capacity": {"storage": "1Gi"}}});
    let cells = row("", "persistentvolumeclaims", pending);
    assert_eq!(
        (&cells[1], &cells[3], &cells[4], &cells[8]),
        (&json!("Pending"), &json!(""), &json!(""), &json!("<unset>"))
    );
}

#[test]
fn a_pv_shows_its_claim_and_class() {
    let volume = json!({
        "metadata": {"name": "pv-1", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "new",
            "claimRef": {"namespace": "default", "name": "data"}},
        "status": {"phase": "Bound"},
    });
    let cells = row("", "persistentvolumes", volume);
    assert_eq!(
        &cells[1..9],
        [
            json!("10Gi"),
            json!("RWO"),
            json!("Retain"),
            json!("Bound"),
            json!("default/data"),
            json!("old"),
            json!("<unset>"),
            json!("")
        ]
    );
}

#[test]
fn the_default_storage_class_is_marked_and_unset_fields_show_their_defaults() {
    let class = json!({"metadata": {"name": "local",
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path"});
    assert_eq!(
        &row("storage.k8s.io", "storageclasses", class)[..5],
        [
            json!("local (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("Immediate"),
            json!(false)
        ]
    );
    let other = json!({"metadata": {"name": "fast"}, "provisioner": "csi.example.com",
        "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true});
    assert_eq!(
        &row("storage.k8s.io", "storageclasses", other)[..5],
        [
            json!("fast"),
            json!("csi.example.com"),
            json!("Retain"),
            json!("WaitForFirstConsumer"),
            json!(true)
        ]
    );
}

#[test]
fn csi_kinds_print_their_defaults() {
    let driver = json!({"metadata": {"name": "csi.example.com"}, "spec": {}});
    assert_eq!(
        &row("storage.k8s.io", "csidrivers", driver)[1..7],
        [
            json!(true),
            json!(false),
            json!(false),
            json!("<unset>"),
            json!(false),
            json!("<none>")
        ]
    );
    let capacity =
        json!({"metadata": {"name": "c"}, "storageClassName": "fast", "capacity": "2048Mi"});
    assert_eq!(
        row("storage.k8s.io", "csistoragecapacities", capacity),
        [json!("c"), json!("fast"), json!("2Gi")]
    );
    let attachment = json!({"metadata": {"name": "csi-1"}, "spec": {"attacher": "csi.example.com",
        "nodeName": "n1", "source": {"persistentVolumeName": "pv-1"}}, "status": {"attached": true}});
    assert_eq!(
        &row("storage.k8s.io", "volumeattachments", attachment)[1..5],
        [
            json!("csi.example.com"),
            json!("pv-1"),
            json!("n1"),
            json!(true)
        ]
    );
}

#[test]
fn an_event_shows_last_seen_type_reason_object_and_message() {
    let event = json!({
        "metadata": {"name": "web-0.17a", "creationTimestamp": ago(600)},
        "type": "Warning", "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{app}"},
        "message": "Back-off restarting failed container\n", "count": 4,
        "firstTimestamp": ago(3600), "lastTimestamp": ago(1800),
        "source": {"component": "kubelet", "host": "n1"},
    });
    assert_eq!(
        row("", "events", event),
        [
            json!("30m"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-0"),
            json!("spec.containers{app}"),
            json!("kubelet, n1"),
            json!("Back-off restarting failed container"),
            json!("60m"),
            json!(4),
            json!("web-0.17a"),
        ]
    );
}

#[test]
fn an_events_api_event_prints_from_its_core_shape() {
    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e1"},
        "eventTime": ago(1800), "type": "Normal", "reason": "Scheduled",
        "regarding": {"kind": "Pod", "name": "web-0"}, "note": "assigned to n1",
        "reportingController": "default-scheduler", "reportingInstance": "sched-1",
    });
    assert_eq!(
        cells(resource("events.k8s.io", "v1", "events"), &event),
        [
            json!("30m"),
            json!("Normal"),
            json!("Scheduled"),
            json!("pod/web-0"),
            json!(""),
            json!("default-scheduler, sched-1"),
            json!("assigned to n1"),
            json!("30m"),
            json!(1),
            json!("e1"),
        ]
    );
}

#[test]
fn an_event_series_counts_and_dates_from_the_series() {
    let event = json!({"metadata": {"name": "e"}, "eventTime": ago(7200),
        "series": {"count": 7, "lastObservedTime": ago(1800)}, "involvedObject": {"kind": "Node"}});
    let cells = row("", "events", event);
    assert_eq!(
        (&cells[0], &cells[3], &cells[7], &cells[8]),
        (&json!("30m"), &json!("node"), &json!("120m"), &json!(7))
    );
}

#[test]
fn a_cluster_role_binding_lists_its_subjects_by_kind_in_wide_output() {
    let binding = json!({
        "metadata": {"name": "admins"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "system:masters"},
            {"kind": "User", "name": "bob"},
            {"kind": "ServiceAccount", "namespace": "kube-system", "name": "robot"},
        ],
    });
    let cells = row("rbac.authorization.k8s.io", "clusterrolebindings", binding);
    assert_eq!(
        (&cells[1], &cells[3], &cells[4], &cells[5]),
        (
            &json!("ClusterRole/cluster-admin"),
            &json!("alice, bob"),
            &json!("system:masters"),
            &json!("kube-system/robot")
        )
    );
}

#[test]
fn a_crd_and_a_role_print_name_and_creation_time() {
    let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2026-01-02T03:04:05Z"}});
    assert_eq!(
        row("apiextensions.k8s.io", "customresourcedefinitions", crd),
        [json!("widgets.example.com"), json!("2026-01-02T03:04:05Z")]
    );
    let role = json!({"metadata": {"name": "reader"}});
    assert_eq!(
        row("rbac.authorization.k8s.io", "roles", role),
        [json!("reader"), json!("0001-01-01T00:00:00Z")]
    );
}

#[test]
fn a_node_shows_its_roles_and_scheduling_state() {
    let node = json!({
        "metadata": {"name": "n1", "labels": {
            "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true",
            "node-role.kubernetes.io/": "", "kubernetes.io/role": "master"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "False"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
            "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian"}},
    });
    let cells = row("", "nodes", node);
    assert_eq!(
        &cells[1..3],
        [
            json!("NotReady,SchedulingDisabled"),
            json!("control-plane,etcd,master")
        ]
    );
    assert_eq!(
        &cells[4..10],
        [
            json!("v1.33.1"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian"),
            json!("<unknown>"),
            json!("<unknown>")
        ]
    );
    let bare = row("", "nodes", json!({"metadata": {"name": "n2"}}));
    assert_eq!((&bare[1], &bare[2]), (&json!("Unknown"), &json!("<none>")));
}

#[test]
fn config_maps_secrets_and_quotas_count_and_sum_like_upstream() {
    let config = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(row("", "configmaps", config)[1], json!(3));
    let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "AA=="}});
    assert_eq!(
        &row("", "secrets", secret)[1..3],
        [json!("Opaque"), json!(1)]
    );
    let quota = json!({"metadata": {"name": "q"}, "status": {
        "hard": {"requests.cpu": "1", "limits.memory": "2Gi", "pods": "10", "limits.cpu": "2000m"},
        "used": {"requests.cpu": "500m", "pods": "3"}}});
    assert_eq!(
        &row("", "resourcequotas", quota)[1..3],
        [
            json!("pods: 3/10, requests.cpu: 500m/1"),
            json!("limits.cpu: 0/2, limits.memory: 0/2Gi")
        ]
    );
}

#[test]
fn smaller_kinds_print_their_one_or_two_facts() {
    let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "node-1"}});
    assert_eq!(
        row("coordination.k8s.io", "leases", lease)[1],
        json!("node-1")
    );
    let class = json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": true,
        "preemptionPolicy": "PreemptLowerPriority"});
    let cells = row("scheduling.k8s.io", "priorityclasses", class);
    assert_eq!(
        (&cells[1], &cells[2], &cells[4]),
        (&json!(1000), &json!(true), &json!("PreemptLowerPriority"))
    );
    let runtime = json!({"metadata": {"name": "gvisor"}, "handler": "runsc"});
    assert_eq!(
        row("node.k8s.io", "runtimeclasses", runtime)[1],
        json!("runsc")
    );
    let component = json!({"metadata": {"name": "etcd-0"},
        "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
    assert_eq!(
        &row("", "componentstatuses", component)[1..4],
        [json!("Healthy"), json!("ok"), json!("")]
    );
    let template = json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    assert_eq!(
        &row("", "podtemplates", template)[1..4],
        [json!("c"), json!("i"), json!("a=1,b=2")]
    );
    let policy = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
    assert_eq!(
        row("networking.k8s.io", "networkpolicies", policy)[1],
        json!("<none>")
    );
    let ingress_class = json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
        "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
    assert_eq!(
        &row("networking.k8s.io", "ingressclasses", ingress_class)[1..3],
        [
            json!("k8s.io/ingress-nginx"),
            json!("IngressParameters.k8s.example.com/p")
        ]
    );
    let cidr = json!({"metadata": {"name": "kubernetes"}, "spec": {"cidrs": ["10.96.0.0/12", "fd00::/108"]}});
    assert_eq!(
        row("networking.k8s.io", "servicecidrs", cidr)[1],
        json!("10.96.0.0/12,fd00::/108")
    );
}

#[test]
fn an_ip_address_prints_its_parent_and_upstreams_extra_age_cell() {
    let address = json!({"metadata": {"name": "10.96.0.1", "creationTimestamp": ago(1800)},
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}}});
    let resource = preferred("networking.k8s.io", "ipaddresses");
    assert_eq!(
        cells(resource, &address),
        [
            json!("10.96.0.1"),
            json!("services/default/kubernetes"),
            json!("30m")
        ]
    );
}

#[test]
fn certificate_requests_and_admission_objects_print_like_upstream() {
    let csr = json!({"metadata": {"name": "csr-1"}, "spec": {"signerName": "kubernetes.io/kube-apiserver-client",
        "username": "alice", "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}});
    assert_eq!(
        &row("certificates.k8s.io", "certificatesigningrequests", csr)[2..6],
        [
            json!("kubernetes.io/kube-apiserver-client"),
            json!("alice"),
            json!("24h"),
            json!("Approved,Issued")
        ]
    );
    let webhooks = json!({"metadata": {"name": "w"}, "webhooks": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        row(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            webhooks
        )[1],
        json!(2)
    );
    let policy = json!({"metadata": {"name": "p"}, "spec": {"validations": [{"expression": "true"}],
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}});
    assert_eq!(
        &row(
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
            policy
        )[1..3],
        [json!(1), json!("v1/ConfigMap")]
    );
    let binding = |param_ref: Value| {
        row(
            "admissionregistration.k8s.io",
            "validatingadmissionpolicybindings",
            json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "paramRef": param_ref}}),
        )[2]
        .clone()
    };
    assert_eq!(binding(json!({"name": "limits"})), json!("*/limits"));
    assert_eq!(binding(Value::Null), json!("<unset>"));
    assert_eq!(
        binding(json!({"selector": {"matchLabels": {"tier": "web"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]}})),
        json!(
            "&LabelSelector{MatchLabels:map[string]string{tier: web,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[a b],},},}"
        )
    );
}

#[test]
fn a_creation_time_in_the_future_is_invalid() {
    let pod = json!({"metadata": {"name": "p", "creationTimestamp": meta::rfc3339(now() + 60)}});
    assert_eq!(row("", "namespaces", pod)[2], json!("<invalid>"));
}

#[test]
fn quantities_absent_from_a_volume_print_as_zero() {
    assert_eq!(quantity::show(None), "0");
}
