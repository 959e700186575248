//! Upstream 1.33's controller roles (`system:controller:<name>`, default feature gates), each
//! bound to the ServiceAccount `kube-system/<name>` that upstream's controller manager runs
//! that controller as.

use super::Rule::{Named, Resources as R};
use super::{EVENTS, READ, RoleSpec};

const fn controller(name: &'static str, rules: &'static [super::Rule]) -> RoleSpec {
    RoleSpec {
        name,
        aggregate_to: &[],
        aggregates: &[],
        rules,
    }
}

const GLR: &[&str] = &["get", "list", "watch"];
const LW: &[&str] = &["list", "watch"];
const UPDATE: &[&str] = &["update"];
const ALL_BUT_DC: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// The controller roles.
pub const CONTROLLER_ROLES: &[RoleSpec] = &[
    controller(
        "system:controller:attachdetach-controller",
        &[
            R(&[""], &["persistentvolumeclaims", "persistentvolumes"], LW),
            R(&[""], &["nodes"], READ),
            R(&[""], &["nodes/status"], &["patch", "update"]),
            R(&[""], &["pods"], LW),
            EVENTS,
            R(
                &["storage.k8s.io"],
                &["volumeattachments"],
                &["create", "delete", "get", "list", "watch"],
            ),
            R(&["storage.k8s.io"], &["csidrivers"], READ),
            R(&["storage.k8s.io"], &["csinodes"], READ),
        ],
    ),
    controller(
        "system:controller:certificate-controller",
        &[
            R(
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
                &["delete", "get", "list", "watch"],
            ),
            R(
                &["certificates.k8s.io"],
                &[
                    "certificatesigningrequests/approval",
                    "certificatesigningrequests/status",
                ],
                UPDATE,
            ),
            Named(
                &["certificates.k8s.io"],
                &["signers"],
                &["kubernetes.io/kube-apiserver-client-kubelet"],
                &["approve"],
            ),
            Named(
                &["certificates.k8s.io"],
                &["signers"],
                &[
                    "kubernetes.io/kube-apiserver-client",
                    "kubernetes.io/kube-apiserver-client-kubelet",
                    "kubernetes.io/kubelet-serving",
                    "kubernetes.io/legacy-unknown",
                ],
                &["sign"],
            ),
            R(
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
                &["create"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:clusterrole-aggregation-controller",
        &[R(
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &["escalate", "get", "list", "patch", "update", "watch"],
        )],
    ),
    controller(
        "system:controller:cronjob-controller",
        &[
            R(
                &["batch"],
                &["cronjobs"],
                &["get", "list", "update", "watch"],
            ),
            R(&["batch"], &["jobs"], ALL_BUT_DC),
            R(&["batch"], &["cronjobs/status"], UPDATE),
            R(&["batch"], &["cronjobs/finalizers"], UPDATE),
            R(&[""], &["pods"], &["delete", "list", "watch"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:daemon-set-controller",
        &[
            R(&["apps", "extensions"], &["daemonsets"], GLR),
            R(&["apps", "extensions"], &["daemonsets/status"], UPDATE),
            R(&["apps", "extensions"], &["daemonsets/finalizers"], UPDATE),
            R(&[""], &["nodes"], LW),
            R(
                &[""],
                &["pods"],
                &["create", "delete", "list", "patch", "watch"],
            ),
            R(&[""], &["pods/binding"], &["create"]),
            R(&["apps"], &["controllerrevisions"], ALL_BUT_DC),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:deployment-controller",
        &[
            R(
                &["apps", "extensions"],
                &["deployments"],
                &["get", "list", "update", "watch"],
            ),
            R(&["apps", "extensions"], &["deployments/status"], UPDATE),
            R(&["apps", "extensions"], &["deployments/finalizers"], UPDATE),
            R(&["apps", "extensions"], &["replicasets"], ALL_BUT_DC),
            R(&[""], &["pods"], &["get", "list", "update", "watch"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:disruption-controller",
        &[
            R(&["apps", "extensions"], &["deployments"], GLR),
            R(&["apps", "extensions"], &["replicasets"], GLR),
            R(&[""], &["replicationcontrollers"], GLR),
            R(&["policy"], &["poddisruptionbudgets"], GLR),
            R(&["apps"], &["statefulsets"], GLR),
            R(&["policy"], &["poddisruptionbudgets/status"], UPDATE),
            R(&[""], &["pods/status"], &["patch", "update"]),
            R(&["*"], &["*/scale"], &["get"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:endpoint-controller",
        &[
            R(&[""], &["pods", "services"], GLR),
            R(
                &[""],
                &["endpoints"],
                &["create", "delete", "get", "list", "update", "watch"],
            ),
            R(&[""], &["endpoints/restricted"], &["create"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:endpointslice-controller",
        &[
            R(&[""], &["nodes", "pods", "services"], GLR),
            R(&[""], &["services/finalizers"], UPDATE),
            R(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["create", "delete", "get", "list", "update", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:endpointslicemirroring-controller",
        &[
            R(&[""], &["endpoints", "services"], GLR),
            R(&[""], &["services/finalizers"], UPDATE),
            R(&[""], &["endpoints/finalizers"], UPDATE),
            R(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["create", "delete", "get", "list", "update", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:ephemeral-volume-controller",
        &[
            R(&[""], &["pods"], GLR),
            R(&[""], &["pods/finalizers"], UPDATE),
            R(
                &[""],
                &["persistentvolumeclaims"],
                &["create", "get", "list", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:expand-controller",
        &[
            R(
                &[""],
                &["persistentvolumes"],
                &["get", "list", "patch", "update", "watch"],
            ),
            R(
                &[""],
                &["persistentvolumeclaims/status"],
                &["patch", "update"],
            ),
            R(&[""], &["persistentvolumeclaims"], GLR),
            EVENTS,
            R(&[""], &["services"], &["get"]),
        ],
    ),
    controller(
        "system:controller:generic-garbage-collector",
        &[
            R(
                &["*"],
                &["*"],
                &["delete", "get", "list", "patch", "update", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:horizontal-pod-autoscaler",
        &[
            R(&["autoscaling"], &["horizontalpodautoscalers"], GLR),
            R(
                &["autoscaling"],
                &["horizontalpodautoscalers/status"],
                UPDATE,
            ),
            R(&["*"], &["*/scale"], &["get", "update"]),
            R(&[""], &["pods"], LW),
            R(&["metrics.k8s.io"], &["pods"], LW),
            R(&["custom.metrics.k8s.io"], &["*"], GLR),
            R(&["external.metrics.k8s.io"], &["*"], GLR),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:job-controller",
        &[
            R(
                &["batch"],
                &["jobs"],
                &["get", "list", "patch", "update", "watch"],
            ),
            R(&["batch"], &["jobs/status"], UPDATE),
            R(&["batch"], &["jobs/finalizers"], UPDATE),
            R(
                &[""],
                &["pods"],
                &["create", "delete", "list", "patch", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:legacy-service-account-token-cleaner",
        &[
            Named(
                &[""],
                &["configmaps"],
                &["kube-apiserver-legacy-service-account-token-tracking"],
                &["get"],
            ),
            R(&[""], &["secrets"], &["delete", "patch"]),
        ],
    ),
    controller(
        "system:controller:namespace-controller",
        &[
            R(&[""], &["namespaces"], &["delete", "get", "list", "watch"]),
            R(&[""], &["namespaces/finalize", "namespaces/status"], UPDATE),
            R(
                &["*"],
                &["*"],
                &["delete", "deletecollection", "get", "list", "watch"],
            ),
        ],
    ),
    controller(
        "system:controller:node-controller",
        &[
            R(
                &[""],
                &["nodes"],
                &["delete", "get", "list", "patch", "update", "watch"],
            ),
            R(&[""], &["nodes/status"], &["patch", "update"]),
            R(&[""], &["pods/status"], &["patch", "update"]),
            R(&[""], &["pods"], &["delete", "get", "list", "watch"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:persistent-volume-binder",
        &[
            R(
                &[""],
                &["persistentvolumes"],
                &["create", "delete", "get", "list", "update", "watch"],
            ),
            R(&[""], &["persistentvolumes/status"], UPDATE),
            R(
                &[""],
                &["persistentvolumeclaims"],
                &["get", "list", "update", "watch"],
            ),
            R(&[""], &["persistentvolumeclaims/status"], UPDATE),
            R(
                &[""],
                &["pods"],
                &["create", "delete", "get", "list", "watch"],
            ),
            R(&["storage.k8s.io"], &["storageclasses"], GLR),
            R(&[""], &["nodes"], LW),
            EVENTS,
            R(&[""], &["events"], &["watch"]),
            R(&[""], &["services"], &["get"]),
        ],
    ),
    controller(
        "system:controller:pod-garbage-collector",
        &[
            R(&[""], &["pods"], &["delete", "list", "watch"]),
            R(&[""], &["nodes"], GLR),
            R(&[""], &["pods/status"], &["patch"]),
        ],
    ),
    controller(
        "system:controller:pv-protection-controller",
        &[
            R(
                &[""],
                &["persistentvolumes"],
                &["get", "list", "update", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:pvc-protection-controller",
        &[
            R(
                &[""],
                &["persistentvolumeclaims"],
                &["get", "list", "update", "watch"],
            ),
            R(&[""], &["pods"], GLR),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:replicaset-controller",
        &[
            R(
                &["apps", "extensions"],
                &["replicasets"],
                &["get", "list", "update", "watch"],
            ),
            R(&["apps", "extensions"], &["replicasets/status"], UPDATE),
            R(&["apps", "extensions"], &["replicasets/finalizers"], UPDATE),
            R(
                &[""],
                &["pods"],
                &["create", "delete", "list", "patch", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:replication-controller",
        &[
            R(
                &[""],
                &["replicationcontrollers"],
                &["get", "list", "update", "watch"],
            ),
            R(&[""], &["replicationcontrollers/status"], UPDATE),
            R(&[""], &["replicationcontrollers/finalizers"], UPDATE),
            R(
                &[""],
                &["pods"],
                &["create", "delete", "list", "patch", "watch"],
            ),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:resourcequota-controller",
        &[
            R(&["*"], &["*"], LW),
            R(&[""], &["resourcequotas/status"], UPDATE),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:root-ca-cert-publisher",
        &[R(&[""], &["configmaps"], &["create", "update"]), EVENTS],
    ),
    controller(
        "system:controller:route-controller",
        &[
            R(&[""], &["nodes"], LW),
            R(&[""], &["nodes/status"], &["patch"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:selinux-warning-controller",
        &[
            EVENTS,
            R(&[""], &["persistentvolumes"], GLR),
            R(&[""], &["persistentvolumeclaims"], GLR),
            R(&[""], &["pods"], GLR),
            R(&["storage.k8s.io"], &["csidrivers"], GLR),
        ],
    ),
    controller(
        "system:controller:service-account-controller",
        &[R(&[""], &["serviceaccounts"], &["create"]), EVENTS],
    ),
    controller(
        "system:controller:service-cidrs-controller",
        &[
            R(
                &["networking.k8s.io"],
                &["servicecidrs"],
                &["get", "list", "patch", "update", "watch"],
            ),
            R(
                &["networking.k8s.io"],
                &["servicecidrs/finalizers"],
                &["patch", "update"],
            ),
            R(
                &["networking.k8s.io"],
                &["servicecidrs/status"],
                &["patch", "update"],
            ),
            R(&["networking.k8s.io"], &["ipaddresses"], GLR),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:service-controller",
        &[
            R(&[""], &["services"], GLR),
            R(&[""], &["services/status"], &["patch", "update"]),
            R(&[""], &["nodes"], LW),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:statefulset-controller",
        &[
            R(&[""], &["pods"], LW),
            R(&["apps"], &["statefulsets"], GLR),
            R(&["apps"], &["statefulsets/status"], UPDATE),
            R(&["apps"], &["statefulsets/finalizers"], UPDATE),
            R(
                &[""],
                &["pods"],
                &["create", "delete", "get", "patch", "update"],
            ),
            R(&["apps"], &["controllerrevisions"], ALL_BUT_DC),
            R(
                &[""],
                &["persistentvolumeclaims"],
                &["create", "get", "list", "watch"],
            ),
            EVENTS,
            R(&[""], &["persistentvolumeclaims"], &["delete", "update"]),
            R(&[""], &["pods/finalizers"], UPDATE),
        ],
    ),
    controller(
        "system:controller:ttl-after-finished-controller",
        &[
            R(&["batch"], &["jobs"], &["delete", "get", "list", "watch"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:ttl-controller",
        &[
            R(&[""], &["nodes"], &["list", "patch", "update", "watch"]),
            EVENTS,
        ],
    ),
    controller(
        "system:controller:validatingadmissionpolicy-status-controller",
        &[
            R(
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicies"],
                GLR,
            ),
            R(
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicies/status"],
                &["get", "patch", "update"],
            ),
            EVENTS,
        ],
    ),
];
