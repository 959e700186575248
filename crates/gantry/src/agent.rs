//! `gantry agent`: a worker node — the kubelet alone, against an API server elsewhere — and
//! the node flags `gantry server` shares with it.

use crate::client::Access;
use std::path::{Path, PathBuf};

/// The node's flags, shared by `gantry server` and `gantry agent` (k3s' names where it has
/// them).
#[derive(Debug, clap::Args)]
pub(crate) struct NodeArgs {
    /// The Node's name (default: the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// The node's address (default: the source address of the default route).
    #[arg(long)]
    node_ip: Option<std::net::IpAddr>,
    /// A running containerd's socket; without it the node starts its own containerd.
    #[arg(long)]
    container_runtime_endpoint: Option<PathBuf>,
    /// The pod CIDR of this node (upstream kubelet's `--pod-cidr`); without it, the node uses
    /// the range the controller manager allocates to its Node.
    #[arg(long)]
    pod_cidr: Option<String>,
    /// The name of the node's CNI bridge (distinct per node sharing a machine).
    #[arg(long, default_value = "gantry0")]
    cni_bridge: String,
    /// The port of the node's endpoints (logs, exec, port-forward) on its address; 0 picks a
    /// free one.
    #[arg(long, default_value_t = 10250)]
    kubelet_port: u16,
    /// Static pod manifests run by this node and mirrored to the API (upstream's
    /// `--pod-manifest-path`; default: `<data-dir>/agent/pod-manifests`).
    #[arg(long)]
    pod_manifest_path: Option<PathBuf>,
    /// Image archives (`*.tar`) imported into the runtime at start (default:
    /// `<data-dir>/agent/images`, as k3s' air-gap images directory).
    #[arg(long)]
    images_dir: Option<PathBuf>,
    /// The cluster's pod range (k3s' `--cluster-cidr`): the service proxy masquerades traffic
    /// to Services from outside it.
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: gantry_api::cidr::Ipv4Cidr,
    /// How pods reach pods on other nodes: `host-gw` (a route per node through its address;
    /// nodes must share a link) or `none` (k3s' `--flannel-backend`).
    #[arg(long, default_value = "host-gw", value_parser = ["host-gw", "none"])]
    flannel_backend: String,
    /// Stop and remove every pod's containers when the node stops (k3s' killall); without it
    /// pods keep running across a restart of the node, as they do under k3s.
    #[arg(long)]
    stop_pods_on_exit: bool,
    /// The nftables table the pod network's masquerading rule lives in.
    #[arg(long, default_value = "gantry-net")]
    network_table: String,
    /// Run no service proxy on this node (k3s' `--disable-kube-proxy`).
    #[arg(long)]
    disable_kube_proxy: bool,
    /// The nftables table the service proxy owns (distinct per node sharing a network
    /// namespace).
    #[arg(long, default_value = "gantry")]
    proxy_table: String,
    /// The cluster DNS's Service address, written into pods' resolv.conf (upstream kubelet's
    /// and k3s' `--cluster-dns`).
    #[arg(long, default_value = "10.43.0.10")]
    cluster_dns: std::net::Ipv4Addr,
    /// The cluster domain (upstream kubelet's and k3s' `--cluster-domain`).
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// The node's resolvers, for `dnsPolicy: Default` pods and names outside the cluster
    /// (upstream kubelet's `--resolv-conf`).
    #[arg(long, default_value = "/etc/resolv.conf")]
    resolv_conf: PathBuf,
    /// The port the node's DNS server listens on, on the node's address (the `kube-dns`
    /// Service's port 53 leads there); 0 picks a free one.
    #[arg(long, default_value_t = 10053)]
    cluster_dns_port: u16,
    /// Packaged components not to run (k3s' `--disable`): `coredns`, the cluster DNS (pods
    /// then use the node's resolvers).
    #[arg(long, value_parser = ["coredns"])]
    disable: Vec<String>,
}

/// Flags of `gantry agent`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (`https://HOST:6443`; a plain `http://` URL only for API servers
    /// run without TLS, as library tests do).
    #[arg(long)]
    server: String,
    /// The join token `gantry server` printed (`K10<CA hash>::<id>.<secret>`); needed once,
    /// until the node has its own certificate.
    #[arg(long, env = "GANTRY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where the node keeps its state (containerd, CNI, pods, logs under `<data-dir>/agent`).
    #[arg(long, default_value = "/var/lib/gantry")]
    data_dir: PathBuf,
    #[command(flatten)]
    node: NodeArgs,
}

/// The node's name: `--node-name`, else the host name.
pub(crate) fn node_name(node: &NodeArgs) -> String {
    node.node_name
        .clone()
        .unwrap_or_else(gantry_kubelet::node::facts::hostname)
}

/// The node's address: `--node-ip`, else the default route's source.
pub(crate) fn node_ip(node: &NodeArgs) -> Option<std::net::IpAddr> {
    node.node_ip
        .or_else(gantry_kubelet::node::facts::default_ip)
}

/// The kubelet's configuration from the node flags.
pub(crate) fn kubelet_config(data_dir: &Path, node: &NodeArgs) -> gantry_kubelet::KubeletConfig {
    let name = node_name(node);
    let root = data_dir.join("agent");
    let mut config = gantry_kubelet::KubeletConfig::new(&name, root.clone());
    config.node_ip = node.node_ip;
    config.containerd_socket = node.container_runtime_endpoint.clone();
    config.images_dir = Some(
        node.images_dir
            .clone()
            .unwrap_or_else(|| root.join("images")),
    );
    config.pod_cidr = node.pod_cidr.clone();
    config.cni_bridge = node.cni_bridge.clone();
    config.dns = gantry_kubelet::pods::dns::DnsSettings {
        // Without the cluster DNS, ClusterFirst pods use the node's resolvers (as upstream's
        // kubelet does without `--cluster-dns`).
        cluster_dns: if node.dns_enabled() {
            vec![node.cluster_dns.into()]
        } else {
            Vec::new()
        },
        cluster_domain: node.cluster_domain.clone(),
        resolv_conf: node.resolv_conf.clone(),
    };
    // With host-gw, the node's network masquerades what leaves the cluster; otherwise the bridge
    // masquerades what leaves the node.
    config.cni_masquerade = node.flannel_backend == "none";
    config.kubelet_port = node.kubelet_port;
    config.stop_pods_on_exit = node.stop_pods_on_exit;
    config.static_pod_path = Some(
        node.pod_manifest_path
            .clone()
            .unwrap_or_else(|| root.join("pod-manifests")),
    );
    config
}

impl NodeArgs {
    /// The cluster's pod range.
    pub(crate) fn cluster_cidr(&self) -> gantry_api::cidr::Ipv4Cidr {
        self.cluster_cidr
    }

    fn dns_enabled(&self) -> bool {
        !self.disable.iter().any(|d| d == "coredns")
    }
}

/// The cluster DNS's configuration from the node flags, unless it is disabled or the node has
/// no IPv4 address to serve on.
fn dns_config(node: &NodeArgs, node_name: &str) -> Option<gantry_dns::DnsConfig> {
    if !node.dns_enabled() {
        return None;
    }
    let listen_ip = match node_ip(node) {
        Some(std::net::IpAddr::V4(ip)) => ip,
        other => {
            tracing::warn!(address = ?other, "the cluster DNS needs an IPv4 node address; not started");
            return None;
        }
    };
    Some(gantry_dns::DnsConfig {
        node_name: node_name.to_owned(),
        listen_ip,
        port: node.cluster_dns_port,
        cluster_domain: node.cluster_domain.clone(),
        cluster_dns: node.cluster_dns,
        resolv_conf: node.resolv_conf.clone(),
    })
}

/// The service proxy's configuration from the node flags, unless it is disabled.
fn proxy_config(node: &NodeArgs, node_name: &str) -> Option<gantry_proxy::ProxyConfig> {
    if node.disable_kube_proxy {
        return None;
    }
    let mut config = gantry_proxy::ProxyConfig::new(node_name);
    config.cluster_cidr = Some(node.cluster_cidr);
    config.table = node.proxy_table.clone();
    Some(config)
}

/// The pod network's configuration from the node flags, unless it is disabled.
fn network_config(node: &NodeArgs, node_name: &str) -> Option<gantry_network::NetworkConfig> {
    if node.flannel_backend == "none" {
        return None;
    }
    let mut config = gantry_network::NetworkConfig::new(node_name, node.cluster_cidr);
    config.table = node.network_table.clone();
    Some(config)
}

/// Prints `node <name> Ready` once the node's Ready condition is first true.
async fn announce_ready(client: kube::Client, name: String) {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
    loop {
        if let Ok(Some(node)) = nodes.get_opt(&name).await {
            let ready = node
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            if ready {
                println!("node {name} Ready");
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Runs a node's components — the kubelet, the service proxy, the pod network and the
/// cluster DNS — against the API server at
/// `server` until `shutdown` completes (or the kubelet fails), then stops them all.
pub(crate) async fn run_node(
    access: &Access,
    data_dir: &Path,
    node: &NodeArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut kubelet = kubelet_config(data_dir, node);
    // The node trusts the authority its own credentials name to vouch for its callers.
    if let Access::Kubeconfig(text) = access {
        kubelet.client_ca_pem =
            gantry_pki::kubeconfig::embedded(text, "certificate-authority-data");
    }
    let proxy = proxy_config(node, &kubelet.node_name);
    let network = network_config(node, &kubelet.node_name);
    let dns = dns_config(node, &kubelet.node_name);
    let kubelet_client = crate::client::for_component(access, "kubelet").await?;
    let proxy_client = crate::client::for_component(access, "kube-proxy").await?;
    let network_client = crate::client::for_component(access, "flannel").await?;
    let dns_client = crate::client::for_component(access, "coredns").await?;
    let announce = tokio::spawn(announce_ready(
        kubelet_client.clone(),
        kubelet.node_name.clone(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let kubelet = async {
        let result = gantry_kubelet::run(kubelet, kubelet_client, stopped(stop_rx.clone())).await;
        // A failed kubelet takes the node down with it.
        let _ = stop_tx.send(true);
        result
    };
    let proxy = async {
        let Some(config) = proxy else {
            return;
        };
        if let Err(e) = gantry_proxy::run(config, proxy_client, stopped(stop_rx.clone())).await {
            tracing::warn!(error = %format!("{e:#}"), "the service proxy failed");
        }
    };
    let network = async {
        let Some(config) = network else {
            return;
        };
        if let Err(e) = gantry_network::run(config, network_client, stopped(stop_rx.clone())).await
        {
            tracing::warn!(error = %format!("{e:#}"), "the pod network failed");
        }
    };
    let dns = async {
        let Some(config) = dns else {
            return;
        };
        if let Err(e) = gantry_dns::run(config, dns_client, stopped(stop_rx.clone())).await {
            tracing::warn!(error = %format!("{e:#}"), "the cluster DNS failed");
        }
    };
    let signal = async {
        tokio::select! {
            () = shutdown => {}
            () = stopped(stop_rx.clone()) => {}
        }
        let _ = stop_tx.send(true);
    };
    let (result, (), (), (), ()) = tokio::join!(kubelet, proxy, network, dns, signal);
    announce.abort();
    result
}

/// Runs the node until SIGTERM or Ctrl-C.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    tracing::info!(server = %args.server, "starting the node agent");
    let name = node_name(&args.node);
    let shutdown = crate::server::shutdown_signal();
    tokio::pin!(shutdown);
    let mut access =
        crate::join::access(&args.server, args.token.as_deref(), &args.data_dir, &name).await?;
    loop {
        // The node runs until the signal, or until its certificate has been renewed: then its
        // components start again with the new one (pods run on meanwhile, as across any
        // restart of the node).
        let renewed = std::cell::RefCell::new(None);
        let stop = async {
            tokio::select! {
                () = &mut shutdown => {}
                kubeconfig = renew_when_due(&args, &name, &access) => {
                    *renewed.borrow_mut() = Some(kubeconfig);
                }
            }
        };
        run_node(&access, &args.data_dir, &args.node, stop).await?;
        match renewed.into_inner() {
            Some(kubeconfig) => access = Access::Kubeconfig(kubeconfig),
            None => return Ok(()),
        }
    }
}

/// Completes with a renewed kubeconfig once the node's certificate is due for renewal and has
/// been renewed (retrying every 30 s while the API server cannot); never for a node without
/// a certificate.
async fn renew_when_due(args: &Args, name: &str, access: &Access) -> String {
    let Access::Kubeconfig(kubeconfig) = access else {
        return std::future::pending().await;
    };
    let Some(due_in) = crate::join::renewal_due_in(kubeconfig) else {
        return std::future::pending().await;
    };
    tokio::time::sleep(due_in).await;
    loop {
        match crate::join::renew(&args.server, kubeconfig, &args.data_dir, name).await {
            Ok(renewed) => return renewed,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "renewing the node's certificate failed; retrying in 30s");
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            }
        }
    }
}
