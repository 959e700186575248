//! A container's environment: `envFrom` sources, then `env` entries in order, each able to
//! refer to the ones before it with `$(NAME)`, with values from ConfigMaps, Secrets, the pod's
//! own fields and the container's resources — failing with upstream's messages when a
//! required source is missing (the container then waits with `CreateContainerConfigError`).

use crate::pods::PodContext;
use crate::pods::runtime_state::Sandbox;
use crate::pods::spec::expand;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::api::Api;
use std::collections::{BTreeMap, HashMap};

async fn config_map(
    ctx: &PodContext,
    namespace: &str,
    name: &str,
) -> Result<Option<ConfigMap>, String> {
    Api::<ConfigMap>::namespaced(ctx.client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| e.to_string())
}

async fn secret(ctx: &PodContext, namespace: &str, name: &str) -> Result<Option<Secret>, String> {
    Api::<Secret>::namespaced(ctx.client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| e.to_string())
}

/// A ConfigMap's entries (`data`, then `binaryData` as UTF-8 where it is).
pub fn config_map_entries(map: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut entries: BTreeMap<String, Vec<u8>> = map
        .binary_data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in map.data.iter().flatten() {
        entries.insert(k.clone(), v.clone().into_bytes());
    }
    entries
}

/// A Secret's entries (`data`, with `stringData` should a client have left it).
pub fn secret_entries(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut entries: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        entries.insert(k.clone(), v.clone().into_bytes());
    }
    entries
}

/// The value of a downward-API field path of `pod` (`metadata.name`,
/// `metadata.labels['app']`, `status.podIP`, ...).
pub fn field_value(pod: &Pod, path: &str, pod_ip: &str, host_ip: &str) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let map_entry = |map: &Option<BTreeMap<String, String>>, prefix: &str| {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(
            map.as_ref()
                .and_then(|m| m.get(key))
                .cloned()
                .unwrap_or_default(),
        )
    };
    if let Some(value) = map_entry(&meta.labels, "metadata.labels['") {
        return Ok(value);
    }
    if let Some(value) = map_entry(&meta.annotations, "metadata.annotations['") {
        return Ok(value);
    }
    let render = |map: &Option<BTreeMap<String, String>>| {
        map.iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => render(&meta.labels),
        "metadata.annotations" => render(&meta.annotations),
        "spec.nodeName" => spec.node_name.unwrap_or_default(),
        "spec.serviceAccountName" => spec.service_account_name.unwrap_or_default(),
        "status.podIP" | "status.podIPs" => pod_ip.to_owned(),
        "status.hostIP" | "status.hostIPs" => host_ip.to_owned(),
        other => return Err(format!("unsupported fieldPath: {other}")),
    })
}

/// The value of a `resourceFieldRef` (`limits.memory`, `requests.cpu`, ...), in the
/// divisor's units (default 1): CPU rounded up to whole units, as upstream.
fn resource_value(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
) -> Result<String, String> {
    let resources = container.resources.clone().unwrap_or_default();
    let (list, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported container resource: {resource}"))?;
    let map = match list {
        "limits" => resources.limits.unwrap_or_default(),
        "requests" => resources.requests.unwrap_or_default(),
        _ => return Err(format!("unsupported container resource: {resource}")),
    };
    let value = map
        .get(name)
        .map(|q| gantry_api::quantity::parse(&q.0))
        .transpose()?
        .unwrap_or(0.0);
    let divisor = divisor
        .map(gantry_api::quantity::parse)
        .transpose()?
        .unwrap_or(1.0);
    let divisor = if divisor == 0.0 { 1.0 } else { divisor };
    Ok(((value / divisor).ceil() as i64).to_string())
}

/// Resolves the environment of `container`.
pub async fn resolve(
    ctx: &PodContext,
    pod: &Pod,
    container: &Container,
    sandbox: &Sandbox,
) -> Result<Vec<(String, String)>, String> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let pod_ip = sandbox.ip.clone().unwrap_or_default();
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    // Upstream refuses to start a container before its Service cache has been filled once,
    // rather than start it with a partial environment.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ctx.services.wait_until_ready(),
    )
    .await
    .map_err(|_| {
        "services have not yet been read at least once, cannot construct envvars".to_owned()
    })?
    .map_err(|e| e.to_string())?;
    let service_env = super::service_env::service_env(
        ctx.services.state().iter().map(AsRef::as_ref),
        &namespace,
        links,
    );
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |env: &mut Vec<(String, String)>, key: String, value: String| match env
        .iter_mut()
        .find(|(k, _)| *k == key)
    {
        Some(slot) => slot.1 = value,
        None => env.push((key, value)),
    };
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let entries = if let Some(r) = &source.config_map_ref {
            match config_map(ctx, &namespace, &r.name).await? {
                Some(map) => config_map_entries(&map),
                None if r.optional == Some(true) => BTreeMap::new(),
                None => return Err(format!("configmap \"{}\" not found", r.name)),
            }
        } else if let Some(r) = &source.secret_ref {
            match secret(ctx, &namespace, &r.name).await? {
                Some(s) => secret_entries(&s),
                None if r.optional == Some(true) => BTreeMap::new(),
                None => return Err(format!("secret \"{}\" not found", r.name)),
            }
        } else {
            BTreeMap::new()
        };
        for (key, value) in entries {
            set(
                &mut env,
                format!("{prefix}{key}"),
                String::from_utf8_lossy(&value).into_owned(),
            );
        }
    }
    for var in container.env.iter().flatten() {
        let value = match &var.value_from {
            None => {
                // `$(VAR)` may name a service variable; the container's own win.
                let known: HashMap<&str, &str> = service_env
                    .iter()
                    .chain(env.iter())
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                expand(var.value.as_deref().unwrap_or_default(), &known)
            }
            Some(from) => {
                if let Some(r) = &from.field_ref {
                    field_value(pod, &r.field_path, &pod_ip, &ctx.host_ip)?
                } else if let Some(r) = &from.resource_field_ref {
                    let target = match r.container_name.as_deref() {
                        Some(name) if !name.is_empty() && name != container.name => pod
                            .spec
                            .as_ref()
                            .and_then(|s| s.containers.iter().find(|c| c.name == name))
                            .ok_or_else(|| format!("container {name} not found"))?,
                        _ => container,
                    };
                    resource_value(
                        target,
                        &r.resource,
                        r.divisor.as_ref().map(|d| d.0.as_str()),
                    )?
                } else if let Some(r) = &from.config_map_key_ref {
                    let optional = r.optional == Some(true);
                    match config_map(ctx, &namespace, &r.name).await? {
                        Some(map) => match config_map_entries(&map).get(&r.key) {
                            Some(v) => String::from_utf8_lossy(v).into_owned(),
                            None if optional => continue,
                            None => {
                                return Err(format!(
                                    "couldn't find key {} in ConfigMap {namespace}/{}",
                                    r.key, r.name
                                ));
                            }
                        },
                        None if optional => continue,
                        None => return Err(format!("configmap \"{}\" not found", r.name)),
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    let optional = r.optional == Some(true);
                    match secret(ctx, &namespace, &r.name).await? {
                        Some(s) => match secret_entries(&s).get(&r.key) {
                            Some(v) => String::from_utf8_lossy(v).into_owned(),
                            None if optional => continue,
                            None => {
                                return Err(format!(
                                    "couldn't find key {} in Secret {namespace}/{}",
                                    r.key, r.name
                                ));
                            }
                        },
                        None if optional => continue,
                        None => return Err(format!("secret \"{}\" not found", r.name)),
                    }
                } else {
                    continue;
                }
            }
        };
        set(&mut env, var.name.clone(), value);
    }
    for (key, value) in service_env {
        if !env.iter().any(|(k, _)| *k == key) {
            env.push((key, value));
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_read_the_pod() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "n", "uid": "u", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": []}
        }))
        .unwrap();
        let value = |path| field_value(&pod, path, "10.42.0.5", "192.0.2.1").unwrap();
        assert_eq!(value("metadata.name"), "p");
        assert_eq!(value("metadata.labels['app']"), "web");
        assert_eq!(value("metadata.labels['none']"), "");
        assert_eq!(value("metadata.labels"), "app=\"web\"");
        assert_eq!(value("spec.nodeName"), "node-1");
        assert_eq!(value("status.podIP"), "10.42.0.5");
        assert!(field_value(&pod, "spec.bogus", "", "").is_err());
    }

    #[test]
    fn resource_fields_use_the_divisor() {
        let container: Container = serde_json::from_value(json!({
            "name": "c",
            "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}
        }))
        .unwrap();
        assert_eq!(
            resource_value(&container, "limits.memory", None).unwrap(),
            "67108864"
        );
        assert_eq!(
            resource_value(&container, "limits.memory", Some("1Mi")).unwrap(),
            "64"
        );
        assert_eq!(resource_value(&container, "limits.cpu", None).unwrap(), "1");
        assert_eq!(
            resource_value(&container, "limits.cpu", Some("1m")).unwrap(),
            "250"
        );
    }
}
