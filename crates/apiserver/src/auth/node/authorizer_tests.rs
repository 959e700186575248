use super::*;
use serde_json::json;

fn node(name: &str) -> User {
    User::authenticated(&format!("system:node:{name}"), vec![NODES_GROUP.to_owned()])
}

fn request(verb: &str, resource: &str, namespace: &str, name: &str) -> Attributes {
    let (group, resource) = resource
        .split_once('.')
        .map_or(("", resource), |(r, g)| (g, r));
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    Attributes::Resource {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: resource.to_owned(),
        subresource,
        namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
        name: (!name.is_empty()).then(|| name.to_owned()),
        field_selector: None,
    }
}

fn selected(verb: &str, resource: &str, selector: &str) -> Attributes {
    let mut attributes = request(verb, resource, "", "");
    if let Attributes::Resource { field_selector, .. } = &mut attributes {
        *field_selector = Some(selector.to_owned());
    }
    attributes
}

fn authorizer() -> NodeAuthorizer {
    let graph = NodeGraph::default();
    graph.insert(
        "/registry/core/pods/shop/web",
        &json!({"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"nodeName": "n1", "serviceAccountName": "builder",
                "volumes": [{"name": "cert", "secret": {"secretName": "tls"}},
                    {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}),
    );
    graph.insert(
        "/registry/core/persistentvolumeclaims/shop/data",
        &json!({"spec": {"volumeName": "pv-1"}}),
    );
    NodeAuthorizer::new(graph)
}

fn reason(decision: Option<Decision>) -> String {
    match decision {
        Some(Decision::NoOpinion(reason)) => reason,
        other => panic!("expected no opinion, got {other:?}"),
    }
}

#[test]
fn a_node_reads_what_its_pods_use_and_nothing_else() {
    let a = authorizer();
    let n1 = node("n1");
    for (verb, resource, ns, name) in [
        ("get", "secrets", "shop", "tls"),
        ("watch", "secrets", "shop", "tls"),
        ("get", "persistentvolumeclaims", "shop", "data"),
        ("get", "persistentvolumes", "", "pv-1"),
        ("create", "serviceaccounts/token", "shop", "builder"),
    ] {
        assert_eq!(
            a.decide(&n1, &request(verb, resource, ns, name)),
            Some(Decision::Allow),
            "{verb} {resource} {name}"
        );
    }
    assert_eq!(
        reason(a.decide(&node("n2"), &request("get", "secrets", "shop", "tls"))),
        "no relationship found between node 'n2' and this object"
    );
    assert_eq!(
        reason(a.decide(&n1, &request("get", "secrets", "shop", "other"))),
        "no relationship found between node 'n1' and this object"
    );
    // Reading every Secret at once is never a node's business.
    assert!(!reason(a.decide(&n1, &request("list", "secrets", "shop", ""))).is_empty());
    assert!(!reason(a.decide(&n1, &request("delete", "secrets", "shop", "tls"))).is_empty());
    assert!(
        !reason(a.decide(
            &n1,
            &request("create", "serviceaccounts/token", "shop", "default")
        ))
        .is_empty()
    );
}

#[test]
fn a_node_keeps_to_its_own_lease_and_csinode() {
    let a = authorizer();
    let n1 = node("n1");
    let lease =
        |verb: &str, ns: &str, name: &str| request(verb, "leases.coordination.k8s.io", ns, name);
    assert_eq!(
        a.decide(&n1, &lease("update", "kube-node-lease", "n1")),
        Some(Decision::Allow)
    );
    assert_eq!(
        reason(a.decide(&n1, &lease("update", "kube-node-lease", "n2"))),
        "can only access node lease with the same name as the requesting node"
    );
    assert!(!reason(a.decide(&n1, &lease("get", "default", "n1"))).is_empty());
    assert!(!reason(a.decide(&n1, &lease("list", "kube-node-lease", ""))).is_empty());
    assert_eq!(
        a.decide(&n1, &request("get", "csinodes.storage.k8s.io", "", "n1")),
        Some(Decision::Allow)
    );
    assert!(
        !reason(a.decide(&n1, &request("get", "csinodes.storage.k8s.io", "", "n2"))).is_empty()
    );
}

#[test]
fn the_rest_is_the_node_role_and_other_users_are_not_nodes() {
    let a = authorizer();
    let n1 = node("n1");
    assert_eq!(
        a.decide(&n1, &request("patch", "nodes/status", "", "n1")),
        Some(Decision::Allow)
    );
    assert_eq!(
        a.decide(&n1, &request("create", "events", "shop", "")),
        Some(Decision::Allow)
    );
    assert_eq!(
        a.decide(&n1, &request("list", "deployments.apps", "", "")),
        Some(Decision::NoOpinion(String::new()))
    );
    let not_a_node = User::authenticated("system:node:n1", vec![]);
    assert_eq!(
        a.decide(&not_a_node, &request("get", "secrets", "shop", "tls")),
        None
    );
    let nameless = User::authenticated("system:node:", vec![NODES_GROUP.to_owned()]);
    assert_eq!(
        reason(a.decide(&nameless, &request("get", "pods", "", ""))),
        "unknown node for user \"system:node:\""
    );
}

#[test]
fn a_node_sees_its_own_pods_and_its_own_node() {
    let a = authorizer();
    let n1 = node("n1");
    assert_eq!(
        a.decide(&n1, &selected("watch", "pods", "spec.nodeName=n1")),
        Some(Decision::Allow)
    );
    assert_eq!(
        a.decide(&n1, &request("get", "pods", "shop", "web")),
        Some(Decision::Allow)
    );
    assert_eq!(
        reason(a.decide(&n1, &selected("list", "pods", "spec.nodeName=n2"))),
        "can only list/watch pods with spec.nodeName field selector"
    );
    assert_eq!(
        reason(a.decide(&node("n2"), &request("get", "pods", "shop", "web"))),
        "no relationship found between node 'n2' and this object"
    );
    assert_eq!(
        a.decide(&n1, &request("get", "nodes", "", "n1")),
        Some(Decision::Allow)
    );
    assert_eq!(
        reason(a.decide(&n1, &request("list", "nodes", "", ""))),
        "node 'n1' cannot read all nodes, only its own Node object"
    );
    assert_eq!(
        reason(a.decide(&n1, &request("get", "nodes", "", "n2"))),
        "node 'n1' cannot read 'n2', only its own Node object"
    );
    // Writes to nodes and pods are NodeRestriction's to narrow.
    assert_eq!(
        a.decide(&n1, &request("patch", "nodes", "", "n2")),
        Some(Decision::Allow)
    );
    assert_eq!(
        a.decide(&n1, &request("delete", "nodes", "", "n1")),
        Some(Decision::NoOpinion(String::new()))
    );
}
