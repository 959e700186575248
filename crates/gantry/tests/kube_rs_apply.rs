//! kube-rs writes beyond CRUD: server-side apply through `Patch::Apply` (create, conflict,
//! force, managed fields), JSON and strategic merge patches on a built-in kind, and a
//! `#[derive(CustomResource)]` type whose generated definition is applied and whose objects
//! round-trip unchanged through the API server.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::kube::client;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

fn status_of(error: kube::Error) -> (u16, String, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.reason, status.message),
        other => panic!("expected an API error, got {other}"),
    }
}

/// A kind defined in Rust, as operators define theirs.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "gantry.example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wd"
)]
pub struct WidgetSpec {
    size: i64,
    color: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// The status of a widget.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct WidgetStatus {
    ready: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_and_patches_through_kube_rs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let configmaps: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    let config = |data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data});

    let created = configmaps
        .patch(
            "cfg",
            &PatchParams::apply("team-a"),
            &Patch::Apply(config(json!({"a": "1"}))),
        )
        .await
        .unwrap();
    let fields = created.metadata.managed_fields.clone().unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].manager.as_deref(), Some("team-a"));
    assert_eq!(fields[0].operation.as_deref(), Some("Apply"));

    let (code, reason, message) = status_of(
        configmaps
            .patch(
                "cfg",
                &PatchParams::apply("team-b"),
                &Patch::Apply(config(json!({"a": "2"}))),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Apply failed with 1 conflict: conflict with \"team-a\": .data.a"
    );
    let forced = configmaps
        .patch(
            "cfg",
            &PatchParams::apply("team-b").force(),
            &Patch::Apply(config(json!({"a": "2", "b": "x"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap().get("a").map(String::as_str), Some("2"));

    // JSON patch and strategic merge on the same object, recorded under kube-rs's name.
    configmaps
        .patch(
            "cfg",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "add", "path": "/data/c", "value": "3"}]))
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    let patched = configmaps
        .patch(
            "cfg",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"d": "4"}})),
        )
        .await
        .unwrap();
    let data = patched.data.clone().unwrap();
    assert_eq!(
        data.keys().map(String::as_str).collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
    let managers: Vec<String> = patched
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .map(|e| e.manager.clone().unwrap())
        .collect();
    assert_eq!(managers.len(), 2, "{managers:?}");
    assert!(managers.contains(&"team-b".to_owned()), "{managers:?}");
    assert!(
        !managers.contains(&"team-a".to_owned()),
        "team-a lost its only field: {managers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_custom_resource_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = client(&server).await;
    let definitions: Api<CustomResourceDefinition> = Api::all(client.clone());
    definitions
        .patch(
            "widgets.gantry.example.com",
            &PatchParams::apply("widget-operator"),
            &Patch::Apply(Widget::crd()),
        )
        .await
        .unwrap();
    // Usable once established.
    let established = async {
        loop {
            let crd = definitions.get("widgets.gantry.example.com").await.unwrap();
            let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
            if conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), established)
        .await
        .unwrap();

    let widgets: Api<Widget> = Api::namespaced(client, "default");
    let mut widget = Widget::new(
        "w1",
        WidgetSpec {
            size: 3,
            color: Some("red".into()),
            tags: vec!["a".into(), "b".into()],
        },
    );
    let created = widgets
        .create(&PostParams::default(), &widget)
        .await
        .unwrap();
    assert_eq!(created.spec, widget.spec);
    assert!(created.metadata.uid.is_some());
    let read = widgets.get("w1").await.unwrap();
    assert_eq!(read.spec, widget.spec);
    assert_eq!(read.name_any(), "w1");

    // The status subresource the derive declared, and an apply of the typed object.
    let status = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .unwrap();
    assert_eq!(status.status, Some(WidgetStatus { ready: true }));
    widget.spec.size = 5;
    widget.metadata.managed_fields = None;
    let applied = widgets
        .patch(
            "w1",
            &PatchParams::apply("widget-operator").force(),
            &Patch::Apply(&widget),
        )
        .await
        .unwrap();
    assert_eq!(applied.spec.size, 5);
    assert_eq!(
        applied.status,
        Some(WidgetStatus { ready: true }),
        "apply leaves the status alone"
    );

    // Schema violations are refused with the field path.
    let (code, _, message) = status_of(
        widgets
            .patch(
                "w1",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": "big"}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 422);
    assert!(message.contains("spec.size"), "{message}");
}
