//! Writes: create, update (and `status`), patch, delete. Each ends in one compare-and-swap
//! transaction; an update without a client precondition retries on a lost race, as upstream's
//! `GuaranteedUpdate` does.

use super::{Registry, decode, encode, key, stamp};
use crate::admission::node_restriction::{Op, Write};
use crate::admission::webhook::Operation;
use crate::allocator;
use crate::meta;
use crate::status::{ApiError, Cause};
use crate::strategy::Strategy;
use gantry_api::catalogue::Resource;
use gantry_store::{Condition, Txn};
use serde_json::{Value, json};

/// How many times a write retries after losing a race it may retry (no client precondition).
const MAX_RETRIES: usize = 16;

/// The patch formats served here (strategic merge and apply come with the apply issue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
}

/// How a write records field ownership (`metadata.managedFields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tracking {
    /// The request's manager takes over the fields it changed.
    Update,
    /// A server-side apply computed the entries already (they come in the body).
    Applied,
    /// The write changes no ownership (a binding).
    Untracked,
}

/// The parts of `DeleteOptions` the registry honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`: `Orphan`, `Background` or `Foreground`.
    pub propagation_policy: Option<String>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body (empty means defaults) and the query's overrides.
    pub fn parse(body: &[u8], query: &crate::request::Query) -> Result<Self, ApiError> {
        let mut options = Self::default();
        if !body.iter().all(u8::is_ascii_whitespace) {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
            options.grace_period_seconds = value.get("gracePeriodSeconds").and_then(Value::as_i64);
            options.propagation_policy = value
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_owned);
            options.uid = value
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_owned);
            options.resource_version = value
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        if let Some(grace) = query.number("gracePeriodSeconds")? {
            options.grace_period_seconds = Some(grace);
        }
        if let Some(policy) = query.get("propagationPolicy") {
            options.propagation_policy = Some(policy.to_owned());
        }
        match options.propagation_policy.as_deref() {
            None | Some("Orphan" | "Background" | "Foreground") => Ok(options),
            Some(other) => Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }
}

/// Parses a patch body (both served formats are JSON).
pub fn decode_patch(patch: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(patch)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// Applies a JSON patch or a merge patch to `target`.
pub(super) fn apply_patch(
    target: &mut Value,
    patch_type: PatchType,
    patch: &Value,
    group: &str,
    kind: &str,
    name: &str,
) -> Result<(), ApiError> {
    match patch_type {
        PatchType::Merge => {
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchType::Strategic => gantry_api::strategic::apply(target, patch)
            .map_err(|e| ApiError::bad_request(e.to_string())),
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(target, &ops).map_err(|e| {
                ApiError::invalid(
                    group,
                    kind,
                    name,
                    vec![Cause {
                        reason: "FieldValueInvalid",
                        message: format!("the JSON patch could not be applied: {e}"),
                        field: String::new(),
                    }],
                )
            })
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `apiVersion`/`kind` against the URL (filling them in when absent) and that the body
/// is an object.
fn check_type(resource: &Resource, object: &mut Value) -> Result<(), ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    // Upstream's typed decoding refuses these shapes with a 400; the registry relies on them.
    for field in ["metadata", "spec", "status"] {
        match map.get(field) {
            None | Some(Value::Object(_) | Value::Null) => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "json: cannot unmarshal {} into Go struct field {}.{field} of type object",
                    json_type(other),
                    resource.kind
                )));
            }
        }
    }
    if map.get("metadata").is_some_and(Value::is_null) {
        map.remove("metadata");
    }
    let want_version = resource.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), Value::String(want_version));
        }
        Some(v) if v == want_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want_version})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), Value::String(resource.kind.to_owned()));
        }
        Some(k) if k == resource.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                resource.kind
            )));
        }
    }
    Ok(())
}

/// Checks the body's namespace against the URL's, filling it in when absent.
fn check_namespace(
    resource: &Resource,
    object: &mut Value,
    namespace: Option<&str>,
) -> Result<(), ApiError> {
    if !resource.namespaced {
        meta::remove_meta(object, "namespace");
        return Ok(());
    }
    let Some(ns) = namespace else {
        return Err(ApiError::bad_request(
            "a namespace must be given for a namespaced resource",
        ));
    };
    match meta::meta_str(object, "namespace") {
        None | Some("") => meta::set_meta(object, "namespace", json!(ns)),
        Some(given) if given == ns => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

fn is_namespace(resource: &Resource) -> bool {
    (resource.group, resource.plural) == ("", "namespaces")
}

/// A namespace's `spec.finalizers` (the namespace controller's, not `metadata.finalizers`).
/// Upstream's namespace strategy on create: `kubernetes` is always among `spec.finalizers`, so
/// that a deleted namespace waits for the namespace controller to empty it.
fn require_kubernetes_finalizer(object: &mut Value) {
    let Some(root) = object.as_object_mut() else {
        return;
    };
    let spec = root.entry("spec").or_insert_with(|| json!({}));
    if !spec.is_object() {
        *spec = json!({});
    }
    let finalizers = spec
        .as_object_mut()
        .map(|s| s.entry("finalizers").or_insert_with(|| json!([])));
    if let Some(list) = finalizers {
        if !list.is_array() {
            *list = json!([]);
        }
        if let Some(items) = list.as_array_mut()
            && !items.iter().any(|f| f == "kubernetes")
        {
            items.push(json!("kubernetes"));
        }
    }
}

fn spec_finalizers(object: &Value) -> Vec<Value> {
    object
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn is_service(resource: &Resource) -> bool {
    (resource.group, resource.plural) == ("", "services")
}

fn validate(strategy: &Strategy, object: &Value) -> Result<(), ApiError> {
    let resource = strategy.resource;
    let name = meta::meta_str(object, "name").unwrap_or_default();
    let mut causes: Vec<Cause> = meta::validate_name(strategy.name_rule, name)
        .into_iter()
        .map(|problem| Cause::invalid("metadata.name", &json!(name), &problem))
        .collect();
    causes.extend(strategy.validate(object));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            resource.group,
            resource.kind,
            name,
            causes,
        ))
    }
}

/// Everything but metadata and status: a change here is a change of desired state.
fn desired_state(object: &Value) -> Value {
    let mut rest = object.clone();
    if let Some(map) = rest.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    rest
}

pub(super) fn resource_version(object: &Value) -> Result<Option<i64>, ApiError> {
    match meta::meta_str(object, "resourceVersion") {
        None | Some("") => Ok(None),
        Some(rv) => rv.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {rv:?}: not a store revision"
            ))
        }),
    }
}

impl Registry {
    async fn namespace_accepts_writes(&self, namespace: &str) -> Result<(), ApiError> {
        let namespaces = gantry_api::catalogue::find("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("the catalogue has no namespaces"))?;
        match self.current(&key(namespaces, None, namespace)).await? {
            None => Err(ApiError::not_found("", "namespaces", namespace)),
            Some(kv) => {
                let ns = decode(namespaces, &kv)?;
                if ns.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating") {
                    Err(ApiError::forbidden(
                        "",
                        "namespaces",
                        namespace,
                        &format!(
                            "unable to create new content in namespace {namespace} because it is being terminated"
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// POST: creates an object (201), generating its name from `generateName` if asked.
    pub async fn create(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        object: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        self.create_tracked(resource, namespace, object, dry_run, Tracking::Update)
            .await
    }

    pub(super) async fn create_tracked(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        mut object: Value,
        dry_run: bool,
        tracking: Tracking,
    ) -> Result<Value, ApiError> {
        let sent = object.pointer("/metadata/managedFields").cloned();
        let strategy = Self::strategy(resource);
        check_type(resource, &mut object)?;
        check_namespace(resource, &mut object, namespace)?;
        crate::defaulting::apply(resource.group, resource.kind, &mut object);
        crate::crd::admit_object(resource, &mut object)?;
        crate::builtin_schema::admit(resource, &mut object)?;
        if is_namespace(resource) {
            require_kubernetes_finalizer(&mut object);
        }
        if resource_version(&object)?.is_some() {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let generate = meta::meta_str(&object, "generateName").map(str::to_owned);
        let fixed_name = meta::meta_str(&object, "name")
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if fixed_name.is_none() && generate.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::invalid(
                resource.group,
                resource.kind,
                "",
                vec![Cause::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
        if let (true, Some(ns)) = (resource.namespaced, namespace) {
            self.namespace_accepts_writes(ns).await?;
        }
        match (resource.group, resource.plural) {
            ("", "pods") => {
                let ns = namespace.unwrap_or_default();
                Box::pin(self.admit_new_pod(&mut object, ns)).await?;
                self.admit_pod_priority(&mut object).await?;
                self.admit_pod_service_account(&mut object).await?;
            }
            ("", "persistentvolumeclaims") => self.admit_claim(&mut object).await?,
            ("", "persistentvolumes") => crate::storage::admit_volume(&mut object),
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                crate::crd::admit(&mut object)?;
            }
            ("scheduling.k8s.io", "priorityclasses") => {
                self.admit_priority_class(&object, None).await?;
            }
            _ => {}
        }
        for field in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
        ] {
            meta::remove_meta(&mut object, field);
        }
        meta::set_meta(&mut object, "uid", json!(meta::new_uid()));
        meta::set_meta(&mut object, "creationTimestamp", json!(meta::now_rfc3339()));
        if strategy.tracks_generation(&object) {
            meta::set_meta(&mut object, "generation", json!(1));
        }
        // Ownership is recorded before the initial status replaces the client's (the status
        // is reset on create, so nobody owns it, as upstream's reset fields).
        if strategy.has_status()
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        match tracking {
            Tracking::Update => crate::field_manager::record_update(
                resource,
                &json!({}),
                sent.as_ref(),
                &mut object,
            ),
            Tracking::Applied => {
                if let Some(entries) = sent {
                    meta::set_meta(&mut object, "managedFields", entries);
                }
            }
            Tracking::Untracked => {}
        }
        if strategy.has_status() {
            let map = object
                .as_object_mut()
                .ok_or_else(|| ApiError::internal("not an object"))?;
            match strategy.initial_status() {
                Some(status) => map.insert("status".into(), status),
                None => map.remove("status"),
            };
        }
        strategy.prepare_for_create(&mut object);
        // A generated name or a random allocation that collides is retried with a new pick,
        // as upstream does.
        let requested = allocator::held(&object);
        let mut allocation_failed = false;
        for _ in 0..8 {
            let name = match (&fixed_name, &generate) {
                (Some(name), _) => name.clone(),
                (None, Some(prefix)) => format!("{prefix}{}", meta::name_suffix()),
                (None, None) => unreachable!("checked above"),
            };
            let mut candidate = object.clone();
            meta::set_meta(&mut candidate, "name", json!(name));
            if is_service(resource) {
                allocator::prepare_service(&self.ranges, &mut candidate, None)?;
            }
            if (resource.group, resource.kind) == ("batch", "Job") {
                crate::job::generate_selector(&mut candidate);
            }
            validate(&strategy, &candidate)?;
            crate::auth::rbac::escalation::check(resource, &candidate, None)?;
            Box::pin(self.admit_node_restriction(Write {
                resource,
                subresource: None,
                op: Op::Create,
                name: &name,
                namespace,
                new: Some(&candidate),
                old: None,
            }))
            .await?;
            // (Boxed: the admission futures are large and the write path is deep.)
            if Box::pin(self.admit_webhooks(
                resource,
                None,
                Operation::Create,
                &mut candidate,
                None,
                dry_run,
            ))
            .await?
            {
                validate(&strategy, &candidate)?;
            }
            // Quota is admitted last, on the object as everything else made it.
            if let Some(ns) = namespace.filter(|_| resource.namespaced) {
                Box::pin(self.admit_quota(resource, ns, &candidate, dry_run)).await?;
            }
            if dry_run {
                return Ok(candidate);
            }
            let key = key(resource, namespace, &name);
            let claims = allocator::held(&candidate);
            let mut txn = Txn::new().when(&key, Condition::Absent);
            for claim in &claims {
                txn = txn.when(claim, Condition::Absent);
            }
            let mut txn = txn.put(&key, encode(resource, &candidate)?);
            for claim in &claims {
                txn = txn.put(claim, key.clone());
            }
            let response = self.store.txn(txn).await?;
            if response.succeeded {
                stamp(resource, &mut candidate, response.revision);
                return Ok(candidate);
            }
            let object_exists = response.current.iter().any(|kv| kv.key == key);
            if !object_exists {
                // An allocation was taken: an error if the client asked for it, else pick again.
                if let Some(taken) = response
                    .current
                    .iter()
                    .find(|kv| requested.contains(&kv.key))
                {
                    return Err(allocator::already_allocated(&name, &taken.key));
                }
                allocation_failed = true;
                continue;
            }
            allocation_failed = false;
            if fixed_name.is_some() {
                return Err(ApiError::already_exists(
                    resource.group,
                    resource.plural,
                    &name,
                ));
            }
        }
        if allocation_failed {
            return Err(ApiError::internal(
                "failed to allocate a serviceIP or nodePort: no free address found after 8 tries; the range may be full",
            ));
        }
        Err(ApiError::already_exists(
            resource.group,
            resource.plural,
            "generated name",
        ))
    }

    /// PUT of an object or its `status`.
    pub async fn update(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        mut body: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        check_type(resource, &mut body)?;
        check_namespace(resource, &mut body, namespace)?;
        match meta::meta_str(&body, "name") {
            Some(n) if n == name => {}
            None | Some("") => meta::set_meta(&mut body, "name", json!(name)),
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
        }
        let precondition = resource_version(&body)?;
        self.write_loop(
            resource,
            namespace,
            name,
            (subresource, Tracking::Update),
            dry_run,
            |_| Ok((body.clone(), precondition)),
        )
        .await
    }

    /// PATCH of an object or its `status`: the patch is applied to the current object, which
    /// is then written as an update conditioned on the revision it was read at.
    pub async fn patch(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        (patch_type, patch): (PatchType, &[u8]),
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let patch = decode_patch(patch)?;
        let how = (subresource, Tracking::Update);
        self.write_loop(resource, namespace, name, how, dry_run, |current| {
            let mut patched = current.clone();
            apply_patch(
                &mut patched,
                patch_type,
                &patch,
                resource.group,
                resource.kind,
                name,
            )?;
            let current_rv = resource_version(current)?;
            let patched_rv = resource_version(&patched)?;
            // A patch that names a resourceVersion is a precondition; otherwise the write is
            // conditioned on what was read and retried if it lost a race.
            let precondition = if patched_rv == current_rv {
                None
            } else {
                patched_rv
            };
            check_type(resource, &mut patched)?;
            Ok((patched, precondition))
        })
        .await
    }

    /// The shared body of update and patch: read, build the new object, check it, and write it
    /// with a compare-and-swap, retrying when there was no client precondition.
    pub(super) async fn write_loop(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        (subresource, tracking): (Option<&str>, Tracking),
        dry_run: bool,
        make: impl Fn(&Value) -> Result<(Value, Option<i64>), ApiError>,
    ) -> Result<Value, ApiError> {
        let strategy = Self::strategy(resource);
        let key = key(resource, namespace, name);
        for _ in 0..MAX_RETRIES {
            let Some(kv) = self.current(&key).await? else {
                return Err(ApiError::not_found(resource.group, resource.plural, name));
            };
            let old = decode(resource, &kv)?;
            let (body, precondition) = make(&old)?;
            if precondition.is_some_and(|rv| rv != kv.mod_revision) {
                return Err(ApiError::conflict(
                    resource.group,
                    resource.plural,
                    name,
                    ApiError::MODIFIED,
                ));
            }
            let sent = body.pointer("/metadata/managedFields").cloned();
            let mut new = merge_update(&strategy, &old, body, subresource);
            // Only the namespace controller (through `finalize`) changes a namespace's
            // `spec.finalizers`, as upstream's namespace strategy keeps them on updates.
            if is_namespace(resource) && subresource != Some("finalize") {
                match old.pointer("/spec/finalizers") {
                    Some(kept) => new["spec"]["finalizers"] = kept.clone(),
                    None => {
                        if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                            spec.remove("finalizers");
                        }
                    }
                }
            }
            crate::defaulting::apply(resource.group, resource.kind, &mut new);
            crate::crd::admit_object(resource, &mut new)?;
            crate::builtin_schema::admit(resource, &mut new)?;
            if is_service(resource) && subresource.is_none() {
                allocator::prepare_service(&self.ranges, &mut new, Some(&old))?;
            }
            if meta::meta_str(&new, "namespace") != meta::meta_str(&old, "namespace") {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            validate(&strategy, &new)?;
            crate::auth::rbac::escalation::check(resource, &new, Some(&old))?;
            Box::pin(self.admit_node_restriction(Write {
                resource,
                subresource,
                op: Op::Update,
                name,
                namespace,
                new: Some(&new),
                old: Some(&old),
            }))
            .await?;
            // (Boxed: the admission futures are large and the write path is deep.)
            if Box::pin(self.admit_webhooks(
                resource,
                subresource,
                Operation::Update,
                &mut new,
                Some(&old),
                dry_run,
            ))
            .await?
            {
                validate(&strategy, &new)?;
            }
            if (resource.group, resource.plural) == ("scheduling.k8s.io", "priorityclasses") {
                self.admit_priority_class(&new, Some(name)).await?;
            }
            if subresource.is_none() {
                let causes =
                    crate::immutable::violations(resource.group, resource.kind, &old, &new);
                if !causes.is_empty() {
                    return Err(ApiError::invalid(
                        resource.group,
                        resource.kind,
                        name,
                        causes,
                    ));
                }
            }
            match tracking {
                Tracking::Update => {
                    crate::field_manager::record_update(resource, &old, sent.as_ref(), &mut new);
                }
                Tracking::Applied => match sent {
                    Some(entries) => meta::set_meta(&mut new, "managedFields", entries),
                    None => {
                        meta::remove_meta(&mut new, "managedFields");
                    }
                },
                Tracking::Untracked => {}
            }
            if desired_state(&new) != desired_state(&old) && strategy.tracks_generation(&new) {
                let generation = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                meta::set_meta(&mut new, "generation", json!(generation + 1));
            }
            meta::set_meta(
                &mut new,
                "resourceVersion",
                json!(kv.mod_revision.to_string()),
            );
            if new == old || dry_run {
                return Ok(new); // nothing to write: upstream leaves the revision alone too
            }
            // The last finalizer removed from an object being deleted: it goes now — unless its
            // grace period still runs (a pod its node is stopping: a status update then must not
            // finish the deletion, as upstream's `ShouldDeleteDuringUpdate`).
            let graceful = old
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .is_some_and(|g| g > 0);
            let finished = meta::meta_str(&new, "deletionTimestamp").is_some()
                && !graceful
                && meta::finalizers(&new).is_empty()
                && (!is_namespace(resource) || spec_finalizers(&new).is_empty());
            let (had, has) = (allocator::held(&old), allocator::held(&new));
            let has = if finished { Default::default() } else { has };
            let mut txn = Txn::new().when(&key, Condition::ModRevision(kv.mod_revision));
            for claim in has.difference(&had) {
                txn = txn.when(claim, Condition::Absent).put(claim, key.clone());
            }
            for released in had.difference(&has) {
                txn = txn.delete(released);
            }
            let txn = if finished {
                txn.delete(&key)
            } else {
                txn.put(&key, encode(resource, &new)?)
            };
            let response = self.store.txn(txn).await?;
            if response.succeeded {
                stamp(resource, &mut new, response.revision);
                return Ok(new);
            }
            let moved = response
                .current
                .iter()
                .any(|c| c.key == key && c.mod_revision != kv.mod_revision);
            if !moved && let Some(taken) = response.current.iter().find(|c| c.key != key) {
                return Err(allocator::already_allocated(name, &taken.key));
            }
            if precondition.is_some() {
                return Err(ApiError::conflict(
                    resource.group,
                    resource.plural,
                    name,
                    ApiError::MODIFIED,
                ));
            }
        }
        Err(ApiError::conflict(
            resource.group,
            resource.plural,
            name,
            "too many concurrent updates; try again",
        ))
    }

    /// DELETE of one object: immediate, or (with finalizers, or a pod's grace period) a marked
    /// deletion that finishes when the last finalizer goes. Returns the response body and code.
    pub async fn delete(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let key = key(resource, namespace, name);
        for _ in 0..MAX_RETRIES {
            let Some(kv) = self.current(&key).await? else {
                return Err(ApiError::not_found(resource.group, resource.plural, name));
            };
            let mut object = decode(resource, &kv)?;
            check_preconditions(resource, name, &object, kv.mod_revision, options)?;
            Box::pin(self.admit_node_restriction(Write {
                resource,
                subresource: None,
                op: Op::Delete,
                name,
                namespace,
                new: None,
                old: Some(&object),
            }))
            .await?;
            Box::pin(self.admit_webhooks(
                resource,
                None,
                Operation::Delete,
                &mut Value::Null,
                Some(&object),
                dry_run,
            ))
            .await?;
            let mut finalizers = meta::finalizers(&object);
            match options.propagation_policy.as_deref() {
                Some("Orphan") if !finalizers.iter().any(|f| f == "orphan") => {
                    finalizers.push("orphan".into())
                }
                Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
                    finalizers.push("foregroundDeletion".into());
                }
                _ => {}
            }
            let grace = pod_grace_period(resource, &object, options);
            // A namespace waits for the namespace controller to empty it (`spec.finalizers`).
            let namespace_held = is_namespace(resource) && !spec_finalizers(&object).is_empty();
            if namespace_held {
                object["status"]["phase"] = json!("Terminating");
            }
            let txn = Txn::new().when(&key, Condition::ModRevision(kv.mod_revision));
            let (txn, immediate) = if finalizers.is_empty() && grace == 0 && !namespace_held {
                let txn = allocator::held(&object)
                    .iter()
                    .fold(txn, |txn, claim| txn.delete(claim));
                (txn.delete(&key), true)
            } else {
                if meta::meta_str(&object, "deletionTimestamp").is_none() {
                    let at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                        + grace as u64;
                    meta::set_meta(&mut object, "deletionTimestamp", json!(meta::rfc3339(at)));
                    meta::set_meta(&mut object, "deletionGracePeriodSeconds", json!(grace));
                }
                meta::set_meta(&mut object, "finalizers", json!(finalizers));
                (txn.put(&key, encode(resource, &object)?), false)
            };
            if dry_run {
                return Ok(deleted_response(resource, &object, immediate));
            }
            let response = self.store.txn(txn).await?;
            if response.succeeded {
                if !immediate {
                    stamp(resource, &mut object, response.revision);
                }
                return Ok(deleted_response(resource, &object, immediate));
            }
        }
        Err(ApiError::conflict(
            resource.group,
            resource.plural,
            name,
            "too many concurrent updates; try again",
        ))
    }
}

fn check_preconditions(
    resource: &Resource,
    name: &str,
    object: &Value,
    revision: i64,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    if let Some(uid) = &options.uid {
        let actual = meta::meta_str(object, "uid").unwrap_or_default();
        if uid != actual {
            return Err(ApiError::conflict(
                resource.group,
                resource.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                ),
            ));
        }
    }
    if let Some(rv) = &options.resource_version
        && *rv != revision.to_string()
    {
        return Err(ApiError::conflict(
            resource.group,
            resource.plural,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {revision}"
            ),
        ));
    }
    Ok(())
}

/// A pod bound to a node is deleted gracefully so its kubelet can stop it; an unbound one (or a
/// zero grace period) goes at once, as upstream's pod strategy decides.
fn pod_grace_period(resource: &Resource, object: &Value, options: &DeleteOptions) -> i64 {
    if (resource.group, resource.plural) != ("", "pods") {
        return 0;
    }
    if object
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return 0;
    }
    let spec = object
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    options.grace_period_seconds.or(spec).unwrap_or(30).max(0)
}

/// What a DELETE answers: the object for pods and for deletions that are still in progress, a
/// success `Status` otherwise (upstream's `ReturnDeletedObject` split).
fn deleted_response(resource: &Resource, object: &Value, immediate: bool) -> Value {
    if !immediate || (resource.group, resource.plural) == ("", "pods") {
        return object.clone();
    }
    let mut details = serde_json::Map::new();
    details.insert(
        "name".into(),
        json!(meta::meta_str(object, "name").unwrap_or_default()),
    );
    if !resource.group.is_empty() {
        details.insert("group".into(), json!(resource.group));
    }
    details.insert("kind".into(), json!(resource.plural));
    details.insert(
        "uid".into(),
        json!(meta::meta_str(object, "uid").unwrap_or_default()),
    );
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

/// Builds the object an update writes. The main resource cannot change status, `status` cannot
/// change anything else; neither can change identity or deletion metadata.
fn merge_update(strategy: &Strategy, old: &Value, body: Value, subresource: Option<&str>) -> Value {
    // A binding's new object was built by the registry itself from the stored one.
    let mut new = if subresource == Some("binding") {
        body
    } else if subresource == Some("finalize") {
        let mut new = old.clone();
        let finalizers = body
            .pointer("/spec/finalizers")
            .cloned()
            .unwrap_or_else(|| json!([]));
        new["spec"]["finalizers"] = finalizers;
        new
    } else if subresource == Some("approval") {
        // A CertificateSigningRequest's approval changes its conditions and nothing else.
        let mut new = old.clone();
        let conditions = body
            .pointer("/status/conditions")
            .cloned()
            .unwrap_or_else(|| json!([]));
        new["status"]["conditions"] = conditions;
        new
    } else if subresource == Some("status") {
        let mut new = old.clone();
        if let (Some(map), Some(status)) = (new.as_object_mut(), body.get("status")) {
            map.insert("status".into(), status.clone());
        }
        new
    } else {
        let mut new = body;
        if strategy.has_status()
            && let Some(map) = new.as_object_mut()
        {
            match old.get("status") {
                Some(status) => map.insert("status".into(), status.clone()),
                None => map.remove("status"),
            };
        }
        new
    };
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
    ] {
        match old.get("metadata").and_then(|m| m.get(field)) {
            Some(value) => meta::set_meta(&mut new, field, value.clone()),
            None => {
                meta::remove_meta(&mut new, field);
            }
        }
    }
    new
}
