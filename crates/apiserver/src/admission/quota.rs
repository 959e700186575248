//! Upstream's ResourceQuota admission: a new object is refused when it would take some quota
//! of its namespace past `hard` (`exceeded quota: <name>, requested: …, used: …, limited: …`),
//! or leaves out a request or limit a quota constrains (`failed quota: <name>: must specify
//! …`); otherwise the quota's `status.used` is charged at once, so that two creates racing
//! cannot both slip under the limit before the quota controller recounts.

use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue::{self, Resource};
use gantry_api::resources::{format, pod_total};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The compute resources quotas constrain on pods.
const COMPUTE: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// What `object` (of `resource`) adds to each quota resource.
fn usage(resource: &Resource, object: &Value) -> BTreeMap<String, f64> {
    let mut used = BTreeMap::new();
    let counted = match resource.group {
        "" => resource.plural.to_owned(),
        group => format!("{}.{group}", resource.plural),
    };
    used.insert(format!("count/{counted}"), 1.0);
    match (resource.group, resource.plural) {
        ("", "pods") => {
            used.insert("pods".into(), 1.0);
            for name in COMPUTE {
                let requests = pod_total(object, "requests", name);
                used.insert((*name).to_owned(), requests);
                used.insert(format!("requests.{name}"), requests);
                used.insert(format!("limits.{name}"), pod_total(object, "limits", name));
            }
        }
        ("", "services") => {
            used.insert("services".into(), 1.0);
            let kind = object
                .pointer("/spec/type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let ports = object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map_or(0, Vec::len) as f64;
            used.insert(
                "services.nodeports".into(),
                if matches!(kind, "NodePort" | "LoadBalancer") {
                    ports
                } else {
                    0.0
                },
            );
            used.insert(
                "services.loadbalancers".into(),
                if kind == "LoadBalancer" { 1.0 } else { 0.0 },
            );
        }
        ("", "persistentvolumeclaims") => {
            used.insert("persistentvolumeclaims".into(), 1.0);
            let storage = object
                .pointer("/spec/resources/requests/storage")
                .and_then(Value::as_str)
                .and_then(|q| gantry_api::quantity::parse(q).ok())
                .unwrap_or(0.0);
            used.insert("requests.storage".into(), storage);
        }
        ("", plural @ ("configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas")) => {
            used.insert(plural.to_owned(), 1.0);
        }
        _ => {}
    }
    used
}

fn quantity(value: Option<&Value>) -> f64 {
    value
        .and_then(Value::as_str)
        .and_then(|q| gantry_api::quantity::parse(q).ok())
        .unwrap_or(0.0)
}

/// `a=1,b=2` as upstream prints resource lists.
fn listed(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Containers of a pod that leave `kind.resource` (`requests.cpu`) unset.
fn unspecified(pod: &Value, constrained: &str) -> Vec<String> {
    let Some((kind, resource)) = constrained.split_once('.') else {
        return Vec::new();
    };
    let kind = if kind == "limits" {
        "limits"
    } else {
        "requests"
    };
    ["initContainers", "containers"]
        .iter()
        .flat_map(|list| {
            pod.pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|c| {
            c.pointer(&format!("/resources/{kind}/{resource}"))
                .is_none()
        })
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

impl Registry {
    /// Admits a new object against its namespace's quotas, charging them when it fits.
    pub(crate) async fn admit_quota(
        &self,
        resource: &'static Resource,
        namespace: &str,
        object: &Value,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let quotas = super::list_core(self, "resourcequotas", namespace).await?;
        if quotas.is_empty() {
            return Ok(());
        }
        let name = crate::meta::meta_str(object, "name")
            .unwrap_or_default()
            .to_owned();
        let refuse =
            |detail: String| ApiError::forbidden(resource.group, resource.plural, &name, &detail);
        let delta = usage(resource, object);
        let mut charges = Vec::new();
        for quota in &quotas {
            let quota_name = crate::meta::meta_str(quota, "name").unwrap_or_default();
            let hard = quota
                .pointer("/spec/hard")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let constrained: Vec<&String> =
                hard.keys().filter(|r| delta.contains_key(*r)).collect();
            if constrained.is_empty() {
                continue;
            }
            if resource.plural == "pods" && resource.group.is_empty() {
                for r in constrained.iter().filter(|r| {
                    r.starts_with("requests.")
                        || r.starts_with("limits.")
                        || COMPUTE.contains(&r.as_str())
                }) {
                    let wanted = if COMPUTE.contains(&r.as_str()) {
                        format!("requests.{r}")
                    } else {
                        (*r).clone()
                    };
                    let missing = unspecified(object, &wanted);
                    if !missing.is_empty() {
                        return Err(refuse(format!(
                            "failed quota: {quota_name}: must specify {r} for: {}",
                            missing.join(",")
                        )));
                    }
                }
            }
            let status_hard = quota.pointer("/status/hard").and_then(Value::as_object);
            if status_hard.is_none_or(|h| constrained.iter().any(|r| !h.contains_key(*r))) {
                let names: Vec<&str> = constrained.iter().map(|r| r.as_str()).collect();
                return Err(refuse(format!(
                    "status unknown for quota: {quota_name}, resources: {}",
                    names.join(",")
                )));
            }
            let mut requested = Vec::new();
            let mut used_now = Vec::new();
            let mut limited = Vec::new();
            let mut over = false;
            let mut new_used = quota
                .pointer("/status/used")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for r in &constrained {
                let add = delta[*r];
                let used = quantity(new_used.get(*r));
                let limit = quantity(hard.get(*r));
                if used + add > limit + 1e-9 {
                    over = true;
                    requested.push(((*r).clone(), format(r, add)));
                    used_now.push(((*r).clone(), format(r, used)));
                    limited.push(((*r).clone(), format(r, limit)));
                }
                new_used.insert((*r).clone(), json!(format(r, used + add)));
            }
            if over {
                return Err(refuse(format!(
                    "exceeded quota: {quota_name}, requested: {}, used: {}, limited: {}",
                    listed(&requested),
                    listed(&used_now),
                    listed(&limited)
                )));
            }
            charges.push((quota_name.to_owned(), new_used));
        }
        if dry_run {
            return Ok(());
        }
        let quotas_resource = catalogue::find("", "v1", "resourcequotas")
            .ok_or_else(|| ApiError::internal("no resourcequotas"))?;
        for (quota_name, used) in charges {
            let mut current = self
                .get(quotas_resource, Some(namespace), &quota_name)
                .await?;
            current["status"]["used"] = Value::Object(used);
            // A conflict means someone else charged or recounted meanwhile: the controller's
            // next count corrects the usage either way.
            if let Err(e) = self
                .update(
                    quotas_resource,
                    Some(namespace),
                    &quota_name,
                    Some("status"),
                    current,
                    false,
                )
                .await
            {
                tracing::debug!(quota = %quota_name, error = %e.message, "charging a quota failed");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_uses_one_pod_and_its_requests() {
        let pods = catalogue::find("", "v1", "pods").unwrap();
        let pod = json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "64Mi"}}}]}});
        let used = usage(pods, &pod);
        assert_eq!(used["pods"], 1.0);
        assert_eq!(used["count/pods"], 1.0);
        assert!((used["requests.cpu"] - 0.25).abs() < 1e-9);
        assert_eq!(format("limits.memory", used["limits.memory"]), "64Mi");
        assert_eq!(unspecified(&pod, "limits.cpu"), vec!["c".to_owned()]);
        assert!(unspecified(&pod, "requests.cpu").is_empty());
    }
}
