//! Upstream 1.33's bootstrap cluster role bindings, and its roles and bindings in `kube-system`
//! and `kube-public`.

use super::Rule::{Named, Resources as R};
use super::{BindingSpec, EVENTS, READ, RoleSpec};

const fn binding(
    name: &'static str,
    role: &'static str,
    subjects: &'static [super::SubjectSpec],
) -> BindingSpec {
    BindingSpec {
        name,
        role: ("ClusterRole", role),
        subjects,
    }
}

/// The cluster role bindings (the controller roles' own are made from their names).
pub const CLUSTER_ROLE_BINDINGS: &[BindingSpec] = &[
    binding(
        "cluster-admin",
        "cluster-admin",
        &[("Group", "system:masters")],
    ),
    binding(
        "system:basic-user",
        "system:basic-user",
        &[("Group", "system:authenticated")],
    ),
    binding(
        "system:discovery",
        "system:discovery",
        &[("Group", "system:authenticated")],
    ),
    binding(
        "system:kube-controller-manager",
        "system:kube-controller-manager",
        &[("User", "system:kube-controller-manager")],
    ),
    binding(
        "system:kube-dns",
        "system:kube-dns",
        &[("ServiceAccount", "kube-system/kube-dns")],
    ),
    binding(
        "system:kube-scheduler",
        "system:kube-scheduler",
        &[("User", "system:kube-scheduler")],
    ),
    binding(
        "system:monitoring",
        "system:monitoring",
        &[("Group", "system:monitoring")],
    ),
    // No subjects on purpose: nodes are authorized by the Node authorizer upstream.
    binding("system:node", "system:node", &[]),
    binding(
        "system:node-proxier",
        "system:node-proxier",
        &[("User", "system:kube-proxy")],
    ),
    binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        &[
            ("Group", "system:authenticated"),
            ("Group", "system:unauthenticated"),
        ],
    ),
    binding(
        "system:service-account-issuer-discovery",
        "system:service-account-issuer-discovery",
        &[("Group", "system:serviceaccounts")],
    ),
    binding(
        "system:volume-scheduler",
        "system:volume-scheduler",
        &[("User", "system:kube-scheduler")],
    ),
];

const fn namespaced(name: &'static str, rules: &'static [super::Rule]) -> RoleSpec {
    RoleSpec {
        name,
        aggregate_to: &[],
        aggregates: &[],
        rules,
    }
}

/// The namespaced roles: `(namespace, role)`.
pub const NAMESPACE_ROLES: &[(&str, RoleSpec)] = &[
    (
        "kube-public",
        namespaced(
            "system:controller:bootstrap-signer",
            &[
                R(&[""], &["configmaps"], READ),
                Named(&[""], &["configmaps"], &["cluster-info"], &["update"]),
                EVENTS,
            ],
        ),
    ),
    (
        "kube-system",
        namespaced(
            "extension-apiserver-authentication-reader",
            &[Named(
                &[""],
                &["configmaps"],
                &["extension-apiserver-authentication"],
                READ,
            )],
        ),
    ),
    (
        "kube-system",
        namespaced(
            "system::leader-locking-kube-controller-manager",
            &[
                R(&[""], &["configmaps"], &["watch"]),
                Named(
                    &[""],
                    &["configmaps"],
                    &["kube-controller-manager"],
                    &["get", "update"],
                ),
                R(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["create", "get", "list", "update", "watch"],
                ),
                R(
                    &["coordination.k8s.io"],
                    &["leasecandidates"],
                    &["create", "get", "list", "update", "watch"],
                ),
            ],
        ),
    ),
    (
        "kube-system",
        namespaced(
            "system::leader-locking-kube-scheduler",
            &[
                R(&[""], &["configmaps"], &["watch"]),
                Named(
                    &[""],
                    &["configmaps"],
                    &["kube-scheduler"],
                    &["get", "update"],
                ),
                R(
                    &["coordination.k8s.io"],
                    &["leases"],
                    &["create", "get", "list", "update", "watch"],
                ),
                R(
                    &["coordination.k8s.io"],
                    &["leasecandidates"],
                    &["create", "get", "list", "update", "watch"],
                ),
            ],
        ),
    ),
    (
        "kube-system",
        namespaced(
            "system:controller:bootstrap-signer",
            &[R(&[""], &["secrets"], READ)],
        ),
    ),
    (
        "kube-system",
        namespaced(
            "system:controller:cloud-provider",
            &[R(
                &[""],
                &["configmaps"],
                &["create", "get", "list", "watch"],
            )],
        ),
    ),
    (
        "kube-system",
        namespaced(
            "system:controller:token-cleaner",
            &[
                R(&[""], &["secrets"], &["delete", "get", "list", "watch"]),
                EVENTS,
            ],
        ),
    ),
];

const fn role_binding(
    name: &'static str,
    role: &'static str,
    subjects: &'static [super::SubjectSpec],
) -> BindingSpec {
    BindingSpec {
        name,
        role: ("Role", role),
        subjects,
    }
}

/// The namespaced role bindings: `(namespace, binding)`.
pub const NAMESPACE_ROLE_BINDINGS: &[(&str, BindingSpec)] = &[
    (
        "kube-public",
        role_binding(
            "system:controller:bootstrap-signer",
            "system:controller:bootstrap-signer",
            &[("ServiceAccount", "kube-system/bootstrap-signer")],
        ),
    ),
    (
        "kube-system",
        role_binding(
            "system::extension-apiserver-authentication-reader",
            "extension-apiserver-authentication-reader",
            &[
                ("User", "system:kube-controller-manager"),
                ("User", "system:kube-scheduler"),
            ],
        ),
    ),
    (
        "kube-system",
        role_binding(
            "system::leader-locking-kube-controller-manager",
            "system::leader-locking-kube-controller-manager",
            &[
                ("User", "system:kube-controller-manager"),
                ("ServiceAccount", "kube-system/kube-controller-manager"),
                ("ServiceAccount", "kube-system/leader-election-controller"),
            ],
        ),
    ),
    (
        "kube-system",
        role_binding(
            "system::leader-locking-kube-scheduler",
            "system::leader-locking-kube-scheduler",
            &[
                ("User", "system:kube-scheduler"),
                ("ServiceAccount", "kube-system/kube-scheduler"),
            ],
        ),
    ),
    (
        "kube-system",
        role_binding(
            "system:controller:bootstrap-signer",
            "system:controller:bootstrap-signer",
            &[("ServiceAccount", "kube-system/bootstrap-signer")],
        ),
    ),
    (
        "kube-system",
        role_binding(
            "system:controller:cloud-provider",
            "system:controller:cloud-provider",
            &[("ServiceAccount", "kube-system/cloud-provider")],
        ),
    ),
    (
        "kube-system",
        role_binding(
            "system:controller:token-cleaner",
            "system:controller:token-cleaner",
            &[("ServiceAccount", "kube-system/token-cleaner")],
        ),
    ),
];
