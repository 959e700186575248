//! The generic registry against a real (embedded) store: object semantics that every resource
//! shares.

use super::*;
use crate::request::Query;
use crate::status::ApiError;
use gantry_api::catalogue;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use serde_json::{Value, json};

struct Fixture {
    registry: Registry,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let registry = Registry::new(Arc::new(store), crate::allocator::Ranges::default());
    crate::bootstrap::ensure(&registry, &crate::allocator::Ranges::default())
        .await
        .unwrap();
    Fixture {
        registry,
        _dir: dir,
    }
}

fn res(group: &str, plural: &str) -> &'static Resource {
    catalogue::find(group, "v1", plural).unwrap()
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 7},
    })
}

fn rv(object: &Value) -> i64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn list_options(query: &str) -> ListOptions {
    ListOptions::parse(res("", "configmaps"), &Query::parse(Some(query))).unwrap()
}

#[tokio::test]
async fn create_assigns_identity_and_the_store_revision_as_resource_version() {
    let f = fixture().await;
    let created = f
        .registry
        .create(
            res("", "configmaps"),
            Some("default"),
            configmap("a"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(created["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert!(
        created["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let got = f
        .registry
        .get(res("", "configmaps"), Some("default"), "a")
        .await
        .unwrap();
    assert_eq!(got, created);
    assert_eq!(
        rv(&got),
        f.registry.store().current_revision().await.unwrap()
    );
    let again = f
        .registry
        .create(
            res("", "configmaps"),
            Some("default"),
            configmap("a"),
            false,
        )
        .await;
    assert_eq!(
        again.unwrap_err().message,
        r#"configmaps "a" already exists"#
    );
}

#[tokio::test]
async fn create_refuses_bad_input_with_upstreams_status() {
    let f = fixture().await;
    let cm = res("", "configmaps");
    let missing_ns = f
        .registry
        .create(cm, Some("nowhere"), configmap("a"), false)
        .await
        .unwrap_err();
    assert_eq!(
        (missing_ns.code, missing_ns.message.as_str()),
        (404, r#"namespaces "nowhere" not found"#)
    );
    let bad_name = f
        .registry
        .create(cm, Some("default"), configmap("Bad_Name"), false)
        .await
        .unwrap_err();
    assert_eq!((bad_name.code, bad_name.reason), (422, "Invalid"));
    assert!(bad_name.message.starts_with(
        r#"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name""#
    ));
    let mut other_ns = configmap("b");
    other_ns["metadata"]["namespace"] = json!("kube-system");
    let mismatch = f
        .registry
        .create(cm, Some("default"), other_ns, false)
        .await
        .unwrap_err();
    assert_eq!(mismatch.code, 400);
    let wrong_kind = f
        .registry
        .create(cm, Some("default"), deployment("d"), false)
        .await
        .unwrap_err();
    assert!(
        wrong_kind
            .message
            .contains("does not match the expected API version"),
        "{wrong_kind}"
    );
    let no_name = f
        .registry
        .create(cm, Some("default"), json!({"metadata": {}}), false)
        .await
        .unwrap_err();
    assert!(no_name.message.contains("name or generateName is required"));
    let list = f
        .registry
        .list(cm, Some("default"), &list_options(""))
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn generate_name_appends_a_random_suffix() {
    let f = fixture().await;
    let body = json!({"metadata": {"generateName": "web-"}, "data": {}});
    let created = f
        .registry
        .create(res("", "configmaps"), Some("default"), body, false)
        .await
        .unwrap();
    let name = created["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
}

#[tokio::test]
async fn a_stale_update_conflicts_and_a_current_one_applies() {
    let f = fixture().await;
    let cm = res("", "configmaps");
    let created = f
        .registry
        .create(cm, Some("default"), configmap("a"), false)
        .await
        .unwrap();
    let mut change = created.clone();
    change["data"]["a"] = json!("2");
    let updated = f
        .registry
        .update(cm, Some("default"), "a", None, change.clone(), false)
        .await
        .unwrap();
    assert!(rv(&updated) > rv(&created));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    let stale = f
        .registry
        .update(cm, Some("default"), "a", None, change, false)
        .await
        .unwrap_err();
    assert_eq!((stale.code, stale.reason), (409, "Conflict"));
    assert!(stale.message.ends_with(ApiError::MODIFIED));
}

#[tokio::test]
async fn spec_changes_bump_generation_and_status_is_its_own_subresource() {
    let f = fixture().await;
    let deploy = res("apps", "deployments");
    let created = f
        .registry
        .create(deploy, Some("default"), deployment("web"), false)
        .await
        .unwrap();
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(
        created.get("status").is_none(),
        "clients cannot set status on create"
    );

    let mut relabel = created.clone();
    relabel["metadata"]["labels"]["extra"] = json!("x");
    relabel["status"] = json!({"replicas": 5});
    let relabelled = f
        .registry
        .update(deploy, Some("default"), "web", None, relabel, false)
        .await
        .unwrap();
    assert_eq!(
        relabelled["metadata"]["generation"], 1,
        "metadata changes keep the generation"
    );
    assert!(
        relabelled.get("status").is_none(),
        "the main resource ignores status"
    );

    let mut status = relabelled.clone();
    status["status"] = json!({"replicas": 2});
    status["spec"]["replicas"] = json!(9);
    let with_status = f
        .registry
        .update(
            deploy,
            Some("default"),
            "web",
            Some("status"),
            status,
            false,
        )
        .await
        .unwrap();
    assert_eq!(with_status["status"]["replicas"], 2);
    assert_eq!(
        with_status["spec"]["replicas"], 1,
        "status updates ignore spec"
    );

    let patch = json!({"spec": {"replicas": 3}}).to_string();
    let scaled = f
        .registry
        .patch(
            deploy,
            Some("default"),
            "web",
            None,
            (PatchType::Merge, patch.as_bytes()),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            scaled["spec"]["replicas"].as_i64(),
            scaled["metadata"]["generation"].as_i64()
        ),
        (Some(3), Some(2))
    );
}

#[tokio::test]
async fn json_patch_applies_and_a_failing_test_op_is_invalid() {
    let f = fixture().await;
    let cm = res("", "configmaps");
    f.registry
        .create(cm, Some("default"), configmap("a"), false)
        .await
        .unwrap();
    let patch = json!([{"op": "add", "path": "/data/b", "value": "2"}]).to_string();
    let patched = f
        .registry
        .patch(
            cm,
            Some("default"),
            "a",
            None,
            (PatchType::Json, patch.as_bytes()),
            false,
        )
        .await
        .unwrap();
    assert_eq!(patched["data"], json!({"a": "1", "b": "2"}));
    let failing = json!([{"op": "test", "path": "/data/a", "value": "nope"}]).to_string();
    let err = f
        .registry
        .patch(
            cm,
            Some("default"),
            "a",
            None,
            (PatchType::Json, failing.as_bytes()),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 422);
}

#[tokio::test]
async fn finalizers_hold_a_deleted_object_until_the_last_one_is_removed() {
    let f = fixture().await;
    let cm = res("", "configmaps");
    let mut body = configmap("held");
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    f.registry
        .create(cm, Some("default"), body, false)
        .await
        .unwrap();
    let marked = f
        .registry
        .delete(
            cm,
            Some("default"),
            "held",
            &DeleteOptions::default(),
            false,
        )
        .await
        .unwrap();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    let still = f.registry.get(cm, Some("default"), "held").await.unwrap();
    let patch = json!({"metadata": {"finalizers": null}}).to_string();
    f.registry
        .patch(
            cm,
            Some("default"),
            "held",
            None,
            (PatchType::Merge, patch.as_bytes()),
            false,
        )
        .await
        .unwrap();
    let gone = f
        .registry
        .get(cm, Some("default"), "held")
        .await
        .unwrap_err();
    assert_eq!(
        gone.code, 404,
        "removing the last finalizer finishes the deletion of {still}"
    );
}

#[tokio::test]
async fn delete_preconditions_and_dry_run_leave_the_object_alone() {
    let f = fixture().await;
    let cm = res("", "configmaps");
    f.registry
        .create(cm, Some("default"), configmap("a"), false)
        .await
        .unwrap();
    let wrong_uid = DeleteOptions {
        uid: Some("other".into()),
        ..DeleteOptions::default()
    };
    let err = f
        .registry
        .delete(cm, Some("default"), "a", &wrong_uid, false)
        .await
        .unwrap_err();
    assert!(
        err.message
            .contains("Precondition failed: UID in precondition: other"),
        "{err}"
    );
    let status = f
        .registry
        .delete(cm, Some("default"), "a", &DeleteOptions::default(), true)
        .await
        .unwrap();
    assert_eq!(status["status"], "Success");
    f.registry.get(cm, Some("default"), "a").await.unwrap();
    f.registry
        .delete(cm, Some("default"), "a", &DeleteOptions::default(), false)
        .await
        .unwrap();
    assert_eq!(
        f.registry
            .get(cm, Some("default"), "a")
            .await
            .unwrap_err()
            .code,
        404
    );
}

#[tokio::test]
async fn lists_filter_by_selectors_and_page_at_one_revision() {
    let f = fixture().await;
    let cm = res("", "configmaps");
    for i in 0..5 {
        let mut body = configmap(&format!("cm{i}"));
        body["metadata"]["labels"] = json!({"parity": if i % 2 == 0 { "even" } else { "odd" }});
        f.registry
            .create(cm, Some("default"), body, false)
            .await
            .unwrap();
    }
    let even = f
        .registry
        .list(
            cm,
            Some("default"),
            &list_options("labelSelector=parity%3Deven"),
        )
        .await
        .unwrap();
    assert_eq!(even["items"].as_array().unwrap().len(), 3);
    assert_eq!(even["kind"], "ConfigMapList");
    let named = f
        .registry
        .list(cm, None, &list_options("fieldSelector=metadata.name%3Dcm1"))
        .await
        .unwrap();
    assert_eq!(named["items"][0]["metadata"]["name"], "cm1");

    let first = f
        .registry
        .list(cm, Some("default"), &list_options("limit=2"))
        .await
        .unwrap();
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    f.registry
        .create(cm, Some("default"), configmap("cm9"), false)
        .await
        .unwrap();
    let mut names: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned()),
        );
        let Some(token) = page["metadata"]["continue"].as_str() else {
            break;
        };
        page = f
            .registry
            .list(
                cm,
                Some("default"),
                &list_options(&format!("limit=2&continue={token}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        names,
        ["cm0", "cm1", "cm2", "cm3", "cm4"],
        "later writes do not leak into the pages"
    );
}

#[tokio::test]
async fn unsupported_field_selectors_are_a_bad_request() {
    let err = ListOptions::parse(
        res("", "configmaps"),
        &Query::parse(Some("fieldSelector=spec.nodeName%3Dx")),
    )
    .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "field label not supported: spec.nodeName")
    );
    ListOptions::parse(
        res("", "pods"),
        &Query::parse(Some("fieldSelector=spec.nodeName%3Dx")),
    )
    .unwrap();
}

#[tokio::test]
async fn scale_reads_and_writes_spec_replicas() {
    let f = fixture().await;
    let deploy = res("apps", "deployments");
    f.registry
        .create(deploy, Some("default"), deployment("web"), false)
        .await
        .unwrap();
    let scale = f
        .registry
        .get_scale(deploy, Some("default"), "web")
        .await
        .unwrap();
    assert_eq!(
        (scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()),
        (Some("Scale"), Some(1))
    );
    assert_eq!(scale["status"]["selector"], "app=web");
    let patch = json!({"spec": {"replicas": 4}});
    let scaled = f
        .registry
        .write_scale(
            deploy,
            Some("default"),
            "web",
            ScaleChange::Patch(PatchType::Merge, &patch),
            false,
        )
        .await
        .unwrap();
    assert_eq!(scaled["spec"]["replicas"], 4);
    let object = f
        .registry
        .get(deploy, Some("default"), "web")
        .await
        .unwrap();
    assert_eq!(
        (
            object["spec"]["replicas"].as_i64(),
            object["metadata"]["generation"].as_i64()
        ),
        (Some(4), Some(2))
    );
}

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_service_creates_never_share_an_address() {
    let f = fixture().await;
    let svc = res("", "services");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let registry = f.registry.clone();
            tokio::spawn(async move {
                let body = service(
                    &format!("s{i}"),
                    json!({"type": "NodePort", "ports": [{"port": 80}]}),
                );
                registry.create(svc, Some("default"), body, false).await
            })
        })
        .collect();
    let mut ips = std::collections::BTreeSet::new();
    let mut ports = std::collections::BTreeSet::new();
    for task in tasks {
        let created = task.await.unwrap().unwrap();
        assert!(
            ips.insert(created["spec"]["clusterIP"].as_str().unwrap().to_owned()),
            "an IP was handed out twice"
        );
        assert!(
            ports.insert(created["spec"]["ports"][0]["nodePort"].as_i64().unwrap()),
            "a node port was handed out twice"
        );
    }
    let kubernetes = f
        .registry
        .get(svc, Some("default"), "kubernetes")
        .await
        .unwrap();
    assert_eq!(kubernetes["spec"]["clusterIP"], "10.43.0.1");
    assert!(!ips.contains("10.43.0.1"));
}

#[tokio::test]
async fn a_requested_address_is_held_until_its_service_is_deleted() {
    let f = fixture().await;
    let svc = res("", "services");
    f.registry
        .create(
            svc,
            Some("default"),
            service("a", json!({"clusterIP": "10.43.0.50"})),
            false,
        )
        .await
        .unwrap();
    let taken = f
        .registry
        .create(
            svc,
            Some("default"),
            service("b", json!({"clusterIP": "10.43.0.50"})),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(taken.code, 422);
    assert!(
        taken.message.contains("provided IP is already allocated"),
        "{taken}"
    );
    // A restarted API server sees the same allocations: they live in the store.
    let restarted = Registry::new(
        Arc::clone(f.registry.store()),
        crate::allocator::Ranges::default(),
    );
    assert!(
        restarted
            .create(
                svc,
                Some("default"),
                service("b", json!({"clusterIP": "10.43.0.50"})),
                false
            )
            .await
            .is_err()
    );
    f.registry
        .delete(svc, Some("default"), "a", &DeleteOptions::default(), false)
        .await
        .unwrap();
    let reused = restarted
        .create(
            svc,
            Some("default"),
            service("b", json!({"clusterIP": "10.43.0.50"})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(reused["spec"]["clusterIP"], "10.43.0.50");
}

#[tokio::test]
async fn changing_a_service_type_takes_and_releases_node_ports() {
    let f = fixture().await;
    let svc = res("", "services");
    let created = f
        .registry
        .create(
            svc,
            Some("default"),
            service(
                "np",
                json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}),
            ),
            false,
        )
        .await
        .unwrap();
    let mut to_cluster_ip = created.clone();
    to_cluster_ip["spec"]["type"] = json!("ClusterIP");
    let updated = f
        .registry
        .update(svc, Some("default"), "np", None, to_cluster_ip, false)
        .await
        .unwrap();
    assert!(updated["spec"]["ports"][0].get("nodePort").is_none());
    assert_eq!(
        updated["spec"]["clusterIP"], created["spec"]["clusterIP"],
        "the address is kept"
    );
    let other = service(
        "other",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}),
    );
    f.registry
        .create(svc, Some("default"), other, false)
        .await
        .expect("the released node port is free again");
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "c", "image": "i"}]}})
}

#[tokio::test]
async fn a_binding_assigns_a_node_once_and_marks_the_pod_scheduled() {
    let f = fixture().await;
    let pods = res("", "pods");
    f.registry
        .create(pods, Some("default"), pod("p"), false)
        .await
        .unwrap();
    let binding = json!({"metadata": {"name": "p", "annotations": {"a": "b"}}, "target": {"kind": "Node", "name": "n1"}});
    let status = f
        .registry
        .bind(pods, Some("default"), "p", &binding, false)
        .await
        .unwrap();
    assert_eq!(status["status"], "Success");
    let bound = f.registry.get(pods, Some("default"), "p").await.unwrap();
    assert_eq!(bound["spec"]["nodeName"], "n1");
    assert_eq!(bound["metadata"]["annotations"]["a"], "b");
    let conditions = bound["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "PodScheduled" && c["status"] == "True")
    );
    let again = f
        .registry
        .bind(pods, Some("default"), "p", &binding, false)
        .await
        .unwrap_err();
    assert_eq!(again.code, 409);
    assert!(
        again
            .message
            .contains(r#"is already assigned to node "n1""#),
        "{again}"
    );
}

#[tokio::test]
async fn a_bound_pod_is_deleted_gracefully_and_an_unbound_one_at_once() {
    let f = fixture().await;
    let pods = res("", "pods");
    f.registry
        .create(pods, Some("default"), pod("unbound"), false)
        .await
        .unwrap();
    f.registry
        .delete(
            pods,
            Some("default"),
            "unbound",
            &DeleteOptions::default(),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        f.registry
            .get(pods, Some("default"), "unbound")
            .await
            .unwrap_err()
            .code,
        404
    );

    f.registry
        .create(pods, Some("default"), pod("bound"), false)
        .await
        .unwrap();
    let binding = json!({"target": {"name": "n1"}});
    f.registry
        .bind(pods, Some("default"), "bound", &binding, false)
        .await
        .unwrap();
    let marked = f
        .registry
        .delete(
            pods,
            Some("default"),
            "bound",
            &DeleteOptions::default(),
            false,
        )
        .await
        .unwrap();
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
    // Its node reporting status meanwhile does not finish the deletion.
    let mut status = marked.clone();
    status["status"]["phase"] = json!("Running");
    f.registry
        .update(
            pods,
            Some("default"),
            "bound",
            Some("status"),
            status,
            false,
        )
        .await
        .unwrap();
    let still = f
        .registry
        .get(pods, Some("default"), "bound")
        .await
        .unwrap();
    assert_eq!(still["status"]["phase"], "Running");
    let now = DeleteOptions {
        grace_period_seconds: Some(0),
        ..DeleteOptions::default()
    };
    f.registry
        .delete(pods, Some("default"), "bound", &now, false)
        .await
        .unwrap();
    assert_eq!(
        f.registry
            .get(pods, Some("default"), "bound")
            .await
            .unwrap_err()
            .code,
        404
    );
}

#[tokio::test]
async fn a_namespace_terminates_until_its_finalizers_are_cleared() {
    let f = fixture().await;
    let namespaces = res("", "namespaces");
    let body = json!({"metadata": {"name": "going"}, "spec": {"finalizers": ["kubernetes"]}});
    f.registry
        .create(namespaces, None, body, false)
        .await
        .unwrap();
    let marked = f
        .registry
        .delete(namespaces, None, "going", &DeleteOptions::default(), false)
        .await
        .unwrap();
    assert_eq!(marked["status"]["phase"], "Terminating");
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    let refused = f
        .registry
        .create(
            res("", "configmaps"),
            Some("going"),
            configmap("late"),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains("because it is being terminated"),
        "{refused}"
    );
    let finalize = json!({"metadata": {"name": "going"}, "spec": {"finalizers": []}});
    f.registry
        .update(namespaces, None, "going", Some("finalize"), finalize, false)
        .await
        .unwrap();
    assert_eq!(
        f.registry
            .get(namespaces, None, "going")
            .await
            .unwrap_err()
            .code,
        404
    );
}

#[tokio::test]
async fn an_event_written_through_either_api_is_read_through_both() {
    let f = fixture().await;
    let core = res("", "events");
    let modern = catalogue::find("events.k8s.io", "v1", "events").unwrap();
    let body = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web"}, "note": "Pulled image",
        "reason": "Pulled", "type": "Normal", "action": "Pull", "reportingController": "kubelet",
        "reportingInstance": "node-1", "eventTime": "2026-11-22T10:00:00.000000Z"});
    f.registry
        .create(modern, Some("default"), body, false)
        .await
        .unwrap();
    let as_core = f.registry.get(core, Some("default"), "e1").await.unwrap();
    assert_eq!(
        (as_core["apiVersion"].as_str(), as_core["message"].as_str()),
        (Some("v1"), Some("Pulled image"))
    );
    assert_eq!(as_core["involvedObject"]["name"], "web");
    let by_object = f
        .registry
        .list(
            core,
            Some("default"),
            &ListOptions::parse(
                core,
                &Query::parse(Some("fieldSelector=involvedObject.name%3Dweb")),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        by_object["items"].as_array().unwrap().len(),
        1,
        "kubectl describe finds it"
    );
    let as_modern = f.registry.get(modern, Some("default"), "e1").await.unwrap();
    assert_eq!(
        (as_modern["apiVersion"].as_str(), as_modern["note"].as_str()),
        (Some("events.k8s.io/v1"), Some("Pulled image"))
    );
    assert!(as_modern.get("message").is_none());
}

#[tokio::test]
async fn both_hpa_versions_see_the_same_objects() {
    let f = fixture().await;
    let v1 = catalogue::find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
    let v2 = catalogue::find("autoscaling", "v2", "horizontalpodautoscalers").unwrap();
    let body = json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}});
    f.registry
        .create(v1, Some("default"), body, false)
        .await
        .unwrap();
    let as_v2 = f.registry.get(v2, Some("default"), "h").await.unwrap();
    assert_eq!(
        as_v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        60
    );
    let listed = f
        .registry
        .list(v2, Some("default"), &list_options(""))
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_claim_starts_pending() {
    let f = fixture().await;
    let body = json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}});
    let pvc = f
        .registry
        .create(
            res("", "persistentvolumeclaims"),
            Some("default"),
            body,
            false,
        )
        .await
        .unwrap();
    assert_eq!(pvc["status"]["phase"], "Pending");
}

#[tokio::test]
async fn priority_admission_resolves_classes_into_numbers() {
    let f = fixture().await;
    let (pods, classes) = (res("", "pods"), res("scheduling.k8s.io", "priorityclasses"));
    let no_class = f
        .registry
        .create(pods, Some("default"), pod("plain"), false)
        .await
        .unwrap();
    assert_eq!(no_class["spec"]["priority"], 0);
    assert_eq!(no_class["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert!(no_class["spec"]["priorityClassName"].is_null());

    let mut critical = pod("critical");
    critical["spec"]["priorityClassName"] = json!("system-node-critical");
    let critical = f
        .registry
        .create(pods, Some("default"), critical, false)
        .await
        .unwrap();
    assert_eq!(critical["spec"]["priority"], 2_000_001_000);

    let mut unknown = pod("unknown");
    unknown["spec"]["priorityClassName"] = json!("nope");
    let error = f
        .registry
        .create(pods, Some("default"), unknown, false)
        .await
        .unwrap_err();
    assert_eq!(error.code, 403);
    assert_eq!(
        error.message,
        r#"pods "unknown" is forbidden: no PriorityClass with name nope was found"#
    );

    let class = |name: &str, value: i64, default: bool| {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
               "metadata": {"name": name}, "value": value, "globalDefault": default,
               "preemptionPolicy": "Never"})
    };
    f.registry
        .create(classes, None, class("batch", 100, true), false)
        .await
        .unwrap();
    let second = f
        .registry
        .create(classes, None, class("other", 5, true), false)
        .await
        .unwrap_err();
    assert_eq!(second.code, 403);
    assert!(
        second
            .message
            .contains("PriorityClass batch is already marked as default")
    );

    let defaulted = f
        .registry
        .create(pods, Some("default"), pod("defaulted"), false)
        .await
        .unwrap();
    assert_eq!(defaulted["spec"]["priorityClassName"], "batch");
    assert_eq!(defaulted["spec"]["priority"], 100);
    assert_eq!(defaulted["spec"]["preemptionPolicy"], "Never");

    for (name, value, field) in [
        ("system-mine", 5, "metadata.name"),
        ("system-node-critical-2", 2_000_001_000, "metadata.name"),
        ("huge", 2_000_000_000, "value"),
    ] {
        let error = f
            .registry
            .create(classes, None, class(name, value, false), false)
            .await
            .unwrap_err();
        assert_eq!(
            (error.code, error.reason),
            (422, "Invalid"),
            "{name}: {error}"
        );
        assert!(error.message.contains(field), "{name}: {error}");
    }

    let mut lying = pod("lying");
    lying["spec"]["priority"] = json!(7);
    let error = f
        .registry
        .create(pods, Some("default"), lying, false)
        .await
        .unwrap_err();
    assert_eq!(error.code, 403);
    assert!(
        error
            .message
            .contains("the integer value of priority (7) must not be provided"),
        "{error}"
    );
}
