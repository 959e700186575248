//! Upstream 1.33's bootstrap cluster roles (default feature gates), rule for rule.

use super::Rule::{Named, Resources as R, Urls};
use super::{EVENTS, READ, READ_WRITE, RoleSpec, WRITE};

const fn role(name: &'static str, rules: &'static [super::Rule]) -> RoleSpec {
    RoleSpec {
        name,
        aggregate_to: &[],
        aggregates: &[],
        rules,
    }
}

const TOKEN_REVIEW: super::Rule = R(&["authentication.k8s.io"], &["tokenreviews"], &["create"]);
const ACCESS_REVIEW: super::Rule = R(
    &["authorization.k8s.io"],
    &["subjectaccessreviews"],
    &["create"],
);

/// The cluster roles.
pub const CLUSTER_ROLES: &[RoleSpec] = &[
    RoleSpec {
        name: "admin",
        aggregate_to: &[],
        aggregates: &["admin"],
        rules: &[],
    },
    role(
        "cluster-admin",
        &[R(&["*"], &["*"], &["*"]), Urls(&["*"], &["*"])],
    ),
    RoleSpec {
        name: "edit",
        aggregate_to: &["admin"],
        aggregates: &["edit"],
        rules: &[],
    },
    RoleSpec {
        name: "system:aggregate-to-admin",
        aggregate_to: &["admin"],
        aggregates: &[],
        rules: &[
            R(
                &["authorization.k8s.io"],
                &["localsubjectaccessreviews"],
                &["create"],
            ),
            R(
                &["rbac.authorization.k8s.io"],
                &["rolebindings", "roles"],
                READ_WRITE,
            ),
        ],
    },
    RoleSpec {
        name: "system:aggregate-to-edit",
        aggregate_to: &["edit"],
        aggregates: &[],
        rules: &[
            R(
                &[""],
                &[
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                    "secrets",
                    "services/proxy",
                ],
                READ,
            ),
            R(&[""], &["serviceaccounts"], &["impersonate"]),
            R(
                &[""],
                &[
                    "pods",
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                ],
                WRITE,
            ),
            R(&[""], &["pods/eviction"], &["create"]),
            R(
                &[""],
                &[
                    "configmaps",
                    "events",
                    "persistentvolumeclaims",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "secrets",
                    "serviceaccounts",
                    "services",
                    "services/proxy",
                ],
                WRITE,
            ),
            R(&[""], &["serviceaccounts/token"], &["create"]),
            R(
                &["apps"],
                &[
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "replicasets",
                    "replicasets/scale",
                    "statefulsets",
                    "statefulsets/scale",
                ],
                WRITE,
            ),
            R(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
            R(&["batch"], &["cronjobs", "jobs"], WRITE),
            R(
                &["extensions"],
                &[
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "ingresses",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicationcontrollers/scale",
                ],
                WRITE,
            ),
            R(&["policy"], &["poddisruptionbudgets"], WRITE),
            R(
                &["networking.k8s.io"],
                &["ingresses", "networkpolicies"],
                WRITE,
            ),
            R(&["coordination.k8s.io"], &["leases"], READ_WRITE),
        ],
    },
    RoleSpec {
        name: "system:aggregate-to-view",
        aggregate_to: &["view"],
        aggregates: &[],
        rules: &[
            R(
                &[""],
                &[
                    "configmaps",
                    "endpoints",
                    "persistentvolumeclaims",
                    "persistentvolumeclaims/status",
                    "pods",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "serviceaccounts",
                    "services",
                    "services/status",
                ],
                READ,
            ),
            R(
                &[""],
                &[
                    "bindings",
                    "events",
                    "limitranges",
                    "namespaces/status",
                    "pods/log",
                    "pods/status",
                    "replicationcontrollers/status",
                    "resourcequotas",
                    "resourcequotas/status",
                ],
                READ,
            ),
            R(&[""], &["namespaces"], READ),
            R(&["discovery.k8s.io"], &["endpointslices"], READ),
            R(
                &["apps"],
                &[
                    "controllerrevisions",
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "statefulsets",
                    "statefulsets/scale",
                    "statefulsets/status",
                ],
                READ,
            ),
            R(
                &["autoscaling"],
                &[
                    "horizontalpodautoscalers",
                    "horizontalpodautoscalers/status",
                ],
                READ,
            ),
            R(
                &["batch"],
                &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
                READ,
            ),
            R(
                &["extensions"],
                &[
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "ingresses",
                    "ingresses/status",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "replicationcontrollers/scale",
                ],
                READ,
            ),
            R(
                &["policy"],
                &["poddisruptionbudgets", "poddisruptionbudgets/status"],
                READ,
            ),
            R(
                &["networking.k8s.io"],
                &["ingresses", "ingresses/status", "networkpolicies"],
                READ,
            ),
        ],
    },
    role("system:auth-delegator", &[TOKEN_REVIEW, ACCESS_REVIEW]),
    role(
        "system:basic-user",
        &[
            R(
                &["authorization.k8s.io"],
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                &["create"],
            ),
            R(
                &["authentication.k8s.io"],
                &["selfsubjectreviews"],
                &["create"],
            ),
        ],
    ),
    role(
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        &[R(
            &["certificates.k8s.io"],
            &["certificatesigningrequests/nodeclient"],
            &["create"],
        )],
    ),
    role(
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        &[R(
            &["certificates.k8s.io"],
            &["certificatesigningrequests/selfnodeclient"],
            &["create"],
        )],
    ),
    role(
        "system:certificates.k8s.io:kube-apiserver-client-approver",
        &[Named(
            &["certificates.k8s.io"],
            &["signers"],
            &["kubernetes.io/kube-apiserver-client"],
            &["approve"],
        )],
    ),
    role(
        "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
        &[Named(
            &["certificates.k8s.io"],
            &["signers"],
            &["kubernetes.io/kube-apiserver-client-kubelet"],
            &["approve"],
        )],
    ),
    role(
        "system:certificates.k8s.io:kubelet-serving-approver",
        &[Named(
            &["certificates.k8s.io"],
            &["signers"],
            &["kubernetes.io/kubelet-serving"],
            &["approve"],
        )],
    ),
    role(
        "system:certificates.k8s.io:legacy-unknown-approver",
        &[Named(
            &["certificates.k8s.io"],
            &["signers"],
            &["kubernetes.io/legacy-unknown"],
            &["approve"],
        )],
    ),
    role(
        "system:discovery",
        &[Urls(
            &[
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
                "/healthz",
                "/livez",
                "/openapi",
                "/openapi/*",
                "/readyz",
                "/version",
                "/version/",
            ],
            &["get"],
        )],
    ),
    role(
        "system:heapster",
        &[
            R(&[""], &["events", "namespaces", "nodes", "pods"], READ),
            R(&["extensions"], &["deployments"], READ),
        ],
    ),
    role(
        "system:kube-aggregator",
        &[R(&[""], &["endpoints", "services"], READ)],
    ),
    role(
        "system:kube-controller-manager",
        &[
            EVENTS,
            R(&["coordination.k8s.io"], &["leases"], &["create"]),
            Named(
                &["coordination.k8s.io"],
                &["leases"],
                &["kube-controller-manager"],
                &["get", "update"],
            ),
            R(&[""], &["secrets", "serviceaccounts"], &["create"]),
            R(&[""], &["secrets"], &["delete"]),
            R(
                &[""],
                &["configmaps", "namespaces", "secrets", "serviceaccounts"],
                &["get"],
            ),
            R(&[""], &["secrets", "serviceaccounts"], &["update"]),
            TOKEN_REVIEW,
            ACCESS_REVIEW,
            R(&["*"], &["*"], &["list", "watch"]),
            R(&[""], &["serviceaccounts/token"], &["create"]),
        ],
    ),
    role(
        "system:kube-dns",
        &[R(&[""], &["endpoints", "services"], &["list", "watch"])],
    ),
    role(
        "system:kube-scheduler",
        &[
            EVENTS,
            R(&["coordination.k8s.io"], &["leases"], &["create"]),
            Named(
                &["coordination.k8s.io"],
                &["leases"],
                &["kube-scheduler"],
                &["get", "list", "update", "watch"],
            ),
            R(&["coordination.k8s.io"], &["leasecandidates"], READ_WRITE),
            R(&[""], &["nodes"], READ),
            R(&[""], &["pods"], &["delete", "get", "list", "watch"]),
            R(&[""], &["bindings", "pods/binding"], &["create"]),
            R(&[""], &["pods/status"], &["patch", "update"]),
            R(&[""], &["replicationcontrollers", "services"], READ),
            R(&["apps", "extensions"], &["replicasets"], READ),
            R(&["apps"], &["statefulsets"], READ),
            R(&["policy"], &["poddisruptionbudgets"], READ),
            R(
                &[""],
                &["persistentvolumeclaims", "persistentvolumes"],
                READ,
            ),
            TOKEN_REVIEW,
            ACCESS_REVIEW,
            R(&["storage.k8s.io"], &["csinodes"], READ),
            R(&["storage.k8s.io"], &["volumeattachments"], READ),
            R(&[""], &["namespaces"], READ),
            R(&["storage.k8s.io"], &["csidrivers"], READ),
            R(&["storage.k8s.io"], &["csistoragecapacities"], READ),
        ],
    ),
    role(
        "system:kubelet-api-admin",
        &[
            R(&[""], &["nodes"], READ),
            R(&[""], &["nodes"], &["proxy"]),
            R(
                &[""],
                &["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"],
                &["*"],
            ),
            R(
                &[""],
                &["nodes/configz", "nodes/healthz", "nodes/pods"],
                &["*"],
            ),
        ],
    ),
    role(
        "system:monitoring",
        &[Urls(
            &[
                "/healthz",
                "/healthz/*",
                "/livez",
                "/livez/*",
                "/metrics",
                "/metrics/slis",
                "/readyz",
                "/readyz/*",
            ],
            &["get"],
        )],
    ),
    role(
        "system:node",
        &[
            TOKEN_REVIEW,
            R(
                &["authorization.k8s.io"],
                &["localsubjectaccessreviews", "subjectaccessreviews"],
                &["create"],
            ),
            R(&[""], &["services"], READ),
            R(&[""], &["nodes"], &["create", "get", "list", "watch"]),
            R(&[""], &["nodes/status"], &["patch", "update"]),
            R(&[""], &["nodes"], &["patch", "update"]),
            R(&[""], &["events"], &["create", "patch", "update"]),
            R(&[""], &["pods"], READ),
            R(&[""], &["pods"], &["create", "delete"]),
            R(&[""], &["pods/status"], &["patch", "update"]),
            R(&[""], &["pods/eviction"], &["create"]),
            R(&[""], &["configmaps", "secrets"], READ),
            R(
                &[""],
                &["persistentvolumeclaims", "persistentvolumes"],
                &["get"],
            ),
            R(&[""], &["endpoints"], &["get"]),
            R(
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
                &["create", "get", "list", "watch"],
            ),
            R(
                &["coordination.k8s.io"],
                &["leases"],
                &["create", "delete", "get", "patch", "update"],
            ),
            R(&["storage.k8s.io"], &["volumeattachments"], &["get"]),
            R(&[""], &["serviceaccounts/token"], &["create"]),
            R(
                &[""],
                &["persistentvolumeclaims/status"],
                &["get", "patch", "update"],
            ),
            R(&["storage.k8s.io"], &["csidrivers"], READ),
            R(
                &["storage.k8s.io"],
                &["csinodes"],
                &["create", "delete", "get", "patch", "update"],
            ),
            R(&["node.k8s.io"], &["runtimeclasses"], READ),
        ],
    ),
    role(
        "system:node-bootstrapper",
        &[R(
            &["certificates.k8s.io"],
            &["certificatesigningrequests"],
            &["create", "get", "list", "watch"],
        )],
    ),
    role(
        "system:node-problem-detector",
        &[
            R(&[""], &["nodes"], &["get"]),
            R(&[""], &["nodes/status"], &["patch"]),
            EVENTS,
        ],
    ),
    role(
        "system:node-proxier",
        &[
            R(&[""], &["endpoints", "services"], &["list", "watch"]),
            R(&[""], &["nodes"], READ),
            EVENTS,
            R(
                &["networking.k8s.io"],
                &["servicecidrs"],
                &["list", "watch"],
            ),
            R(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["list", "watch"],
            ),
        ],
    ),
    role(
        "system:persistent-volume-provisioner",
        &[
            R(
                &[""],
                &["persistentvolumes"],
                &["create", "delete", "get", "list", "watch"],
            ),
            R(
                &[""],
                &["persistentvolumeclaims"],
                &["get", "list", "update", "watch"],
            ),
            R(&["storage.k8s.io"], &["storageclasses"], READ),
            R(&[""], &["events"], &["watch"]),
            EVENTS,
        ],
    ),
    role(
        "system:public-info-viewer",
        &[Urls(
            &["/healthz", "/livez", "/readyz", "/version", "/version/"],
            &["get"],
        )],
    ),
    role(
        "system:service-account-issuer-discovery",
        &[Urls(
            &[
                "/.well-known/openid-configuration",
                "/.well-known/openid-configuration/",
                "/openid/v1/jwks",
                "/openid/v1/jwks/",
            ],
            &["get"],
        )],
    ),
    role(
        "system:volume-scheduler",
        &[
            R(
                &[""],
                &["persistentvolumes"],
                &["get", "list", "patch", "update", "watch"],
            ),
            R(&["storage.k8s.io"], &["storageclasses"], READ),
            R(
                &[""],
                &["persistentvolumeclaims"],
                &["get", "list", "patch", "update", "watch"],
            ),
        ],
    ),
    RoleSpec {
        name: "view",
        aggregate_to: &["edit"],
        aggregates: &["view"],
        rules: &[],
    },
];
