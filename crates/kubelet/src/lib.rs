//! Gantry's kubelet: the node agent. It runs containerd (or uses a running one), registers the
//! Node and keeps its status and Lease fresh, and turns the PodSpecs bound to this node into
//! containers through CRI, reporting their status — as upstream's kubelet does.
//!
//! It talks to the API server only through kube-rs, as upstream components use client-go.

pub mod clock;
pub mod local_volumes;
pub mod logs;
pub mod node;
pub mod pods;
pub mod query;
pub mod runtime;
pub mod server;
pub mod server_auth;
pub mod stats;
pub mod streams;

use anyhow::Context;
use node::status::{NodeIdentity, NodeStatus, Observed};
use runtime::containerd::{Containerd, ContainerdSettings};
use runtime::cri::Cri;
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The node's configuration.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// The Node's name.
    pub node_name: String,
    /// The node's address (default: the source address of the default route).
    pub node_ip: Option<IpAddr>,
    /// Where the node keeps containerd, CNI, pod volumes and logs.
    pub root_dir: PathBuf,
    /// A running containerd's socket; `None` starts our own.
    pub containerd_socket: Option<PathBuf>,
    /// Image archives to import at start (k3s' air-gap images directory).
    pub images_dir: Option<PathBuf>,
    /// The sandbox (pause) image.
    pub sandbox_image: String,
    /// The pod CIDR of this node; `None` takes the one the controller manager's IPAM gives
    /// the Node (`spec.podCIDR`), as upstream's kubelet does.
    pub pod_cidr: Option<String>,
    /// The CNI bridge's name.
    pub cni_bridge: String,
    /// Where the CNI plugins are.
    pub cni_bin_dir: PathBuf,
    /// How pods' resolv.conf is made (cluster DNS, domain, the node's resolv.conf).
    pub dns: pods::dns::DnsSettings,
    /// Whether the CNI bridge masquerades pods' traffic leaving the node's range; off when the
    /// node's network masquerades traffic leaving the cluster's instead.
    pub cni_masquerade: bool,
    /// How often the node status is computed (upstream's `nodeStatusUpdateFrequency`).
    pub status_update_frequency: Duration,
    /// Static pod manifests (upstream's `staticPodPath`); `None` runs none.
    pub static_pod_path: Option<PathBuf>,
    /// The port of the node's HTTP endpoints (logs, exec, ...) on the node's address; 0 picks
    /// a free one (several nodes on one machine).
    pub kubelet_port: u16,
    /// Stop every pod when the node stops (otherwise they run on until it is back).
    pub stop_pods_on_exit: bool,
    /// The cluster authority (PEM): with it the node's endpoints are served over TLS (with a
    /// self-signed certificate, as upstream's kubelet makes without one given) to callers
    /// presenting a certificate it signed, authorized by the API server (upstream's x509
    /// authentication and Webhook authorization); without it, plain HTTP and no checks.
    pub client_ca_pem: Option<String>,
}

impl KubeletConfig {
    /// Defaults as upstream and k3s have them, for the node `node_name` rooted at `root_dir`.
    pub fn new(node_name: &str, root_dir: PathBuf) -> Self {
        Self {
            node_name: node_name.to_owned(),
            node_ip: None,
            root_dir,
            containerd_socket: None,
            images_dir: None,
            sandbox_image: "registry.k8s.io/pause:3.10".to_owned(),
            pod_cidr: None,
            cni_bridge: "gantry0".to_owned(),
            cni_bin_dir: PathBuf::from("/usr/lib/cni"),
            cni_masquerade: true,
            dns: pods::dns::DnsSettings::default(),
            status_update_frequency: Duration::from_secs(10),
            kubelet_port: 10250,
            static_pod_path: None,
            stop_pods_on_exit: false,
            client_ca_pem: None,
        }
    }
}

/// Runs the node until `shutdown` completes. Pods keep running across a restart of the node
/// unless `stop_pods_on_exit` says otherwise.
pub async fn run(
    config: KubeletConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let containerd_dir = config.root_dir.join("containerd");
    let (managed, socket, cni) = match &config.containerd_socket {
        Some(socket) => (None, socket.clone(), None),
        None => {
            let cni_conf_dir = config.root_dir.join("cni").join("net.d");
            let cni = runtime::cni::NodeNetwork {
                name: format!("gantry-{}", config.cni_bridge),
                bridge: config.cni_bridge.clone(),
                conf_dir: cni_conf_dir.clone(),
                ipam_dir: config.root_dir.join("cni").join("ipam"),
                masquerade: config.cni_masquerade,
            };
            // A range given up front is written before containerd starts; one from the
            // Node object follows registration (containerd reloads the directory).
            if let Some(pod_cidr) = &config.pod_cidr {
                cni.write(pod_cidr)
                    .context("writing the CNI network configuration")?;
            }
            let settings = ContainerdSettings {
                dir: containerd_dir.clone(),
                sandbox_image: config.sandbox_image.clone(),
                cni_conf_dir,
                cni_bin_dir: config.cni_bin_dir.clone(),
            };
            let containerd = Containerd::start(&settings).await?;
            tracing::info!(socket = %settings.socket().display(), "containerd started");
            (Some(containerd), settings.socket(), Some(cni))
        }
    };
    let result = run_node(&config, client, &socket, cni, shutdown).await;
    if let Some(containerd) = managed {
        containerd.stop().await;
        tracing::info!("containerd stopped");
    }
    result
}

/// A self-signed serving certificate for the node's endpoints (upstream's kubelet makes one
/// named `<host>-ca@<time>` when given none), verifying clients against `client_ca_pem`.
fn serving_tls(
    identity: &NodeIdentity,
    client_ca_pem: &str,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let issuer =
        gantry_pki::Authority::generate(&format!("{}-ca@{}", identity.name, clock::now_secs()))?;
    let leaf = issuer.issue(&gantry_pki::Leaf::server(
        &identity.name,
        vec![identity.name.clone(), node::facts::hostname()],
        vec![identity.ip],
    ))?;
    let chain = format!("{}{}", leaf.cert_pem, issuer.cert_pem());
    gantry_pki::tls::server_config(&chain, &leaf.key_pem, client_ca_pem, &[b"http/1.1"])
        .map_err(|e| anyhow::anyhow!("the node's serving certificate: {e}"))
}

async fn run_node(
    config: &KubeletConfig,
    client: kube::Client,
    socket: &std::path::Path,
    cni: Option<runtime::cni::NodeNetwork>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let cri = Cri::connect(socket)
        .await
        .with_context(|| format!("connecting to CRI at {}", socket.display()))?;
    let version = wait_for_runtime(&cri).await?;
    tracing::info!(runtime = %version.0, version = %version.1, "runtime ready");
    if let Some(dir) = &config.images_dir {
        runtime::images::import_dir(socket, dir).await?;
    }
    let ip = config
        .node_ip
        .or_else(node::facts::default_ip)
        .context("the node has no address other than loopback; give it one with --node-ip")?;
    let listener = tokio::net::TcpListener::bind((ip, config.kubelet_port))
        .await
        .with_context(|| format!("listening on {ip}:{}", config.kubelet_port))?;
    let kubelet_port = listener.local_addr()?.port();
    let identity = NodeIdentity {
        name: config.node_name.clone(),
        ip,
        labels: node::status::default_labels(&config.node_name),
        pod_cidr: config.pod_cidr.clone(),
        data_dir: config.root_dir.clone(),
        kubelet_port,
    };
    let mut status = NodeStatus::new(client.clone(), identity.clone(), &version)?;
    status.register().await.context("registering the node")?;
    status
        .update(Observed::read(
            &identity,
            runtime_ready(&cri).await,
            node_images(&cri).await,
        ))
        .await
        .context("writing the node status")?;
    node::lease::renew(&client, &config.node_name)
        .await
        .context("creating the node lease")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    // Nothing waits on the signal: the environment reads the cache as it is.
    let (services, services_follower) = gantry_client::follow::follow(
        kube::Api::<k8s_openapi::api::core::v1::Service>::all(client.clone()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let ctx = Arc::new(pods::PodContext {
        cri: cri.clone(),
        runtime_name: version.0.clone(),
        client: client.clone(),
        node_name: config.node_name.clone(),
        host_ip: ip.to_string(),
        log_root: config.root_dir.join("pod-logs"),
        pods_root: config.root_dir.join("pods"),
        recorder: pods::events::Recorder::new(client.clone(), "kubelet", &config.node_name),
        memory_capacity: node::facts::capacity(&config.root_dir)?.memory_bytes,
        dns: config.dns.clone(),
        services,
    });
    let security = match &config.client_ca_pem {
        Some(ca) => Some(Arc::new(server::Security {
            tls: serving_tls(&identity, ca)?,
            authorizer: server_auth::Authorizer::new(client.clone(), &config.node_name),
        })),
        None => None,
    };
    let endpoints = tokio::spawn(server::serve(
        listener,
        Arc::clone(&ctx),
        security,
        stop_rx.clone(),
    ));
    let network = match (cni, &config.pod_cidr) {
        (Some(cni), None) => Some(tokio::spawn(runtime::cni::follow_node(
            cni,
            client.clone(),
            config.node_name.clone(),
            stop_rx.clone(),
        ))),
        _ => None,
    };
    let static_pods = config.static_pod_path.clone().map(|dir| {
        tokio::spawn(pods::static_pods::run(
            Arc::clone(&ctx),
            dir,
            stop_rx.clone(),
        ))
    });
    let teardown_ctx = Arc::clone(&ctx);
    let pods = tokio::spawn(pods::manager::run(ctx, stop_rx.clone()));
    let volumes = tokio::spawn(local_volumes::run(
        client.clone(),
        config.node_name.clone(),
        stop_rx.clone(),
    ));
    let heartbeat = {
        let client = client.clone();
        let name = config.node_name.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(node::lease::renew_interval());
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                if let Err(e) = node::lease::renew(&client, &name).await {
                    tracing::warn!(error = %e, "renewing the node lease failed");
                }
            }
        })
    };
    let status_loop = {
        let mut stop = stop_rx.clone();
        let frequency = config.status_update_frequency;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(frequency);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                let observed = Observed::read(
                    &identity,
                    runtime_ready(&cri).await,
                    node_images(&cri).await,
                );
                if let Err(e) = status.update(observed).await {
                    tracing::warn!(error = %e, "updating the node status failed");
                }
            }
        })
    };
    tracing::info!(node = %config.node_name, %ip, "node running");
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = tokio::join!(pods, heartbeat, status_loop, endpoints, volumes);
    if config.stop_pods_on_exit {
        let stopped = pods::teardown::stop_all(&teardown_ctx).await;
        tracing::info!(pods = stopped, "stopped every pod on the way out");
    }
    services_follower.abort();
    for task in static_pods.into_iter().chain(network) {
        let _ = task.await;
    }
    Ok(())
}

/// Asks the runtime its version until it answers: containerd opens its socket before its CRI
/// plugin has finished loading (longer when it recovers containers after a restart).
async fn wait_for_runtime(cri: &Cri) -> anyhow::Result<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match cri.version().await {
            Ok(version) => return Ok(version),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = %e.message(), "the runtime is not ready yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => anyhow::bail!("the runtime did not become ready: {}", e.message()),
        }
    }
}

/// The runtime's own view of its readiness (CRI `Status`: RuntimeReady and NetworkReady), in
/// upstream's words when it is not ready.
/// The images for the node's status (none when the runtime cannot say: the next round will).
async fn node_images(cri: &Cri) -> Vec<(Vec<String>, u64)> {
    cri.node_images(50).await.unwrap_or_else(|e| {
        tracing::debug!(error = %e.message(), "could not list images");
        Vec::new()
    })
}

async fn runtime_ready(cri: &Cri) -> Result<(), String> {
    let reply = cri
        .runtime
        .clone()
        .status(k8s_cri::v1::StatusRequest { verbose: false })
        .await
        .map_err(|e| format!("container runtime is down: {}", e.message()))?
        .into_inner();
    let conditions = reply.status.map(|s| s.conditions).unwrap_or_default();
    let failing: Vec<String> = conditions
        .iter()
        .filter(|c| !c.status)
        .map(|c| {
            format!(
                "{}=false reason:{} message:{}",
                c.r#type, c.reason, c.message
            )
        })
        .collect();
    match failing.as_slice() {
        [] => Ok(()),
        _ if conditions
            .iter()
            .any(|c| c.r#type == "RuntimeReady" && !c.status) =>
        {
            Err(format!(
                "container runtime status check may not have completed yet: {}",
                failing.join(", ")
            ))
        }
        _ => Err(format!(
            "container runtime network not ready: {}",
            failing.join(", ")
        )),
    }
}
