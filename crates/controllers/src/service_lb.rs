//! The built-in load balancer (k3s' ServiceLB role): a `type: LoadBalancer` Service without a
//! `loadBalancerClass` gets the addresses of the ready nodes as its
//! `status.loadBalancer.ingress`, and every node's service proxy answers the Service's ports on
//! those addresses. As in k3s, one port serves one Service: a Service asking for a protocol and
//! port an older LoadBalancer Service holds stays pending (no ingress) until it is free.

use crate::Context;
use crate::informer::{Informer, key_of, split_key};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Nodes with this label are not load-balancer targets (upstream's label).
const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// The controller.
pub struct ServiceLbController {
    client: kube::Client,
    services: Arc<Informer<Service>>,
    nodes: Arc<Informer<Node>>,
    queue: Arc<WorkQueue>,
    recorder: gantry_client::events::Recorder,
}

impl std::fmt::Debug for ServiceLbController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLbController")
            .finish_non_exhaustive()
    }
}

fn is_ours(service: &Service) -> bool {
    service.spec.as_ref().is_some_and(|s| {
        s.type_.as_deref() == Some("LoadBalancer") && s.load_balancer_class.is_none()
    })
}

fn ports(service: &Service) -> BTreeSet<(String, i32)> {
    service
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| (p.protocol.clone().unwrap_or_else(|| "TCP".into()), p.port))
        .collect()
}

/// The addresses of the nodes that take load-balancer traffic: ready, not excluded, their
/// InternalIPs (ExternalIPs where they have them), sorted.
pub fn node_addresses<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Vec<String> {
    let mut addresses = BTreeSet::new();
    for node in nodes {
        let labels = node.metadata.labels.as_ref();
        if labels.is_some_and(|l| l.contains_key(EXCLUDE_LABEL)) {
            continue;
        }
        let status = node.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if !ready {
            continue;
        }
        let listed = status.and_then(|s| s.addresses.as_ref());
        let pick = |kind: &str| {
            listed
                .into_iter()
                .flatten()
                .find(|a| a.type_ == kind)
                .map(|a| a.address.clone())
        };
        if let Some(address) = pick("ExternalIP").or_else(|| pick("InternalIP")) {
            addresses.insert(address);
        }
    }
    addresses.into_iter().collect()
}

impl ServiceLbController {
    /// The controller, with its handlers on the Service and Node informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.services.on(move |old, new| {
                // A Service that stops being a load balancer has its status cleared; one that
                // goes frees its ports for the others.
                if let Some(service) = new.or(old) {
                    queue.add(key_of(service));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let services = Arc::clone(&ctx.services);
            ctx.nodes.on(move |_, _| {
                for service in services.list().iter().filter(|s| is_ours(s)) {
                    queue.add(key_of(&**service));
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            services: Arc::clone(&ctx.services),
            nodes: Arc::clone(&ctx.nodes),
            queue,
            recorder: ctx.recorder("service-lb-controller"),
        })
    }

    /// Whether an older load-balancer Service holds one of `service`'s ports.
    fn port_taken(&self, service: &Service) -> bool {
        let wanted = ports(service);
        let age = |s: &Service| {
            (
                s.metadata.creation_timestamp.as_ref().map(|t| t.0),
                key_of(s),
            )
        };
        let mine = age(service);
        self.services.list().iter().any(|other| {
            is_ours(other)
                && other.metadata.uid != service.metadata.uid
                && age(other) < mine
                && !ports(other).is_disjoint(&wanted)
        })
    }
}

impl Reconcile for ServiceLbController {
    fn name(&self) -> &'static str {
        "service-lb-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        // A Service that went frees its ports: the others asking for them are looked at again.
        let Some(service) = self.services.get(&key) else {
            for other in self.services.list().iter().filter(|s| is_ours(s)) {
                if other
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|lb| lb.ingress.as_ref())
                    .is_none_or(Vec::is_empty)
                {
                    self.queue.add(key_of(&**other));
                }
            }
            return Ok(None);
        };
        let wanted: Vec<String> = if is_ours(&service) && !self.port_taken(&service) {
            node_addresses(self.nodes.list().iter().map(AsRef::as_ref))
        } else {
            Vec::new()
        };
        let current: Vec<String> = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.clone())
            .collect();
        let managed = is_ours(&service);
        // Someone else's load balancer (a class, or not a LoadBalancer at all with no status
        // of ours to clear) is left alone.
        if current == wanted || (!managed && current.is_empty()) {
            return Ok(None);
        }
        let ingress: Vec<serde_json::Value> = wanted
            .iter()
            .map(|ip| json!({"ip": ip, "ipMode": "VIP"}))
            .collect();
        let (namespace, name) = split_key(&key);
        let api: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({"status": {"loadBalancer": {"ingress": ingress}}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        if managed && !wanted.is_empty() {
            self.recorder.normal(
                &*service,
                None,
                "EnsuredLoadBalancer",
                "Ensured load balancer".to_owned(),
            );
        } else if managed {
            self.recorder.warning(
                &*service,
                None,
                "SyncLoadBalancerFailed",
                "Error syncing load balancer: a port is held by another LoadBalancer Service, or no node is ready".to_owned(),
            );
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ready: &str, labels: serde_json::Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "status": {
                "conditions": [{"type": "Ready", "status": ready}],
                "addresses": [{"type": "InternalIP", "address": format!("192.0.2.{}", name.len())},
                              {"type": "Hostname", "address": name}],
            },
        }))
        .unwrap()
    }

    #[test]
    fn ready_nodes_that_are_not_excluded_take_the_traffic() {
        let nodes = [
            node("a", "True", json!({})),
            node("bb", "False", json!({})),
            node("ccc", "True", json!({EXCLUDE_LABEL: ""})),
            node("dddd", "True", json!({})),
        ];
        assert_eq!(node_addresses(&nodes), ["192.0.2.1", "192.0.2.4"]);
    }
}
