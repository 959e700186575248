//! Server-side apply (`PATCH` with `application/apply-patch+yaml`): the configuration is merged
//! into the live object by the field manager (`crate::field_manager`), which also decides the
//! conflicts; the result is written through the same update path as every other write. An
//! object that does not exist yet is created from the configuration alone (201).

use super::Registry;
use super::write::Tracking;
use crate::meta;
use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use serde_json::{Value, json};

/// Reads and checks an applied configuration: an object of the URL's type and name, without
/// `managedFields`.
fn configuration(resource: &Resource, name: &str, body: &[u8]) -> Result<Value, ApiError> {
    let config: Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the applied configuration must be an object",
        ));
    }
    let api_version = config["apiVersion"].as_str().unwrap_or_default();
    let kind = config["kind"].as_str().unwrap_or_default();
    if api_version != resource.api_version() || kind != resource.kind {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        };
        return Err(ApiError::bad_request(format!(
            "invalid object type: {group}/{version}, Kind={kind}"
        )));
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(Value::is_array)
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    match meta::meta_str(&config, "name") {
        Some(given) if given != name => Err(ApiError::bad_request(format!(
            "the name of the object ({given}) does not match the name on the URL ({name})"
        ))),
        _ => Ok(config),
    }
}

/// Leaves out of a configuration what the write it goes through resets, so that it is neither
/// claimed nor compared (upstream's reset fields): the status of a kind with a `status`
/// subresource on the main resource; everything but the status through `status`.
fn reset_fields(config: &mut Value, subresource: Option<&str>, has_status: bool) {
    let Some(map) = config.as_object_mut() else {
        return;
    };
    match subresource {
        Some("status") => {
            map.retain(|key, _| {
                matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status")
            });
            if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
                metadata.retain(|key, _| matches!(key.as_str(), "name" | "namespace"));
            }
        }
        None if has_status => {
            map.remove("status");
        }
        _ => {}
    }
}

/// Drops the fields a configuration's kind does not have before anything claims them,
/// reporting them per the request's field validation.
fn prune_unknown(resource: &Resource, config: &mut Value) -> Result<(), ApiError> {
    let dropped = match crate::crd::served::get(resource).and_then(|s| s.schema.clone()) {
        Some(schema) => crate::schema::prune::prune(&schema, config, true),
        None => crate::builtin_schema::get().prune(resource, config),
    };
    crate::warnings::unknown_fields(resource, &dropped)
}

impl Registry {
    /// Applies a configuration as the request's field manager; `force` takes contested fields
    /// over. Returns the object and the status code (201 when created).
    #[allow(clippy::too_many_arguments)]
    pub async fn apply(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        body: &[u8],
        force: bool,
        dry_run: bool,
    ) -> Result<(Value, u16), ApiError> {
        let mut config = configuration(resource, name, body)?;
        reset_fields(
            &mut config,
            subresource,
            Self::strategy(resource).has_status(),
        );
        prune_unknown(resource, &mut config)?;
        // A create that loses a race to another creator applies to what it created.
        for _ in 0..2 {
            let how = (subresource, Tracking::Applied);
            let updated = self
                .write_loop(resource, namespace, name, how, dry_run, |current| {
                    let applied = crate::field_manager::apply(resource, current, &config, force)?;
                    let precondition = super::write::resource_version(&config)?;
                    Ok((applied, precondition))
                })
                .await;
            match updated {
                Err(e) if e.code == 404 && subresource.is_none() => {}
                other => return other.map(|object| (object, 200)),
            }
            let mut fresh = json!({"metadata": {"name": name}});
            if let Some(ns) = namespace.filter(|_| resource.namespaced) {
                fresh["metadata"]["namespace"] = json!(ns);
            }
            let object = crate::field_manager::apply(resource, &fresh, &config, force)?;
            match self
                .create_tracked(resource, namespace, object, dry_run, Tracking::Applied)
                .await
            {
                Err(e) if e.code == 409 && e.reason == "AlreadyExists" => continue,
                other => return other.map(|object| (object, 201)),
            }
        }
        Err(ApiError::conflict(
            resource.group,
            resource.plural,
            name,
            "the object was created and deleted while being applied; try again",
        ))
    }
}
