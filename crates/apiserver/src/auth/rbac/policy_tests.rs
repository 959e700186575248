//! The bootstrap policy, decided in memory: who may do what on a fresh cluster.

use super::*;
use crate::auth::attributes;
use crate::auth::rbac::bootstrap;
use http::Method;
use serde_json::{Value, json};

fn key(plural: &str, namespace: Option<&str>, object: &Value) -> String {
    let name = object["metadata"]["name"].as_str().unwrap();
    match namespace {
        Some(ns) => format!("{PREFIX}{plural}/{ns}/{name}"),
        None => format!("{PREFIX}{plural}/{name}"),
    }
}

/// The bootstrap policy, with `view` aggregated as the controller would.
fn bootstrap_policy() -> Policy {
    let policy = Policy::default();
    for role in bootstrap::cluster_roles() {
        let mut object = role.to_json(None);
        if role.name == "view" {
            let gathered = bootstrap::roles::CLUSTER_ROLES
                .iter()
                .find(|r| r.name == "system:aggregate-to-view")
                .unwrap();
            object["rules"] = Value::Array(gathered.rules.iter().map(|r| r.to_json()).collect());
        }
        policy.insert(&key("clusterroles", None, &object), &object);
    }
    for binding in bootstrap::cluster_role_bindings() {
        policy.insert(&key("clusterrolebindings", None, &binding), &binding);
    }
    for (ns, role) in bootstrap::namespace_roles() {
        let object = role.to_json(Some(ns));
        policy.insert(&key("roles", Some(ns), &object), &object);
    }
    for (ns, binding) in bootstrap::namespace_role_bindings() {
        let object = binding.to_json(Some(ns));
        policy.insert(&key("rolebindings", Some(ns), &object), &object);
    }
    policy
}

fn may(policy: &Policy, user: &User, method: Method, path: &str) -> bool {
    policy
        .decide(user, &attributes::of(&method, path, None))
        .allowed
}

#[test]
fn anonymous_users_see_only_public_information() {
    let policy = bootstrap_policy();
    let anonymous = User::anonymous();
    assert!(may(&policy, &anonymous, Method::GET, "/healthz"));
    assert!(may(&policy, &anonymous, Method::GET, "/version"));
    assert!(may(
        &policy,
        &anonymous,
        Method::GET,
        "/api/v1/namespaces/kube-public/configmaps/cluster-info"
    ));
    assert!(!may(&policy, &anonymous, Method::GET, "/api"));
    assert!(
        !may(&policy, &anonymous, Method::GET, "/healthz/etcd"),
        "only the exact paths"
    );
    assert!(!may(
        &policy,
        &anonymous,
        Method::GET,
        "/api/v1/namespaces/kube-public/configmaps"
    ));
}

#[test]
fn authenticated_users_discover_and_ask_about_themselves_only() {
    let policy = bootstrap_policy();
    let alice = User::authenticated("alice", vec![]);
    assert!(may(&policy, &alice, Method::GET, "/api"));
    assert!(may(&policy, &alice, Method::GET, "/apis/apps/v1"));
    assert!(may(&policy, &alice, Method::GET, "/openapi/v3"));
    assert!(may(
        &policy,
        &alice,
        Method::POST,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    ));
    assert!(may(
        &policy,
        &alice,
        Method::POST,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    ));
    assert!(!may(
        &policy,
        &alice,
        Method::GET,
        "/api/v1/namespaces/default/pods"
    ));
    assert!(!may(&policy, &alice, Method::GET, "/metrics"));
}

#[test]
fn join_tokens_may_ask_for_node_certificates_only() {
    let policy = bootstrap_policy();
    let joining = User::authenticated(
        "system:bootstrap:abcdef",
        vec![
            "system:bootstrappers".into(),
            bootstrap::gantry::TOKEN_GROUP.into(),
        ],
    );
    let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    assert!(may(&policy, &joining, Method::POST, csrs));
    assert!(may(
        &policy,
        &joining,
        Method::GET,
        &format!("{csrs}/node-csr-x")
    ));
    assert!(!may(
        &policy,
        &joining,
        Method::PUT,
        &format!("{csrs}/node-csr-x/approval")
    ));
    assert!(!may(
        &policy,
        &joining,
        Method::GET,
        "/api/v1/namespaces/kube-system/secrets"
    ));
}

#[test]
fn components_have_their_roles() {
    let policy = bootstrap_policy();
    // RBAC gives nodes only what their proxy, network and DNS need: the rest of a kubelet's
    // rights are the Node authorizer's (`auth/node`), which RBAC does not duplicate.
    let node = User::authenticated("system:node:n1", vec!["system:nodes".into()]);
    assert!(!may(
        &policy,
        &node,
        Method::PATCH,
        "/api/v1/nodes/n1/status"
    ));
    assert!(!may(
        &policy,
        &node,
        Method::GET,
        "/api/v1/namespaces/a/secrets/s"
    ));
    assert!(may(&policy, &node, Method::GET, "/api/v1/nodes"));
    assert!(may(
        &policy,
        &node,
        Method::GET,
        "/apis/discovery.k8s.io/v1/endpointslices"
    ));
    assert!(!may(
        &policy,
        &node,
        Method::DELETE,
        "/api/v1/namespaces/a/secrets/s"
    ));
    let scheduler = User::authenticated("system:kube-scheduler", vec![]);
    assert!(may(
        &policy,
        &scheduler,
        Method::POST,
        "/api/v1/namespaces/a/pods/p/binding"
    ));
    assert!(may(
        &policy,
        &scheduler,
        Method::PUT,
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"
    ));
    assert!(!may(
        &policy,
        &scheduler,
        Method::DELETE,
        "/api/v1/nodes/n1"
    ));
    let controllers = User::authenticated("system:kube-controller-manager", vec![]);
    assert!(may(
        &policy,
        &controllers,
        Method::DELETE,
        "/api/v1/nodes/n1"
    ));
}

#[test]
fn view_bound_in_a_namespace_reads_there_only() {
    let policy = bootstrap_policy();
    let binding = json!({
        "metadata": {"name": "reader-view", "namespace": "demo"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader"}],
    });
    policy.insert(&key("rolebindings", Some("demo"), &binding), &binding);
    let reader = User::authenticated(
        "system:serviceaccount:demo:reader",
        vec![
            "system:serviceaccounts".into(),
            "system:serviceaccounts:demo".into(),
        ],
    );
    assert!(may(
        &policy,
        &reader,
        Method::GET,
        "/api/v1/namespaces/demo/pods"
    ));
    assert!(may(
        &policy,
        &reader,
        Method::GET,
        "/apis/apps/v1/namespaces/demo/deployments/web"
    ));
    assert!(!may(
        &policy,
        &reader,
        Method::GET,
        "/api/v1/namespaces/demo/secrets"
    ));
    assert!(!may(
        &policy,
        &reader,
        Method::DELETE,
        "/api/v1/namespaces/demo/pods/p"
    ));
    assert!(!may(
        &policy,
        &reader,
        Method::GET,
        "/api/v1/namespaces/other/pods"
    ));
    // A binding to a role that is not there says so.
    let dangling = json!({
        "metadata": {"name": "gone", "namespace": "demo"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "missing"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader"}],
    });
    policy.insert(&key("rolebindings", Some("demo"), &dangling), &dangling);
    let verdict = policy.decide(
        &reader,
        &attributes::of(&Method::DELETE, "/api/v1/namespaces/demo/pods/p", None),
    );
    assert_eq!(
        verdict.reason,
        r#"RBAC: role.rbac.authorization.k8s.io "missing" not found"#
    );
}
