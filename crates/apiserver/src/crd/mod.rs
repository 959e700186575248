//! CustomResourceDefinitions served live, as upstream's apiextensions server: each definition
//! in the store registers its served versions with the catalogue (`gantry_api::custom`), so
//! that discovery lists them and the same generic registry serves their objects — stored once
//! under `/registry/<group>/<plural>/`, whatever version a client reads or writes (conversion
//! `None`: only `apiVersion` changes). A follower task watches the definitions in the store (so
//! every API server of a cluster sees every change), reports `NamesAccepted` and `Established`,
//! and on deletion removes every object of the definition before letting it go (the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer).
//!
//! Each served version's schema prunes, defaults and validates the objects written in it
//! (`admission`), and its `additionalPrinterColumns` make its Tables (`served`).
//!
//! `subresources.scale` gives it a `Scale` (`registry::scale`).
//!
//! The schemas also go into the OpenAPI v3 documents (`openapi`), for `kubectl explain`.
//!
//! Not yet: conversion webhooks, CEL validation rules.

pub mod admission;
pub mod served;

pub use admission::{admit, admit_object};

use crate::meta;
use crate::registry::{Registry, decode, prefix};
use crate::status::ApiError;
use futures::StreamExt;
use gantry_api::catalogue::{self, Resource};
use gantry_api::custom;
use gantry_store::{Event, EventKind, RangeRequest, Txn, WatchRequest, WatchResponse};
use serde_json::{Value, json};
use std::time::Duration;

/// Holds a deleted definition until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn definitions() -> Result<&'static Resource, ApiError> {
    catalogue::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("the catalogue has no customresourcedefinitions"))
}

pub(crate) fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn strings(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The status a served definition reports.
fn wanted_status(crd: &Value) -> Value {
    let now = meta::now_rfc3339();
    let existing = crd.pointer("/status/conditions").and_then(Value::as_array);
    let since = |kind: &str| {
        existing
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind && c["status"] == "True")
            .map_or_else(|| json!(now), |c| c["lastTransitionTime"].clone())
    };
    let mut stored = strings(crd, "/status/storedVersions");
    for v in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = text(v, "/name").to_owned();
        if v["storage"].as_bool() == Some(true) && !stored.contains(&name) {
            stored.push(name);
        }
    }
    json!({
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": since("Established")},
        ],
        "acceptedNames": crd["spec"]["names"],
        "storedVersions": stored,
    })
}

/// Brings the catalogue and the definition's status in line with the definition.
async fn sync(registry: &Registry, crd: Value) -> Result<(), ApiError> {
    let group = text(&crd, "/spec/group").to_owned();
    let plural = text(&crd, "/spec/names/plural").to_owned();
    let name = meta::meta_str(&crd, "name").unwrap_or_default().to_owned();
    if meta::meta_str(&crd, "deletionTimestamp").is_some() {
        return clean_up(registry, &crd, &group, &plural, &name).await;
    }
    served::define(&group, &plural, &crd);
    let status = wanted_status(&crd);
    if crd.get("status") != Some(&status) {
        let mut updated = crd;
        updated["status"] = status;
        // A conflict means a newer definition is on its way through the watch.
        match registry
            .update(definitions()?, None, &name, Some("status"), updated, false)
            .await
        {
            Ok(_) => {}
            Err(e) if e.code == 409 || e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A deleted definition: its objects go, then its finalizer, then its resources.
async fn clean_up(
    registry: &Registry,
    crd: &Value,
    group: &str,
    plural: &str,
    name: &str,
) -> Result<(), ApiError> {
    let finalizers = meta::finalizers(crd);
    if !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(());
    }
    // The objects' prefix is the same for every version.
    if let Some(resource) = catalogue::in_group_version(group, text(crd, "/spec/versions/0/name"))
        .find(|r| r.plural == plural)
        .or_else(|| {
            custom::all()
                .into_iter()
                .find(|r| r.group == group && r.plural == plural)
        })
    {
        let objects = prefix(resource, None);
        loop {
            let page = registry
                .store()
                .range(RangeRequest::prefix(objects.clone()).with_limit(100))
                .await?;
            if page.kvs.is_empty() {
                break;
            }
            let txn = page
                .kvs
                .iter()
                .fold(Txn::new(), |txn, kv| txn.delete(kv.key.clone()));
            registry.store().txn(txn).await?;
        }
    }
    served::remove(group, plural);
    let mut updated = crd.clone();
    updated["metadata"]["finalizers"] = json!(
        finalizers
            .into_iter()
            .filter(|f| f != CLEANUP_FINALIZER)
            .collect::<Vec<_>>()
    );
    match registry
        .update(definitions()?, None, name, None, updated, false)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 || e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Registers every definition in the store; returns the revision read at.
pub async fn load(registry: &Registry) -> Result<i64, ApiError> {
    let resource = definitions()?;
    let page = registry
        .store()
        .range(RangeRequest::prefix(prefix(resource, None)))
        .await?;
    for kv in &page.kvs {
        sync(registry, decode(resource, kv)?).await?;
    }
    Ok(page.revision)
}

async fn follow_from(registry: &Registry, revision: i64) -> Result<(), ApiError> {
    let resource = definitions()?;
    let mut stream = registry
        .store()
        .watch(WatchRequest::prefix(prefix(resource, None)).from_revision(revision + 1))
        .await?;
    while let Some(response) = stream.next().await {
        let WatchResponse::Events(events) = response? else {
            continue;
        };
        for Event { kind, kv, prev } in events {
            match kind {
                EventKind::Put => sync(registry, decode(resource, &kv)?).await?,
                EventKind::Delete => {
                    if let Some(prev) = prev {
                        let old = decode(resource, &prev)?;
                        let (group, plural) =
                            (text(&old, "/spec/group"), text(&old, "/spec/names/plural"));
                        served::remove(group, plural);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Follows the definitions in the store until the process ends (starting after `revision`,
/// what `load` read), re-listing after any failure.
pub async fn follow(registry: Registry, mut revision: i64) {
    loop {
        if let Err(e) = follow_from(&registry, revision).await {
            tracing::warn!(error = %e.message, "following CustomResourceDefinitions failed; re-listing");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        match load(&registry).await {
            Ok(r) => revision = r,
            Err(e) => {
                tracing::warn!(error = %e.message, "listing CustomResourceDefinitions failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn crontab() -> Value {
        json!({"metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1alpha1", "served": false, "storage": false}]}})
    }

    #[test]
    fn status_reports_established_and_the_storage_version() {
        let status = wanted_status(&crontab());
        assert_eq!(status["conditions"][1]["type"], "Established");
        assert_eq!(status["storedVersions"], json!(["v1"]));
        assert_eq!(status["acceptedNames"]["kind"], "CronTab");
    }
}
