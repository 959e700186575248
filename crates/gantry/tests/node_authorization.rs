//! Nodes are kept to themselves, as upstream's Node authorizer and NodeRestriction keep them:
//! a kubelet reads only the Secrets its own pods use, asks for tokens only of its own pods,
//! labels only itself (and not with restricted labels), and creates only mirror pods. kubectl
//! 1.33 impersonates the nodes (`--as system:node:<name> --as-group system:nodes`).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::kubectl::Kubectl;

const OBJECTS: &str = "apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
---
apiVersion: v1
kind: Secret
metadata: {name: used}
stringData: {password: one}
---
apiVersion: v1
kind: Secret
metadata: {name: unused}
stringData: {password: two}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: n1
  containers:
  - name: c
    image: busybox:1.36
    env: [{name: P, valueFrom: {secretKeyRef: {name: used, key: password}}}]
";

/// kubectl `args` as node `node`.
fn as_node(node: &str, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    all.extend([
        format!("--as=system:node:{node}"),
        "--as-group=system:nodes".to_owned(),
    ]);
    all
}

fn refused(k: &Kubectl, node: &str, args: &[&str]) -> String {
    let args = as_node(node, args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    k.fails(&args)
}

fn allowed(k: &Kubectl, node: &str, args: &[&str]) -> String {
    let args = as_node(node, args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    k.ok(&args)
}

#[test]
fn nodes_reach_only_what_their_pods_use_and_change_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, OBJECTS).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);

    // The Secret its pod uses, and nothing else; another node not even that.
    let secret = allowed(&k, "n1", &["get", "secret", "used", "-o", "name"]);
    assert_eq!(secret.trim(), "secret/used");
    let message = refused(&k, "n1", &["get", "secret", "unused"]);
    assert!(
        message.contains(
            "secrets \"unused\" is forbidden: User \"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\": no relationship found between node 'n1' and this object"
        ),
        "{message}"
    );
    assert!(
        refused(&k, "n2", &["get", "secret", "used"])
            .contains("no relationship found between node 'n2' and this object")
    );
    // Listing every Secret is nobody's node business; can-i agrees.
    assert!(refused(&k, "n1", &["get", "secrets"]).contains("forbidden"));
    assert_eq!(
        allowed(&k, "n1", &["auth", "can-i", "get", "secret/used"]).trim(),
        "yes"
    );
    let out = k.run(
        &as_node("n1", &["auth", "can-i", "get", "secret/unused"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "no - no relationship found between node 'n1' and this object"
    );

    // Its own Node, with labels of its own but not restricted ones; nobody else's.
    allowed(&k, "n1", &["label", "node", "n1", "rack=r1"]);
    assert_eq!(k.jsonpath(&["node", "n1"], "{.metadata.labels.rack}"), "r1");
    let message = refused(&k, "n1", &["label", "node", "n2", "rack=r1"]);
    assert!(
        message.contains(
            "nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\""
        ),
        "{message}"
    );
    let message = refused(
        &k,
        "n1",
        &[
            "label",
            "node",
            "n1",
            "node-role.kubernetes.io/control-plane=",
        ],
    );
    assert!(
        message.contains("is not allowed to modify labels: node-role.kubernetes.io/control-plane"),
        "{message}"
    );
    let message = refused(&k, "n1", &["taint", "node", "n1", "k=v:NoSchedule"]);
    assert!(
        message.contains("node \"n1\" is not allowed to modify taints"),
        "{message}"
    );

    // Only mirror pods; tokens only bound to its own pods.
    let message = refused(&k, "n1", &["run", "stray", "--image=busybox:1.36"]);
    assert!(
        message.contains(
            "pods \"stray\" is forbidden: pod does not have \"kubernetes.io/config.mirror\" annotation, node \"n1\" can only create mirror pods"
        ),
        "{message}"
    );
    let uid = k.jsonpath(&["pod", "web"], "{.metadata.uid}");
    let bound = [
        "create",
        "token",
        "default",
        "--bound-object-kind=Pod",
        "--bound-object-name=web",
    ];
    let with_uid = format!("--bound-object-uid={uid}");
    let mut own = bound.to_vec();
    own.push(&with_uid);
    assert!(allowed(&k, "n1", &own).starts_with("eyJ"));
    let message = refused(&k, "n1", &["create", "token", "default"]);
    assert!(
        message.contains("node requested token not bound to a pod"),
        "{message}"
    );
    assert!(
        refused(&k, "n2", &own).contains("no relationship found between node 'n2'"),
        "the Node authorizer stops n2 first"
    );
    server.stop();
}
