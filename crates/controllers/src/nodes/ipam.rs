//! Node IPAM: every Node gets a slice of the cluster's pod range as its `spec.podCIDR` (and
//! `podCIDRs`), as upstream's range allocator does with `--allocate-node-cidrs`. The node's
//! agent writes its CNI bridge configuration for that slice, and the other nodes route it.
//!
//! The allocator keeps no state of its own that could drift: the slices in use are read from
//! the Node cache on every allocation, plus the ones this process has just written and the
//! cache has not shown yet. One worker allocates, so two nodes never get one slice.

use crate::Context;
use crate::informer::Informer;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::cidr::Ipv4Cidr;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The controller.
pub struct NodeIpamController {
    client: kube::Client,
    nodes: Arc<Informer<Node>>,
    queue: Arc<WorkQueue>,
    recorder: gantry_client::events::Recorder,
    cluster: Ipv4Cidr,
    mask: u8,
    /// Slices written but not yet seen in the cache, by node.
    pending: Mutex<BTreeMap<String, Ipv4Cidr>>,
    /// Nodes already told the range is exhausted (told once, not on every retry).
    told: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for NodeIpamController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIpamController")
            .field("cluster", &self.cluster)
            .field("mask", &self.mask)
            .finish_non_exhaustive()
    }
}

impl NodeIpamController {
    /// The controller for `cluster` cut into slices of `mask` bits.
    pub fn new(ctx: &Context, cluster: Ipv4Cidr, mask: u8) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.nodes.on(move |_, new| {
                if let Some(node) = new
                    && node
                        .spec
                        .as_ref()
                        .and_then(|s| s.pod_cidr.as_ref())
                        .is_none()
                {
                    queue.add(node.metadata.name.clone().unwrap_or_default());
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            nodes: Arc::clone(&ctx.nodes),
            queue,
            recorder: ctx.recorder("node-ipam-controller"),
            cluster,
            mask,
            pending: Mutex::default(),
            told: Mutex::default(),
        })
    }

    /// The slices in use: the cache's, and those written since that the cache lacks.
    fn used(&self) -> BTreeSet<u32> {
        let nodes = self.nodes.list();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // A pending slice is settled once the cache shows its node with it, or without the node.
        pending.retain(|name, _| {
            self.nodes
                .get(name)
                .is_some_and(|node| pod_cidr(&node).is_none())
        });
        nodes
            .iter()
            .filter_map(|node| pod_cidr(node))
            .chain(pending.values().copied())
            .filter(|cidr| cidr.prefix() == self.mask)
            .filter_map(|cidr| self.cluster.index_of(&cidr))
            .collect()
    }
}

fn pod_cidr(node: &Node) -> Option<Ipv4Cidr> {
    node.spec.as_ref()?.pod_cidr.as_deref()?.parse().ok()
}

/// The first slice of `cluster` (of `mask` bits) not in `used`.
pub fn first_free(cluster: Ipv4Cidr, mask: u8, used: &BTreeSet<u32>) -> Option<Ipv4Cidr> {
    let count = u32::try_from(cluster.subnets(mask)).unwrap_or(u32::MAX);
    (0..count)
        .find(|i| !used.contains(i))
        .and_then(|i| cluster.subnet(mask, i))
}

impl Reconcile for NodeIpamController {
    fn name(&self) -> &'static str {
        "node-ipam-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, name: String) -> anyhow::Result<Option<Duration>> {
        let Some(node) = self.nodes.get(&name) else {
            return Ok(None);
        };
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&name);
        if pod_cidr(&node).is_some() || pending {
            return Ok(None);
        }
        let Some(cidr) = first_free(self.cluster, self.mask, &self.used()) else {
            // Upstream's event when the range is exhausted; retried as nodes go.
            let first = self
                .told
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.clone());
            if first {
                self.recorder.warning(
                    &*node,
                    None,
                    "CIDRNotAvailable",
                    format!("Node {name} status is now: CIDRNotAvailable"),
                );
            }
            return Ok(Some(Duration::from_secs(60)));
        };
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"spec": {"podCIDR": cidr.to_string(), "podCIDRs": [cidr.to_string()]}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), cidr);
        tracing::info!(node = %name, %cidr, "allocated the node's pod range");
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_free_slice_fills_gaps_before_the_end() {
        let cluster: Ipv4Cidr = "10.42.0.0/16".parse().unwrap();
        let used: BTreeSet<u32> = [0, 1, 3].into();
        assert_eq!(
            first_free(cluster, 24, &used).unwrap().to_string(),
            "10.42.2.0/24"
        );
        let small: Ipv4Cidr = "10.42.0.0/23".parse().unwrap();
        assert_eq!(first_free(small, 24, &[0, 1].into()), None);
    }
}
