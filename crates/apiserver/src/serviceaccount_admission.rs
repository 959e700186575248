//! Upstream's ServiceAccount admission plugin, as every cluster runs it: a new pod without a
//! `serviceAccountName` runs as `default`, and — unless the pod or its ServiceAccount turns
//! `automountServiceAccountToken` off — gets the `kube-api-access-<suffix>` projected volume
//! (a bound token, the cluster's `kube-root-ca.crt`, its namespace) mounted read-only at
//! `/var/run/secrets/kubernetes.io/serviceaccount` in every container, where in-cluster
//! clients look. Mirror pods (of static pods) are left alone: a static pod cannot use the API.
//!
//! Unlike upstream, a pod naming a ServiceAccount that does not exist yet is not refused (the
//! ServiceAccount controller may not have made `default` in a namespace created a moment ago);
//! its token requests fail until it does.

use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue;
use serde_json::{Value, json};

/// Where in-cluster clients find the token, CA and namespace.
pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The token lifetime the volume asks for (upstream's 3607 s, one hour and a bit, so that it
/// can be told from user-made tokens).
const TOKEN_SECONDS: i64 = 3607;

fn mounts_account_dir(container: &Value) -> bool {
    container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .is_some_and(|mounts| {
            mounts
                .iter()
                .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(MOUNT_PATH))
        })
}

/// The projected volume upstream adds.
fn access_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
}

impl Registry {
    /// Admits a new pod as upstream's ServiceAccount plugin does.
    pub(crate) async fn admit_pod_service_account(&self, pod: &mut Value) -> Result<(), ApiError> {
        let mirror = pod
            .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
            .is_some();
        if mirror {
            return Ok(());
        }
        let namespace = crate::meta::meta_str(pod, "namespace")
            .unwrap_or_default()
            .to_owned();
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let account = match spec.get("serviceAccountName").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                spec.insert("serviceAccountName".into(), json!("default"));
                "default".to_owned()
            }
        };
        let automount = match spec
            .get("automountServiceAccountToken")
            .and_then(Value::as_bool)
        {
            Some(pod_says) => pod_says,
            None => {
                let accounts = catalogue::find("", "v1", "serviceaccounts")
                    .ok_or_else(|| ApiError::internal("no serviceaccounts"))?;
                match self.get(accounts, Some(&namespace), &account).await {
                    Ok(found) => {
                        found
                            .get("automountServiceAccountToken")
                            .and_then(Value::as_bool)
                            != Some(false)
                    }
                    Err(e) if e.code == 404 => true,
                    Err(e) => return Err(e),
                }
            }
        };
        if !automount {
            return Ok(());
        }
        let volume = format!("kube-api-access-{}", crate::meta::name_suffix());
        let mut mounted = false;
        for list in ["initContainers", "containers"] {
            for container in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if mounts_account_dir(container) {
                    continue;
                }
                let mount = json!({"name": volume, "readOnly": true, "mountPath": MOUNT_PATH});
                match container
                    .get_mut("volumeMounts")
                    .and_then(Value::as_array_mut)
                {
                    Some(mounts) => mounts.push(mount),
                    None => {
                        container["volumeMounts"] = json!([mount]);
                    }
                }
                mounted = true;
            }
        }
        if mounted {
            match spec.get_mut("volumes").and_then(Value::as_array_mut) {
                Some(volumes) => volumes.push(access_volume(&volume)),
                None => {
                    spec.insert("volumes".into(), json!([access_volume(&volume)]));
                }
            }
        }
        Ok(())
    }
}
