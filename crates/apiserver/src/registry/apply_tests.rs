//! Server-side apply through the registry: a property over generated manifests (applying any
//! sequence, then the last one again, leaves exactly what applying the last one to a fresh
//! object gives, for the fields the manifests set), and the refusals of bad configurations.

use super::Registry;
use crate::field_manager;
use crate::status::ApiError;
use gantry_api::catalogue;
use gantry_api::catalogue::Resource;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn deployments() -> &'static Resource {
    catalogue::find("apps", "v1", "deployments").unwrap()
}

async fn registry(dir: &std::path::Path) -> Registry {
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir)).unwrap();
    let registry = Registry::new(Arc::new(store), crate::allocator::Ranges::default());
    crate::bootstrap::ensure(&registry, &crate::allocator::Ranges::default())
        .await
        .unwrap();
    registry
}

async fn apply(
    registry: &Registry,
    name: &str,
    manifest: &Value,
) -> Result<(Value, u16), ApiError> {
    let mut config = manifest.clone();
    config["metadata"]["name"] = json!(name);
    let body = serde_json::to_vec(&config).unwrap();
    let work = registry.apply(
        deployments(),
        Some("default"),
        name,
        None,
        &body,
        false,
        false,
    );
    field_manager::scoped("prop".into(), None, work).await
}

/// One container of a generated manifest.
fn container(name: &'static str) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["x:1", "x:2"]),
        prop::sample::subsequence(vec![80, 443, 8080], 0..=3),
        prop::sample::subsequence(vec!["A", "B", "C"], 0..=3),
        prop::option::of(prop::sample::subsequence(vec!["-v", "-q"], 0..=2)),
        any::<bool>(),
    )
        .prop_map(move |(image, ports, env, args, named)| {
            let mut c = json!({"name": name, "image": image});
            if !ports.is_empty() {
                let ports: Vec<Value> = ports
                    .iter()
                    .map(|p| match named {
                        true => json!({"containerPort": p, "name": format!("p{p}")}),
                        false => json!({"containerPort": p}),
                    })
                    .collect();
                c["ports"] = json!(ports);
            }
            if !env.is_empty() {
                let env: Vec<Value> = env
                    .iter()
                    .map(|e| json!({"name": e, "value": image}))
                    .collect();
                c["env"] = json!(env);
            }
            if let Some(args) = args {
                c["args"] = json!(args);
            }
            c
        })
}

fn manifest() -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), prop::sample::select(vec!["1", "2"]), 0..3),
        prop::option::of(1..5i64),
        prop::option::of(prop::sample::select(vec!["Recreate", "RollingUpdate"])),
        container("main"),
        prop::option::of(container("side")),
        prop::option::of(container("log")),
        any::<bool>(),
    )
        .prop_map(|(labels, replicas, strategy, main, side, log, side_first)| {
            let mut containers = vec![main];
            containers.extend(side);
            containers.extend(log);
            if side_first {
                containers.reverse();
            }
            let mut spec = json!({
                "selector": {"matchLabels": {"app": "p"}},
                "template": {"metadata": {"labels": {"app": "p"}}, "spec": {"containers": containers}},
            });
            if let Some(replicas) = replicas {
                spec["replicas"] = json!(replicas);
            }
            if let Some(kind) = strategy {
                spec["strategy"] = json!({"type": kind});
            }
            let mut metadata = json!({});
            if !labels.is_empty() {
                metadata["labels"] = json!(labels);
            }
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec})
        })
}

/// The key of a keyed-list element in these manifests.
fn element_key(item: &Value) -> Option<&Value> {
    item.get("name").or_else(|| item.get("containerPort"))
}

/// `object` seen through `manifest`: the values at the manifest's fields, and for keyed lists
/// the keys the object has (so that an element left over from an earlier manifest shows).
fn project(object: &Value, manifest: &Value) -> Value {
    match (object, manifest) {
        (Value::Object(have), Value::Object(want)) => {
            let mut out = Map::new();
            for (key, sub) in want {
                let value = have.get(key).map_or(Value::Null, |v| project(v, sub));
                out.insert(key.clone(), value);
            }
            Value::Object(out)
        }
        (Value::Array(have), Value::Array(want))
            if want
                .iter()
                .all(|w| element_key(w).is_some() && w.is_object()) =>
        {
            let keys: Vec<Value> = have.iter().filter_map(element_key).cloned().collect();
            let items: Vec<Value> = want
                .iter()
                .map(|w| {
                    have.iter()
                        .find(|h| element_key(h) == element_key(w))
                        .map_or(Value::Null, |h| project(h, w))
                })
                .collect();
            json!({"keys": keys, "items": items})
        }
        (have, _) => have.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reapplying_the_last_manifest_equals_applying_it_fresh(sequence in prop::collection::vec(manifest(), 1..5)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let registry = registry(dir.path()).await;
            for manifest in &sequence {
                apply(&registry, "seq", manifest).await.unwrap();
            }
            let last = sequence.last().unwrap();
            let (reapplied, code) = apply(&registry, "seq", last).await.unwrap();
            assert_eq!(code, 200);
            let (fresh, code) = apply(&registry, "fresh", last).await.unwrap();
            assert_eq!(code, 201);
            let (a, b) = (project(&reapplied, last), project(&fresh, last));
            assert_eq!(a, b, "after {sequence:#?}");
            // Labels an earlier manifest set and the last does not are gone too.
            assert_eq!(reapplied["metadata"].get("labels"), fresh["metadata"].get("labels"));
            // The one manager owns the same fields either way.
            let owned = |o: &Value| o["metadata"]["managedFields"][0]["fieldsV1"].clone();
            assert_eq!(owned(&reapplied), owned(&fresh));
        });
    }
}

#[tokio::test]
async fn an_apply_claims_neither_the_status_nor_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path()).await;
    let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {},
        "spec": {"bogus": 1, "selector": {"matchLabels": {"app": "p"}},
            "template": {"metadata": {"labels": {"app": "p"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}},
        "status": {"replicas": 9}});
    let (object, code) = apply(&registry, "d", &manifest).await.unwrap();
    assert_eq!(code, 201);
    assert!(object["spec"].get("bogus").is_none());
    let owned = &object["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(owned.get("f:status").is_none(), "{owned}");
    assert!(owned["f:spec"].get("f:bogus").is_none(), "{owned}");
}

#[tokio::test]
async fn bad_configurations_are_refused_as_upstream_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path()).await;
    let base = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {},
        "spec": {"selector": {"matchLabels": {"app": "p"}},
            "template": {"metadata": {"labels": {"app": "p"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    let mut wrong_kind = base.clone();
    wrong_kind["kind"] = json!("StatefulSet");
    let e = apply(&registry, "d", &wrong_kind).await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "invalid object type: apps/v1, Kind=StatefulSet")
    );
    let mut with_fields = base.clone();
    with_fields["metadata"]["managedFields"] = json!([]);
    let e = apply(&registry, "d", &with_fields).await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "metadata.managedFields must be nil")
    );
    let mut twice = base.clone();
    twice["spec"]["template"]["spec"]["containers"] =
        json!([{"name": "c", "image": "x"}, {"name": "c", "image": "y"}]);
    let e = apply(&registry, "d", &twice).await.unwrap_err();
    assert!(
        e.message
            .ends_with(".spec.template.spec.containers: duplicate entries for key [name=\"c\"]"),
        "{}",
        e.message
    );
    let body = serde_json::to_vec(
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"}}),
    )
    .unwrap();
    let work = registry.apply(
        deployments(),
        Some("default"),
        "d",
        None,
        &body,
        false,
        false,
    );
    let e = field_manager::scoped("prop".into(), None, work)
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        "the name of the object (other) does not match the name on the URL (d)"
    );
}
