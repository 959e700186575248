//! Gantry's service proxy (upstream's kube-proxy in its nftables mode): watches Services and
//! EndpointSlices and programs one nftables table per node so that a Service's cluster IP,
//! node ports and external addresses reach its ready endpoints.
//!
//! Every change is coalesced for a moment, rendered into the whole desired table
//! ([`rules::Ruleset`]) and applied as one atomic transaction holding only the difference
//! ([`transaction`]). A full resync — every chain and map rewritten, stale objects removed — runs
//! at start (once both caches are filled, so a restarted proxy keeps the old rules until then),
//! periodically, and after any failure. The table is removed when the proxy stops.

pub mod model;
pub mod rules;
pub mod transaction;

#[cfg(test)]
mod rules_tests;

use gantry_api::cidr::Ipv4Cidr;
use gantry_client::follow::follow;
use gantry_network::nft;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use rules::{RenderConfig, Ruleset};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use transaction::Before;

/// The proxy's settings.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// This node's name (endpoints on it are "local").
    pub node_name: String,
    /// The cluster's pod range (upstream's `--cluster-cidr`).
    pub cluster_cidr: Option<Ipv4Cidr>,
    /// The nftables table (family `ip`) the proxy owns.
    pub table: String,
    /// How often the whole table is rewritten even without changes (upstream's `--sync-period`).
    pub sync_period: Duration,
    /// How long changes are gathered before a sync (upstream's `--min-sync-period`).
    pub min_sync_period: Duration,
}

impl ProxyConfig {
    /// Defaults for node `node_name`.
    pub fn new(node_name: &str) -> Self {
        Self {
            node_name: node_name.to_owned(),
            cluster_cidr: None,
            table: "gantry".to_owned(),
            sync_period: Duration::from_secs(30),
            min_sync_period: Duration::from_millis(100),
        }
    }
}

/// Runs the proxy until `shutdown` completes, then removes its table.
pub async fn run(
    config: ProxyConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    nft::enable_forwarding();
    let changed = Arc::new(Notify::new());
    let (services, services_task) =
        follow(Api::<Service>::all(client.clone()), Arc::clone(&changed));
    let (slices, slices_task) = follow(Api::<EndpointSlice>::all(client), Arc::clone(&changed));
    tokio::pin!(shutdown);
    let ready = async {
        let _ = services.wait_until_ready().await;
        let _ = slices.wait_until_ready().await;
    };
    tokio::select! {
        () = ready => {}
        () = &mut shutdown => {
            services_task.abort();
            slices_task.abort();
            return Ok(());
        }
    }
    tracing::info!(table = %config.table, "service proxy caches synced");
    let render = RenderConfig {
        cluster_cidr: config.cluster_cidr,
    };
    let mut applied: Option<Ruleset> = None;
    let mut last_full = Instant::now();
    loop {
        let full_due = applied.is_none() || last_full.elapsed() >= config.sync_period;
        let started = Instant::now();
        let wanted = {
            let services = services.state();
            let slices = slices.state();
            let ports = model::service_ports(
                services.iter().map(AsRef::as_ref),
                slices.iter().map(AsRef::as_ref),
                &config.node_name,
            );
            Ruleset::render(&ports, &render)
        };
        if full_due || applied.as_ref() != Some(&wanted) {
            let result = sync(&config.table, applied.as_ref(), full_due, &wanted).await;
            match result {
                Ok(()) => {
                    tracing::debug!(
                        full = full_due,
                        chains = wanted.chains.len(),
                        took_ms = started.elapsed().as_millis(),
                        "service rules programmed"
                    );
                    if full_due {
                        last_full = Instant::now();
                    }
                    applied = Some(wanted);
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "programming service rules failed; resyncing");
                    applied = None;
                }
            }
        }
        let wait = if applied.is_none() {
            Duration::from_secs(1) // retry a failed sync soon
        } else {
            config.sync_period.saturating_sub(last_full.elapsed())
        };
        tokio::select! {
            () = changed.notified() => tokio::time::sleep(config.min_sync_period).await,
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => break,
        }
    }
    services_task.abort();
    slices_task.abort();
    nft::remove_table(&config.table).await?;
    tracing::info!(table = %config.table, "service rules removed");
    Ok(())
}

async fn sync(
    table: &str,
    applied: Option<&Ruleset>,
    full: bool,
    wanted: &Ruleset,
) -> anyhow::Result<()> {
    let script = match applied {
        Some(applied) if !full => transaction::transaction(table, Before::Applied(applied), wanted),
        _ => {
            let listing = nft::list(table).await?;
            transaction::transaction(table, Before::Listed(&listing), wanted)
        }
    };
    nft::apply(&script).await
}
