//! End to end with kube-rs, the client every other Gantry component will use: a `watcher` +
//! `reflector` over pods (list-then-watch, and the streaming-list form with
//! `sendInitialEvents`) sees every change, and `Api<Deployment>` CRUD with upstream's
//! defaults, scale and error statuses, against `gantry server` configured from the admin
//! kubeconfig it wrote.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::kube::client;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::time::Duration;

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "kube-rs"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .unwrap()
}

/// Starts a reflector over the pods of `namespace` and returns its reader; the stream is
/// driven by a spawned task for as long as the runtime lives.
fn reflect_pods(client: Client, namespace: &str, config: watcher::Config) -> Store<Pod> {
    let (reader, writer) = reflector::store();
    let stream = reflector(
        writer,
        watcher(Api::<Pod>::namespaced(client, namespace), config),
    )
    .default_backoff()
    .applied_objects();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                eprintln!("watcher error: {error}");
            }
        }
    });
    reader
}

/// Waits (up to 20 s) until the reflector's view satisfies `done`; the view is printed on
/// failure.
async fn wait_for(reader: &Store<Pod>, what: &str, done: impl Fn(&Store<Pod>) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(reader) {
        if tokio::time::Instant::now() > deadline {
            let view: Vec<_> = reader
                .state()
                .iter()
                .map(|p| (p.metadata.name.clone(), p.metadata.labels.clone()))
                .collect();
            panic!("the reflector never saw {what}; it holds {view:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(reader: &Store<Pod>) -> Vec<String> {
    let mut names: Vec<String> = reader
        .state()
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    names
}

fn label_of(reader: &Store<Pod>, name: &str) -> Option<String> {
    reader
        .state()
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .and_then(|p| p.metadata.labels.as_ref()?.get("tier").cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflector_over_pods_sees_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = client(&server).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // One pod exists before the reflectors start: it must arrive in their initial list.
    pods.create(&PostParams::default(), &pod("before"))
        .await
        .unwrap();
    let listing = reflect_pods(client.clone(), "default", watcher::Config::default());
    let streaming = reflect_pods(
        client.clone(),
        "default",
        watcher::Config::default().streaming_lists(),
    );
    for reader in [&listing, &streaming] {
        tokio::time::timeout(Duration::from_secs(20), reader.wait_until_ready())
            .await
            .expect("the initial list completes")
            .unwrap();
        wait_for(reader, "the pod created before it started", |r| {
            names(r) == ["before"]
        })
        .await;
    }

    for name in ["one", "two", "three"] {
        pods.create(&PostParams::default(), &pod(name))
            .await
            .unwrap();
    }
    pods.patch(
        "two",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "gold"}}})),
    )
    .await
    .unwrap();
    // A pod that was never scheduled is deleted at once, without a grace period.
    pods.delete("before", &DeleteParams::default())
        .await
        .unwrap();
    pods.delete("three", &DeleteParams::default())
        .await
        .unwrap();

    for reader in [&listing, &streaming] {
        wait_for(reader, "the creates, the patch and the deletes", |r| {
            names(r) == ["one", "two"] && label_of(r, "two").as_deref() == Some("gold")
        })
        .await;
    }
    server.stop();
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "busybox:1.36"}]}
            }
        }
    }))
    .unwrap()
}

/// The `Status` a failed call carried: (code, reason).
fn status_of(error: kube::Error) -> (u16, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.reason.clone()),
        other => panic!("expected an API status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_crud_through_the_typed_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = client(&server).await;
    let deployments: Api<Deployment> = Api::namespaced(client, "default");

    let created = deployments
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    let spec = created.spec.as_ref().unwrap();
    assert_eq!(spec.revision_history_limit, Some(10));
    assert_eq!(spec.progress_deadline_seconds, Some(600));
    let rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .unwrap();
    assert_eq!(
        rolling.max_surge,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("25%".into()))
    );
    assert_eq!(created.metadata.generation, Some(1));

    let (code, reason) = status_of(
        deployments
            .create(&PostParams::default(), &deployment("web", 1))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));

    // Replace with the version just read; then a replace with the stale version conflicts.
    let mut current = deployments.get("web").await.unwrap();
    let stale = current.clone();
    current.spec.as_mut().unwrap().replicas = Some(3);
    let replaced = deployments
        .replace("web", &PostParams::default(), &current)
        .await
        .unwrap();
    assert_eq!(replaced.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(replaced.metadata.generation, Some(2));
    let (code, reason) = status_of(
        deployments
            .replace("web", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));

    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        patched
            .metadata
            .labels
            .unwrap()
            .get("tier")
            .map(String::as_str),
        Some("front")
    );

    let scale = deployments.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(3));
    deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let scaled = deployments.get("web").await.unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(5));

    deployments
        .create(&PostParams::default(), &deployment("api", 1))
        .await
        .unwrap();
    let front = deployments
        .list(&ListParams::default().labels("tier=front"))
        .await
        .unwrap();
    let listed: Vec<_> = front
        .items
        .iter()
        .filter_map(|d| d.metadata.name.as_deref())
        .collect();
    assert_eq!(listed, ["web"]);

    deployments
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    let (code, reason) = status_of(deployments.get("web").await.unwrap_err());
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    let remaining = deployments.list(&ListParams::default()).await.unwrap();
    assert_eq!(remaining.items.len(), 1);
    server.stop();
}
