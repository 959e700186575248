//! Gantry's pod network across nodes (flannel's role in k3s, with its `host-gw` backend):
//! routes to every other node's pod range through that node's address, and masquerading for
//! pods' traffic leaving the cluster. Also the nftables plumbing the node's components share.
//!
//! Routes and the masquerading table stay when the node stops, as pods outlive their node
//! agent; the next start reconciles them.

pub mod masquerade;
pub mod nft;
pub mod routes;

use gantry_api::cidr::Ipv4Cidr;
use gantry_client::follow::follow;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The network's settings.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// This node's name.
    pub node_name: String,
    /// The cluster's pod range.
    pub cluster_cidr: Ipv4Cidr,
    /// The nftables table (family `ip`) holding the masquerading rule.
    pub table: String,
    /// How often routes are reconciled even without changes.
    pub resync_period: Duration,
}

impl NetworkConfig {
    /// Defaults for node `node_name` in the cluster range `cluster_cidr`.
    pub fn new(node_name: &str, cluster_cidr: Ipv4Cidr) -> Self {
        Self {
            node_name: node_name.to_owned(),
            cluster_cidr,
            table: "gantry-net".to_owned(),
            resync_period: Duration::from_secs(30),
        }
    }
}

/// Runs the node's network until `shutdown` completes.
pub async fn run(
    config: NetworkConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    nft::enable_forwarding();
    nft::apply(&masquerade::script(&config.table, config.cluster_cidr)).await?;
    let kernel = routes::Kernel::connect()?;
    let changed = Arc::new(Notify::new());
    let (nodes, follower) = follow(Api::<Node>::all(client), Arc::clone(&changed));
    tokio::pin!(shutdown);
    tokio::select! {
        ready = nodes.wait_until_ready() => ready?,
        () = &mut shutdown => {
            follower.abort();
            return Ok(());
        }
    }
    loop {
        let wanted = {
            let listed = nodes.state();
            routes::desired(listed.iter().map(AsRef::as_ref), &config.node_name)
        };
        let wait = match kernel.sync(&wanted).await {
            Ok(()) => config.resync_period,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "programming pod routes failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => break,
        }
    }
    follower.abort();
    Ok(())
}
