use super::*;
use crate::auth::User;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use std::sync::Arc;

fn node_user(name: &str) -> User {
    User::authenticated(
        &format!("system:node:{name}"),
        vec!["system:nodes".to_owned()],
    )
}

fn res(group: &str, plural: &str) -> &'static Resource {
    catalogue::find(group, "v1", plural).unwrap()
}

fn write<'a>(
    resource: &'a Resource,
    op: Op,
    name: &'a str,
    new: Option<&'a Value>,
    old: Option<&'a Value>,
) -> Write<'a> {
    Write {
        resource,
        subresource: None,
        op,
        name,
        namespace: None,
        new,
        old,
    }
}

#[test]
fn a_node_changes_only_itself_and_not_its_taints_or_restricted_labels() {
    let nodes = res("", "nodes");
    let old = json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
        "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}});
    assert_eq!(
        own_node(
            "n1",
            &write(nodes, Op::Update, "n2", Some(&old), Some(&old))
        )
        .as_deref(),
        Some("node \"n1\" is not allowed to modify node \"n2\"")
    );
    let mut untainted = old.clone();
    untainted["spec"]["taints"] = json!([]);
    assert_eq!(
        own_node(
            "n1",
            &write(nodes, Op::Update, "n1", Some(&untainted), Some(&old))
        )
        .as_deref(),
        Some("node \"n1\" is not allowed to modify taints")
    );
    let mut relabelled = old.clone();
    relabelled["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = json!("");
    relabelled["metadata"]["labels"]["example.com/rack"] = json!("r1");
    relabelled["metadata"]["labels"]["topology.kubernetes.io/zone"] = json!("z1");
    assert_eq!(
        own_node(
            "n1",
            &write(nodes, Op::Update, "n1", Some(&relabelled), Some(&old))
        )
        .as_deref(),
        Some("is not allowed to modify labels: node-role.kubernetes.io/control-plane")
    );
    assert_eq!(
        own_node(
            "n1",
            &write(nodes, Op::Create, "n1", Some(&relabelled), None)
        )
        .as_deref(),
        Some(
            "node \"n1\" is not allowed to set the following labels: node-role.kubernetes.io/control-plane"
        )
    );
    let mut heartbeat = old.clone();
    heartbeat["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    assert_eq!(
        own_node(
            "n1",
            &write(nodes, Op::Update, "n1", Some(&heartbeat), Some(&old))
        ),
        None
    );
}

#[test]
fn which_labels_a_node_may_set() {
    for allowed in [
        "rack",
        "example.com/rack",
        "kubernetes.io/hostname",
        "node.kubernetes.io/exclude-from-external-load-balancers",
        "x.kubelet.kubernetes.io/y",
    ] {
        assert!(!label_forbidden(allowed), "{allowed}");
    }
    for refused in [
        "node-role.kubernetes.io/master",
        "node-restriction.kubernetes.io/pool",
        "a.node-restriction.kubernetes.io/b",
        "other.k8s.io/x",
        "kubernetes.io/role",
    ] {
        assert!(label_forbidden(refused), "{refused}");
    }
}

#[test]
fn a_pod_status_update_is_for_its_own_pods_and_leaves_labels_alone() {
    let pods = res("", "pods");
    let old =
        json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"nodeName": "n1"}});
    let mut new = old.clone();
    new["status"] = json!({"phase": "Running"});
    let status = |new: &Value, old: &Value| {
        let w = Write {
            subresource: Some("status"),
            ..write(pods, Op::Update, "web", Some(new), Some(old))
        };
        pod_status("n1", &w)
    };
    assert_eq!(status(&new, &old), None);
    let mut moved = old.clone();
    moved["spec"]["nodeName"] = json!("n2");
    assert_eq!(
        status(&new, &moved).as_deref(),
        Some("node \"n1\" can only update pod status for pods with spec.nodeName set to itself")
    );
    new["metadata"]["labels"]["app"] = json!("db");
    assert_eq!(
        status(&new, &old).as_deref(),
        Some("node \"n1\" cannot update labels through pod status")
    );
}

#[test]
fn mirror_pods_reference_nothing_and_leases_are_named_after_the_node() {
    let plain = json!({"spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    assert_eq!(pod_references("n1", &plain), None);
    let with_secret =
        json!({"spec": {"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "s"}}]}]}});
    assert_eq!(
        pod_references("n1", &with_secret).as_deref(),
        Some("node \"n1\" can not create pods that reference secrets")
    );
    let with_account = json!({"spec": {"serviceAccountName": "default"}});
    assert_eq!(
        pod_references("n1", &with_account).as_deref(),
        Some("node \"n1\" can not create pods that reference a service account")
    );

    let leases = res("coordination.k8s.io", "leases");
    let lease = json!({"metadata": {"name": "n2"}});
    let w = Write {
        namespace: Some("kube-node-lease"),
        ..write(leases, Op::Create, "", Some(&lease), None)
    };
    assert_eq!(
        named_after_node("n1", &w, true).as_deref(),
        Some("can only access node lease with the same name as the requesting node")
    );
    let w = Write {
        namespace: Some("default"),
        ..write(leases, Op::Update, "n1", Some(&lease), None)
    };
    assert!(named_after_node("n1", &w, true).is_some());
    assert_eq!(
        forbidden(&write(leases, Op::Update, "n2", None, None), "nope").message,
        "leases.coordination.k8s.io \"n2\" is forbidden: nope"
    );
}

#[tokio::test]
async fn through_the_registry_a_node_makes_only_its_own_mirror_pods() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let registry = Registry::new(Arc::new(store), crate::allocator::Ranges::default());
    crate::bootstrap::ensure(&registry, &crate::allocator::Ranges::default())
        .await
        .unwrap();
    let node = registry
        .create(
            res("", "nodes"),
            None,
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
            false,
        )
        .await
        .unwrap();
    let uid = node["metadata"]["uid"].as_str().unwrap().to_owned();
    let mirror = |name: &str, node: &str, uid: &str| {
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default",
            "annotations": {"kubernetes.io/config.mirror": "hash"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": uid, "controller": true}]},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
    };
    let pods = res("", "pods");
    let create = |pod: Value| {
        crate::auth::user::scoped(
            node_user("n1"),
            registry.create(pods, Some("default"), pod, false),
        )
    };
    create(mirror("static-n1", "n1", &uid)).await.unwrap();
    let refused = create(mirror("elsewhere", "n2", &uid)).await.unwrap_err();
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.message,
        "pods \"elsewhere\" is forbidden: node \"n1\" can only create pods with spec.nodeName set to itself"
    );
    let refused = create(mirror("stale", "n1", "not-the-uid"))
        .await
        .unwrap_err();
    assert_eq!(
        refused.message,
        format!(
            "pods \"stale\" is forbidden: node n1 UID mismatch: expected not-the-uid got {uid}"
        )
    );
    let mut ordinary = mirror("ordinary", "n1", &uid);
    ordinary["metadata"]["annotations"] = json!({});
    assert!(
        create(ordinary)
            .await
            .unwrap_err()
            .message
            .contains("can only create mirror pods")
    );
    // Anyone else is not a node: the plugin has nothing to say.
    registry
        .create(pods, Some("default"), mirror("by-admin", "n2", &uid), false)
        .await
        .unwrap();
}
