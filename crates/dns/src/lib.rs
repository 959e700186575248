//! Gantry's cluster DNS (CoreDNS's role in k3s): every node serves the cluster zone — Services,
//! their ports and endpoints, pods — from watches of Services and EndpointSlices, and forwards
//! every other name to the node's own resolvers. Pods reach it through the `kube-dns` Service's
//! well-known cluster IP, which the service proxy sends to the pod's own node.

pub mod forward;
pub mod register;
pub mod server;
pub mod zone;

#[cfg(test)]
mod zone_tests;

#[cfg(test)]
mod server_tests;

use gantry_client::follow::follow;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// The DNS server's settings.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// This node's name.
    pub node_name: String,
    /// The address the server listens on (the node's).
    pub listen_ip: Ipv4Addr,
    /// Its port (UDP and TCP); 0 picks a free one.
    pub port: u16,
    /// The cluster domain (upstream kubelet's `--cluster-domain`).
    pub cluster_domain: String,
    /// The `kube-dns` Service's cluster IP (upstream kubelet's `--cluster-dns`).
    pub cluster_dns: Ipv4Addr,
    /// Where the upstream resolvers are listed (upstream kubelet's `--resolv-conf`).
    pub resolv_conf: PathBuf,
}

/// Runs the server until `shutdown` completes; its endpoint is withdrawn then.
pub async fn run(
    config: DnsConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let address = SocketAddr::new(IpAddr::V4(config.listen_ip), config.port);
    let udp = Arc::new(
        tokio::net::UdpSocket::bind(address)
            .await
            .map_err(|e| anyhow::anyhow!("the cluster DNS cannot listen on {address}/udp: {e}"))?,
    );
    let port = udp.local_addr()?.port();
    let tcp = tokio::net::TcpListener::bind(SocketAddr::new(address.ip(), port))
        .await
        .map_err(|e| anyhow::anyhow!("the cluster DNS cannot listen on {address}/tcp: {e}"))?;
    let resolv = std::fs::read_to_string(&config.resolv_conf).unwrap_or_default();
    let upstreams = forward::Upstreams::from_resolv_conf(
        &resolv,
        &[IpAddr::V4(config.cluster_dns), IpAddr::V4(config.listen_ip)],
    );
    let state = Arc::new(server::State {
        zone: RwLock::new(Arc::new(zone::Zone::build(&config.cluster_domain, [], []))),
        upstreams,
    });
    let changed = Arc::new(Notify::new());
    let (services, services_task) =
        follow(Api::<Service>::all(client.clone()), Arc::clone(&changed));
    let (slices, slices_task) = follow(
        Api::<EndpointSlice>::all(client.clone()),
        Arc::clone(&changed),
    );
    let rebuild = {
        let state = Arc::clone(&state);
        let domain = config.cluster_domain.clone();
        async move {
            loop {
                changed.notified().await;
                // Bursts of changes make one rebuild.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let zone = zone::Zone::build(
                    &domain,
                    services.state().iter().map(AsRef::as_ref),
                    slices.state().iter().map(AsRef::as_ref),
                );
                *state.zone.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(zone);
            }
        }
    };
    let publish = async {
        if let Err(e) = register::ensure_service(&client, config.cluster_dns).await {
            tracing::warn!(error = %format!("{e:#}"), "the cluster DNS has no Service");
        }
        // The Node may not be registered yet: retried until it is.
        while let Err(e) =
            register::publish(&client, &config.node_name, config.listen_ip, port).await
        {
            tracing::debug!(error = %format!("{e:#}"), "publishing the node's DNS endpoint; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tracing::info!(address = %SocketAddr::new(address.ip(), port), upstreams = ?state.upstreams.0, "cluster DNS serving");
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = server::serve_udp(udp, Arc::clone(&state)) => {}
        () = server::serve_tcp(tcp, Arc::clone(&state)) => {}
        () = rebuild => {}
        () = publish => {}
        () = shutdown => {}
    }
    services_task.abort();
    slices_task.abort();
    register::withdraw(&client, &config.node_name).await;
    Ok(())
}
