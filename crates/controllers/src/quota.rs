//! The ResourceQuota controller: every quota's `status.hard` mirrors `spec.hard`, and
//! `status.used` counts what the namespace holds of each of those resources — pods that have
//! not finished and their `requests.*`/`limits.*` (and bare `cpu`/`memory`, meaning requests),
//! object counts (`pods`, `services`, `configmaps`, `secrets`, `persistentvolumeclaims`,
//! `replicationcontrollers`, `resourcequotas`, `services.nodeports`,
//! `services.loadbalancers`, and `count/<resource>.<group>`), and claimed storage
//! (`requests.storage`). Pods are counted from the shared cache, other objects by listing them
//! (again every 30 s, as upstream resyncs quotas).

use crate::Context;
use crate::discovery;
use crate::informer::{key_of, split_key};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often usage is recounted without a change seen.
const RESYNC: Duration = Duration::from_secs(30);

/// The controller.
#[derive(Debug)]
pub struct QuotaController {
    ctx: Context,
    queue: Arc<WorkQueue>,
}

pub use gantry_api::resources::format;

/// What a pod asks for (`requests` or `limits`) of `resource`.
fn container_sum(pod: &Pod, kind: &str, resource: &str) -> f64 {
    serde_json::to_value(pod).map_or(0.0, |pod| {
        gantry_api::resources::pod_total(&pod, kind, resource)
    })
}

impl QuotaController {
    /// The controller, with its handlers on the quota and pod informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.quotas.on(move |old, new| {
                // The controller's own status writes change nothing it counts.
                let spec_changed = match (old, new) {
                    (Some(a), Some(b)) => a.spec != b.spec,
                    _ => true,
                };
                if let Some(quota) = new.filter(|_| spec_changed) {
                    queue.add(key_of(quota));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let quotas = Arc::clone(&ctx.quotas);
            ctx.pods.on(move |old, new| {
                let namespace = new
                    .or(old)
                    .and_then(|p| p.metadata.namespace.clone())
                    .unwrap_or_default();
                for quota in quotas.list_namespace(&namespace) {
                    queue.add(key_of(&*quota));
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            queue,
        })
    }

    /// How many objects of `resource` (`plural.group`, or a plural of the core group) the
    /// namespace holds, counting only those `keep` accepts.
    async fn count(
        &self,
        served: &[discovery::Served],
        namespace: &str,
        resource: &str,
        keep: impl Fn(&DynamicObject) -> bool,
    ) -> anyhow::Result<f64> {
        let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
        let Some(found) = served
            .iter()
            .find(|s| s.resource.plural == plural && s.resource.group == group)
        else {
            return Ok(0.0);
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.ctx.client.clone(), namespace, &found.resource);
        Ok(api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|o| keep(o))
            .count() as f64)
    }
}

impl Reconcile for QuotaController {
    fn name(&self) -> &'static str {
        "resourcequota-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(quota) = self.ctx.quotas.get(&key) else {
            return Ok(None);
        };
        let (namespace, name) = split_key(&key);
        let hard = quota
            .spec
            .as_ref()
            .and_then(|s| s.hard.clone())
            .unwrap_or_default();
        let pods: Vec<Arc<Pod>> = self
            .ctx
            .pods
            .list_namespace(namespace)
            .into_iter()
            .filter(|p| {
                !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
            })
            .collect();
        // Discovery once per pass, and only when some object count needs it.
        let counts_objects = hard.keys().any(|r| {
            !r.starts_with("requests.")
                && !r.starts_with("limits.")
                && !matches!(
                    r.as_str(),
                    "pods" | "count/pods" | "cpu" | "memory" | "ephemeral-storage"
                )
        });
        let served = if counts_objects {
            discovery::deletable(&self.ctx.client).await?
        } else {
            Vec::new()
        };
        let mut used: BTreeMap<String, String> = BTreeMap::new();
        for resource in hard.keys() {
            let value = match resource.as_str() {
                "pods" | "count/pods" => pods.len() as f64,
                "cpu" | "memory" | "ephemeral-storage" => pods
                    .iter()
                    .map(|p| container_sum(p, "requests", resource))
                    .sum(),
                r if r.starts_with("requests.") && r != "requests.storage" => pods
                    .iter()
                    .map(|p| container_sum(p, "requests", &r["requests.".len()..]))
                    .sum(),
                r if r.starts_with("limits.") => pods
                    .iter()
                    .map(|p| container_sum(p, "limits", &r["limits.".len()..]))
                    .sum(),
                "services"
                | "configmaps"
                | "secrets"
                | "persistentvolumeclaims"
                | "replicationcontrollers"
                | "resourcequotas" => self.count(&served, namespace, resource, |_| true).await?,
                "services.nodeports" | "services.loadbalancers" => {
                    let wanted = if resource == "services.nodeports" {
                        "NodePort"
                    } else {
                        "LoadBalancer"
                    };
                    self.count(&served, namespace, "services", |s| {
                        s.data["spec"]["type"] == wanted
                    })
                    .await?
                }
                "requests.storage" => {
                    let api: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
                        Api::namespaced(self.ctx.client.clone(), namespace);
                    api.list(&ListParams::default())
                        .await?
                        .items
                        .iter()
                        .filter_map(|c| {
                            c.spec
                                .as_ref()?
                                .resources
                                .as_ref()?
                                .requests
                                .as_ref()?
                                .get("storage")
                                .cloned()
                        })
                        .filter_map(|q| gantry_api::quantity::parse(&q.0).ok())
                        .sum()
                }
                r if r.starts_with("count/") => {
                    self.count(&served, namespace, &r["count/".len()..], |_| true)
                        .await?
                }
                // Unknown or extended resources are left uncounted.
                _ => continue,
            };
            used.insert(resource.clone(), format(resource, value));
        }
        let current_used = quota
            .status
            .as_ref()
            .and_then(|s| s.used.clone())
            .unwrap_or_default();
        let current_hard = quota
            .status
            .as_ref()
            .and_then(|s| s.hard.clone())
            .unwrap_or_default();
        let used_now: BTreeMap<String, String> = current_used
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        let hard_now: BTreeMap<String, String> = current_hard
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        let hard_wanted: BTreeMap<String, String> =
            hard.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect();
        if used_now != used || hard_now != hard_wanted {
            let api: Api<ResourceQuota> = Api::namespaced(self.ctx.client.clone(), namespace);
            let patch = json!({"status": {"hard": hard_wanted, "used": used}});
            // Replaced whole: resources dropped from the quota leave its status too.
            let replace = json!({"status": {"hard": null, "used": null}});
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&replace))
                .await?;
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Ok(Some(RESYNC))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_as_the_api_prints_them() {
        assert_eq!(format("requests.cpu", 0.5), "500m");
        assert_eq!(format("cpu", 2.0), "2");
        assert_eq!(format("requests.memory", f64::from(3u32 << 30)), "3Gi");
        assert_eq!(format("requests.memory", 1000.0), "1000");
        assert_eq!(format("pods", 3.0), "3");
        assert_eq!(format("pods", 0.0), "0");
    }
}
