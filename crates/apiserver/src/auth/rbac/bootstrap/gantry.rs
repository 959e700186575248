//! Gantry's own roles and bindings, beside upstream's: what kubeadm adds for joining nodes
//! (bootstrap-token users may ask for node certificates, nodes may renew theirs, anyone may
//! read `kube-public/cluster-info`), and what Gantry's components need while they run under
//! one identity each rather than upstream's per-controller ServiceAccounts and Node
//! authorizer. Every name starts with `gantry:`.

use super::Rule::{Named, Resources as R};
use super::{BindingSpec, RoleSpec};

/// The group every join token adds (`gantry token create`, the server's own token).
pub const TOKEN_GROUP: &str = "system:bootstrappers:gantry:default-node-token";

/// Gantry's cluster roles.
pub const CLUSTER_ROLES: &[RoleSpec] = &[RoleSpec {
    // A node's service proxy, pod network and cluster DNS run as the node: they read
    // Services, EndpointSlices and Nodes, and the DNS publishes its own EndpointSlice and the
    // kube-dns Service; the kubelet reclaims the released volumes of the built-in local-path
    // provisioner on its node (directory, then object).
    name: "gantry:node-components",
    aggregate_to: &[],
    aggregates: &[],
    rules: &[
        R(
            &["discovery.k8s.io"],
            &["endpointslices"],
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
        ),
        R(
            &[""],
            &["services"],
            &["create", "get", "list", "patch", "update", "watch"],
        ),
        R(&[""], &["nodes"], &["get", "list", "watch"]),
        R(
            &["networking.k8s.io"],
            &["servicecidrs"],
            &["list", "watch"],
        ),
        R(
            &[""],
            &["persistentvolumes"],
            &["delete", "get", "list", "watch"],
        ),
    ],
}];

/// Gantry's cluster role bindings.
pub const CLUSTER_ROLE_BINDINGS: &[BindingSpec] = &[
    BindingSpec {
        name: "gantry:kubelet-bootstrap",
        role: ("ClusterRole", "system:node-bootstrapper"),
        subjects: &[("Group", TOKEN_GROUP)],
    },
    BindingSpec {
        name: "gantry:node-autoapprove-bootstrap",
        role: (
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        ),
        subjects: &[("Group", TOKEN_GROUP)],
    },
    BindingSpec {
        name: "gantry:node-autoapprove-certificate-rotation",
        role: (
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        ),
        subjects: &[("Group", "system:nodes")],
    },
    BindingSpec {
        name: "gantry:node-components",
        role: ("ClusterRole", "gantry:node-components"),
        subjects: &[("Group", "system:nodes")],
    },
    // kubeadm's: the API server's identity toward kubelets may use their endpoints (logs,
    // exec, port-forward, stats) when they ask.
    BindingSpec {
        name: "gantry:kube-apiserver-kubelet-client",
        role: ("ClusterRole", "system:kubelet-api-admin"),
        subjects: &[("User", "kube-apiserver-kubelet-client")],
    },
    // Until the controllers run as upstream's per-controller ServiceAccounts, the controller
    // manager's one identity needs what all of them do together.
    BindingSpec {
        name: "gantry:controller-manager",
        role: ("ClusterRole", "cluster-admin"),
        subjects: &[("User", "system:kube-controller-manager")],
    },
];

/// Bindings earlier releases made and no cluster should keep: `gantry:nodes` gave every node the
/// whole `system:node` role before the Node authorizer existed.
pub const RETIRED_CLUSTER_ROLE_BINDINGS: &[&str] = &["gantry:nodes"];

/// Gantry's namespaced roles: kubeadm's public cluster-info reader.
pub const NAMESPACE_ROLES: &[(&str, RoleSpec)] = &[(
    "kube-public",
    RoleSpec {
        name: "gantry:bootstrap-signer-clusterinfo",
        aggregate_to: &[],
        aggregates: &[],
        rules: &[Named(&[""], &["configmaps"], &["cluster-info"], &["get"])],
    },
)];

/// Gantry's namespaced role bindings.
pub const NAMESPACE_ROLE_BINDINGS: &[(&str, BindingSpec)] = &[(
    "kube-public",
    BindingSpec {
        name: "gantry:bootstrap-signer-clusterinfo",
        role: ("Role", "gantry:bootstrap-signer-clusterinfo"),
        subjects: &[("User", "system:anonymous")],
    },
)];
