//! CustomResourceDefinitions served live, as upstream's apiextensions server: each definition
//! in the store registers its served versions with the catalogue (`gantry_api::custom`), so
//! that discovery lists them and the same generic registry serves their objects — stored once
//! under `/registry/<group>/<plural>/`, whatever version a client reads or writes (conversion
//! `None`: only `apiVersion` changes). A follower task watches the definitions in the store (so
//! every API server of a cluster sees every change), reports `NamesAccepted` and `Established`,
//! and on deletion removes every object of the definition before letting it go (the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer).
//!
//! Each version's schema prunes, defaults and validates the objects written in it (`schema`).
//!
//! Not yet: the `scale` subresource, `additionalPrinterColumns`, conversion webhooks, CEL
//! validation rules.

use crate::meta;
use crate::registry::{Registry, decode, prefix};
use crate::status::{ApiError, Cause};
use futures::StreamExt;
use gantry_api::catalogue::{self, Resource};
use gantry_api::custom::{self, Version};
use gantry_store::{Event, EventKind, RangeRequest, Txn, WatchRequest, WatchResponse};
use serde_json::{Value, json};
use std::time::Duration;

/// Holds a deleted definition until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn definitions() -> Result<&'static Resource, ApiError> {
    catalogue::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::internal("the catalogue has no customresourcedefinitions"))
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn strings(value: &Value, pointer: &str) -> Vec<String> {
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

/// The served versions of a definition.
pub fn versions_of(crd: &Value) -> Vec<Version> {
    let spec = &crd["spec"];
    let kind = text(spec, "/names/kind");
    let singular = match text(spec, "/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_owned(),
    };
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool() == Some(true))
        .map(|v| Version {
            group: text(spec, "/group").to_owned(),
            version: text(v, "/name").to_owned(),
            kind: kind.to_owned(),
            plural: text(spec, "/names/plural").to_owned(),
            singular: singular.clone(),
            namespaced: text(spec, "/scope") == "Namespaced",
            short_names: strings(spec, "/names/shortNames"),
            categories: strings(spec, "/names/categories"),
            status: v.pointer("/subresources/status").is_some(),
        })
        .collect()
}

/// Admits a new definition: its name is `<plural>.<group>`, one version is the storage
/// version, the names are defaulted (singular, list kind), and it gets the clean-up finalizer.
pub fn admit(crd: &mut Value) -> Result<(), ApiError> {
    let name = meta::meta_str(crd, "name").unwrap_or_default().to_owned();
    let spec = crd["spec"].clone();
    let spec = &spec;
    let (group, plural, kind) = (
        text(spec, "/group"),
        text(spec, "/names/plural"),
        text(spec, "/names/kind"),
    );
    let mut causes = Vec::new();
    if name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        causes.push(Cause::required("spec.group", ""));
    } else if catalogue::groups().iter().any(|g| g.name == group)
        && catalogue::resources().iter().any(|r| r.group == group)
    {
        causes.push(Cause::invalid(
            "spec.group",
            &json!(group),
            "is a built-in API group",
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural", ""));
    }
    if kind.is_empty() {
        causes.push(Cause::required("spec.names.kind", ""));
    }
    let scope = text(spec, "/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::not_supported(
            "spec.scope",
            &json!(scope),
            &["Cluster", "Namespaced"],
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count();
    if versions.is_empty() {
        causes.push(Cause::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    } else if storage != 1 {
        causes.push(Cause::invalid(
            "spec.versions",
            &json!(versions),
            "must have exactly one version marked as storage version",
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            &name,
            causes,
        ));
    }
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        let lower = kind.to_lowercase();
        names.entry("singular").or_insert_with(|| json!(lower));
        names
            .entry("listKind")
            .or_insert_with(|| json!(format!("{kind}List")));
    }
    if let Some(meta) = crd.get_mut("metadata").and_then(Value::as_object_mut) {
        let list = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut()
            && !list.iter().any(|f| f == CLEANUP_FINALIZER)
        {
            list.push(json!(CLEANUP_FINALIZER));
        }
    }
    Ok(())
}

/// Prunes, defaults and validates a custom object written in `resource`'s version by that
/// version's schema (nothing for built-in kinds, or versions without a schema).
pub fn admit_object(resource: &Resource, object: &mut Value) -> Result<(), ApiError> {
    let Some(schema) = crate::schema::of(resource.group, resource.version, resource.plural) else {
        return Ok(());
    };
    crate::schema::prune::prune(&schema, object, true);
    crate::schema::defaults::apply(&schema, object);
    let causes = crate::schema::validate::validate(&schema, object);
    if causes.is_empty() {
        return Ok(());
    }
    let name = meta::meta_str(object, "name")
        .unwrap_or_default()
        .to_owned();
    Err(ApiError::invalid(
        resource.group,
        resource.kind,
        &name,
        causes,
    ))
}

/// The schema of each served version.
fn schemas_of(crd: &Value) -> Vec<(String, Value)> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool() == Some(true))
        .filter_map(|v| {
            let schema = v.pointer("/schema/openAPIV3Schema")?.clone();
            Some((text(v, "/name").to_owned(), schema))
        })
        .collect()
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
    crate::schema::define(&group, &plural, schemas_of(&crd));
    custom::define(&group, &plural, &versions_of(&crd));
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
    custom::remove(group, plural);
    crate::schema::define(group, plural, Vec::new());
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
                        custom::remove(group, plural);
                        crate::schema::define(group, plural, Vec::new());
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

    fn crontab() -> Value {
        json!({"metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1alpha1", "served": false, "storage": false}]}})
    }

    #[test]
    fn served_versions_become_resources() {
        let versions = versions_of(&crontab());
        assert_eq!(versions.len(), 2);
        assert_eq!(
            (
                versions[0].singular.as_str(),
                versions[0].namespaced,
                versions[0].status
            ),
            ("crontab", true, true)
        );
        assert!(!versions[1].status);
        assert_eq!(versions[1].short_names, ["ct"]);
    }

    #[test]
    fn admission_checks_names_and_storage_and_defaults_the_rest() {
        let mut crd = crontab();
        admit(&mut crd).unwrap();
        assert_eq!(crd["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(crd["spec"]["names"]["singular"], "crontab");
        assert_eq!(crd["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));

        let mut misnamed = crontab();
        misnamed["metadata"]["name"] = json!("crontab");
        let error = admit(&mut misnamed).unwrap_err();
        assert_eq!(error.code, 422);
        assert!(
            error
                .message
                .contains("must be spec.names.plural+\".\"+spec.group"),
            "{}",
            error.message
        );

        let mut two = crontab();
        two["spec"]["versions"][1]["storage"] = json!(true);
        assert!(
            admit(&mut two)
                .unwrap_err()
                .message
                .contains("exactly one version marked as storage version")
        );

        let mut builtin = crontab();
        builtin["spec"]["group"] = json!("apps");
        builtin["metadata"]["name"] = json!("crontabs.apps");
        assert!(admit(&mut builtin).is_err());
    }

    #[test]
    fn objects_are_pruned_defaulted_and_validated_by_their_versions_schema() {
        let resource = Resource {
            group: "admit-test.example.com",
            version: "v1",
            kind: "Gadget",
            plural: "gadgets",
            singular: "gadget",
            namespaced: true,
            verbs: &[],
            short_names: &[],
            categories: &[],
            subresources: &[],
        };
        crate::schema::define(
            resource.group,
            resource.plural,
            vec![(
                "v1".into(),
                json!({"type": "object", "properties": {"spec": {"type": "object",
                "properties": {"size": {"type": "integer", "default": 2, "maximum": 5}}}}}),
            )],
        );
        let mut good = json!({"metadata": {"name": "g"}, "spec": {"extra": true}});
        admit_object(&resource, &mut good).unwrap();
        assert_eq!(good["spec"], json!({"size": 2}));
        let mut bad = json!({"metadata": {"name": "g"}, "spec": {"size": 9}});
        let error = admit_object(&resource, &mut bad).unwrap_err();
        assert_eq!(
            error.message,
            "Gadget.admit-test.example.com \"g\" is invalid: spec.size: Invalid value: 9: spec.size in body should be less than or equal to 5"
        );
        crate::schema::define(resource.group, resource.plural, Vec::new());
        let mut anything = json!({"metadata": {"name": "g"}, "spec": {"size": 9}});
        admit_object(&resource, &mut anything).unwrap();
    }

    #[test]
    fn status_reports_established_and_the_storage_version() {
        let status = wanted_status(&crontab());
        assert_eq!(status["conditions"][1]["type"], "Established");
        assert_eq!(status["storedVersions"], json!(["v1"]));
        assert_eq!(status["acceptedNames"]["kind"], "CronTab");
    }
}
