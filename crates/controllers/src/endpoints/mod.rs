//! The endpoint controllers (upstream's EndpointSlice and Endpoints controllers, one reconcile
//! here since both follow the same pods): for every Service with a selector, EndpointSlices
//! (`<service>-<random>`, owned by the Service, labelled `kubernetes.io/service-name` and
//! managed by `endpointslice-controller.k8s.io`, at most 100 endpoints each, one set per
//! distinct resolved port list, an empty placeholder when no pod matches) with `ready`,
//! `serving` and `terminating` conditions, node, zone and pod reference; and the Endpoints
//! object of the same name as the Service (`addresses` and `notReadyAddresses` per port
//! list).

pub mod desired;

use crate::Context;
use crate::informer::{key_of, split_key};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use desired::{Endpoint, Port};
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Upstream's `--max-endpoints-per-slice` default.
const PER_SLICE: usize = 100;
/// The label naming a slice's Service.
const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The label naming who manages a slice.
const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const MANAGER: &str = "endpointslice-controller.k8s.io";

/// The controller.
#[derive(Debug)]
pub struct EndpointsController {
    ctx: Context,
    queue: Arc<WorkQueue>,
}

fn selector(service: &Service) -> Option<BTreeMap<String, String>> {
    service
        .spec
        .as_ref()?
        .selector
        .clone()
        .filter(|s| !s.is_empty())
}

fn selects(service: &Service, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    selector(service).is_some_and(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

impl EndpointsController {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.services.on(move |old, new| {
                if let Some(service) = new.or(old) {
                    queue.add(key_of(service));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let services = Arc::clone(&ctx.services);
            ctx.pods.on(move |old, new| {
                let namespace = new
                    .or(old)
                    .and_then(|p| p.metadata.namespace.clone())
                    .unwrap_or_default();
                for service in services.list_namespace(&namespace) {
                    if [old, new]
                        .into_iter()
                        .flatten()
                        .any(|p| selects(&service, p))
                    {
                        queue.add(key_of(&*service));
                    }
                }
            });
        }
        {
            // A slice changed or deleted by someone else is put right.
            let queue = Arc::clone(&queue);
            ctx.endpoint_slices.on(move |old, new| {
                let Some(slice) = new.or(old) else { return };
                let labels = slice.metadata.labels.clone().unwrap_or_default();
                if labels.get(MANAGED_BY).map(String::as_str) == Some(MANAGER)
                    && let Some(service) = labels.get(SERVICE_NAME)
                {
                    queue.add(format!(
                        "{}/{service}",
                        slice.metadata.namespace.as_deref().unwrap_or_default()
                    ));
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            queue,
        })
    }

    fn zone_of(&self, node: Option<&str>) -> Option<String> {
        let node = self.ctx.nodes.get(node?)?;
        node.metadata
            .labels
            .as_ref()?
            .get("topology.kubernetes.io/zone")
            .cloned()
    }

    fn endpoint_json(&self, e: &Endpoint) -> Value {
        let mut endpoint = json!({
            "addresses": [e.ip],
            "conditions": {"ready": e.ready, "serving": e.serving, "terminating": e.terminating},
            "targetRef": {"kind": "Pod", "namespace": e.target.0, "name": e.target.1, "uid": e.target.2},
        });
        if let Some(node) = &e.node {
            endpoint["nodeName"] = json!(node);
        }
        if let Some(zone) = self.zone_of(e.node.as_deref()) {
            endpoint["zone"] = json!(zone);
        }
        if let Some(hostname) = &e.hostname {
            endpoint["hostname"] = json!(hostname);
        }
        endpoint
    }

    /// Brings the Service's slices to `groups`: slices with the same ports are reused, the
    /// rest created or deleted; unchanged slices are not written.
    async fn sync_slices(
        &self,
        service: &Service,
        groups: &BTreeMap<Vec<Port>, Vec<Endpoint>>,
    ) -> anyhow::Result<()> {
        let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let uid = service.metadata.uid.as_deref().unwrap_or_default();
        let api: Api<EndpointSlice> = Api::namespaced(self.ctx.client.clone(), namespace);
        let mut existing: Vec<Arc<EndpointSlice>> = self
            .ctx
            .endpoint_slices
            .list_namespace(namespace)
            .into_iter()
            .filter(|s| {
                let labels = s.metadata.labels.clone().unwrap_or_default();
                labels.get(SERVICE_NAME).map(String::as_str) == Some(name)
                    && labels.get(MANAGED_BY).map(String::as_str) == Some(MANAGER)
            })
            .collect();
        // The wanted slices: (ports, endpoints), with a placeholder when there are none.
        let mut wanted: Vec<(Value, Vec<Value>)> = Vec::new();
        for (ports, endpoints) in groups {
            let ports: Value = ports.iter().map(Port::to_json).collect();
            for chunk in endpoints.chunks(PER_SLICE) {
                wanted.push((
                    ports.clone(),
                    chunk.iter().map(|e| self.endpoint_json(e)).collect(),
                ));
            }
        }
        if wanted.is_empty() {
            wanted.push((json!([]), Vec::new()));
        }
        let mut labels = service.metadata.labels.clone().unwrap_or_default();
        labels.insert(SERVICE_NAME.to_owned(), name.to_owned());
        labels.insert(MANAGED_BY.to_owned(), MANAGER.to_owned());
        let owner = json!({"apiVersion": "v1", "kind": "Service", "name": name, "uid": uid,
            "controller": true, "blockOwnerDeletion": true});
        for (ports, endpoints) in wanted {
            let same_ports = existing.iter().position(|s| {
                serde_json::to_value(&s.ports)
                    .unwrap_or(Value::Null)
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    == ports.as_array().cloned().unwrap_or_default()
            });
            let body = json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"labels": labels, "ownerReferences": [owner]},
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            });
            match same_ports {
                Some(i) => {
                    let slice = existing.remove(i);
                    let current = serde_json::to_value(&*slice)?;
                    let current_endpoints = current.get("endpoints").cloned().unwrap_or(json!([]));
                    let current_labels = serde_json::to_value(&slice.metadata.labels)?;
                    if current_endpoints != body["endpoints"] || current_labels != json!(labels) {
                        let slice_name = slice.metadata.name.clone().unwrap_or_default();
                        let patch =
                            json!({"metadata": {"labels": labels}, "endpoints": body["endpoints"]});
                        api.patch(&slice_name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await?;
                    }
                }
                None => {
                    let mut body = body;
                    body["metadata"]["generateName"] = json!(format!("{name}-"));
                    let slice: EndpointSlice = serde_json::from_value(body)?;
                    api.create(&PostParams::default(), &slice).await?;
                }
            }
        }
        for stale in existing {
            let stale_name = stale.metadata.name.clone().unwrap_or_default();
            match api.delete(&stale_name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if crate::is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Brings the Endpoints object to `groups` (upstream's subsets, addresses sorted).
    async fn sync_endpoints(
        &self,
        service: &Service,
        groups: &BTreeMap<Vec<Port>, Vec<Endpoint>>,
    ) -> anyhow::Result<()> {
        let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let address = |e: &Endpoint| {
            let mut a = json!({"ip": e.ip, "targetRef": {"kind": "Pod", "namespace": e.target.0, "name": e.target.1, "uid": e.target.2}});
            if let Some(node) = &e.node {
                a["nodeName"] = json!(node);
            }
            if let Some(hostname) = &e.hostname {
                a["hostname"] = json!(hostname);
            }
            a
        };
        let subsets: Vec<Value> = groups
            .iter()
            .filter_map(|(ports, endpoints)| {
                // Terminating pods are left out of Endpoints, as upstream.
                let live: Vec<&Endpoint> = endpoints
                    .iter()
                    .filter(|e| !e.terminating || e.ready)
                    .collect();
                if live.is_empty() {
                    return None;
                }
                let ready: Vec<Value> = live
                    .iter()
                    .filter(|e| e.ready)
                    .map(|e| address(e))
                    .collect();
                let not_ready: Vec<Value> = live
                    .iter()
                    .filter(|e| !e.ready)
                    .map(|e| address(e))
                    .collect();
                let mut subset =
                    json!({"ports": ports.iter().map(Port::to_json).collect::<Vec<_>>()});
                if !ready.is_empty() {
                    subset["addresses"] = json!(ready);
                }
                if !not_ready.is_empty() {
                    subset["notReadyAddresses"] = json!(not_ready);
                }
                Some(subset)
            })
            .collect();
        let mut labels = service.metadata.labels.clone().unwrap_or_default();
        let headless = service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None");
        if headless {
            labels.insert("service.kubernetes.io/headless".to_owned(), String::new());
        }
        let api: Api<Endpoints> = Api::namespaced(self.ctx.client.clone(), namespace);
        let current = self.ctx.endpoints.get(&format!("{namespace}/{name}"));
        let subsets_value = if subsets.is_empty() {
            Value::Null
        } else {
            json!(subsets)
        };
        match current {
            Some(current) => {
                let now = serde_json::to_value(&current.subsets)?;
                let current_labels = current.metadata.labels.clone().unwrap_or_default();
                if now != subsets_value || current_labels != labels {
                    let patch = json!({"metadata": {"labels": labels}, "subsets": subsets_value});
                    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await?;
                }
            }
            None => {
                let endpoints: Endpoints = serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": namespace, "labels": labels},
                    "subsets": subsets_value,
                }))?;
                match api.create(&PostParams::default(), &endpoints).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        anyhow::bail!("the Endpoints object appeared meanwhile; retrying")
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}

impl Reconcile for EndpointsController {
    fn name(&self) -> &'static str {
        "endpointslice-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let (namespace, name) = split_key(&key);
        let Some(service) = self.ctx.services.get(&key) else {
            // The Service went: so does its Endpoints object (its slices go with their owner).
            if self.ctx.endpoints.get(&key).is_some() {
                let api: Api<Endpoints> = Api::namespaced(self.ctx.client.clone(), namespace);
                match api.delete(name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if crate::is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(None);
        };
        if selector(&service).is_none() || service.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let pods = self.ctx.pods.list_namespace(namespace);
        let chosen: Vec<&Pod> = pods
            .iter()
            .map(|p| &**p)
            .filter(|p| selects(&service, p))
            .collect();
        let groups = desired::desired(&service, &chosen);
        self.sync_slices(&service, &groups).await?;
        self.sync_endpoints(&service, &groups).await?;
        Ok(None)
    }
}
