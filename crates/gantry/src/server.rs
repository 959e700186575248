//! `gantry server` (a control-plane node) and `gantry apiserver`: the store, the API server and,
//! for a node, every other component as its issue lands.

use crate::client::Access;
use anyhow::Context;
use gantry_store::Store;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use gantry_store::etcd::EtcdStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Flags shared by `gantry server` and `gantry apiserver`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the node keeps its state (the embedded store lives in `<data-dir>/store`, the admin
    /// kubeconfig in `<data-dir>/admin.kubeconfig`).
    #[arg(long, default_value = "/var/lib/gantry")]
    data_dir: PathBuf,
    /// etcd client URLs (comma-separated) to use instead of the embedded store.
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// How often to compact the store's history; `0` turns compaction off (as upstream's
    /// `--etcd-compaction-interval`).
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
    etcd_compaction_interval: Duration,
    /// Where the API server listens (HTTPS only).
    #[arg(long, default_value = "0.0.0.0:6443")]
    api_listen: SocketAddr,
    /// Encrypt Secrets in the store with a key made at first start (k3s' flag): the
    /// configuration is kept in `<data-dir>/cred/encryption-config.yaml`.
    #[arg(long)]
    secrets_encryption: bool,
    /// An `EncryptionConfiguration` file saying which resources are encrypted at rest, and how
    /// (upstream's `--encryption-provider-config`; `aesgcm` and `identity` providers).
    #[arg(long, conflicts_with = "secrets_encryption")]
    encryption_provider_config: Option<PathBuf>,
    /// More host names or addresses for the serving certificate (k3s' `--tls-san`); it always
    /// names `kubernetes` and its Service names, `localhost`, this host and its address.
    #[arg(long, value_delimiter = ',')]
    tls_san: Vec<String>,
    /// The CIDR Service cluster IPs come from (upstream's `--service-cluster-ip-range`).
    #[arg(long, default_value = "10.43.0.0/16")]
    service_cluster_ip_range: String,
    /// The range Service node ports come from (upstream's `--service-node-port-range`).
    #[arg(long, default_value = "30000-32767")]
    service_node_port_range: String,
    #[command(flatten)]
    agent: crate::agent::NodeArgs,
    /// Run no node agent (kubelet) on this server.
    #[arg(long)]
    disable_agent: bool,
    /// Run no scheduler on this server.
    #[arg(long)]
    disable_scheduler: bool,
    /// A `KubeSchedulerConfiguration` file for the scheduler (profiles, plugins, leader
    /// election). Without one: upstream's default profile, and no leader election, since one
    /// server has no rival.
    #[arg(long)]
    scheduler_config: Option<std::path::PathBuf>,
    /// Run no controller manager on this server.
    #[arg(long)]
    disable_controller_manager: bool,
    /// How long a node may go without a heartbeat before the controller manager marks it
    /// `Unknown` and taints it (upstream's `--node-monitor-grace-period`).
    #[arg(long, default_value = "40s", value_parser = crate::duration::parse)]
    node_monitor_grace_period: Duration,
    /// Where the built-in `local-path` provisioner keeps volumes on the nodes (default:
    /// `<data-dir>/storage`).
    #[arg(long)]
    local_path_dir: Option<PathBuf>,
    #[command(flatten)]
    ipam: crate::controller_manager::IpamArgs,
    /// An `AdmissionConfiguration` file (upstream's `--admission-control-config-file`): its
    /// PodSecurity entry sets the policies of unlabelled namespaces and the exemptions.
    #[arg(long)]
    admission_control_config_file: Option<PathBuf>,
    /// The longest a certificate signed for a CertificateSigningRequest is valid (upstream's
    /// `--cluster-signing-duration`); nodes renew theirs when four fifths of it have passed.
    #[arg(long, default_value = "8760h", value_parser = crate::duration::parse)]
    cluster_signing_duration: Duration,
}

/// What the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `gantry server`: every component.
    Node,
    /// `gantry apiserver`: the API server alone.
    ApiServer,
}

/// How often the store tells idle watches where it is; the API server turns these into
/// bookmarks, which upstream sends about once a minute.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(60);

async fn open_store(args: &Args) -> anyhow::Result<Arc<dyn Store>> {
    if args.etcd_servers.is_empty() {
        let dir = args.data_dir.join("store");
        let mut config = EmbeddedConfig::new(&dir);
        config.progress_interval = PROGRESS_INTERVAL;
        let store = EmbeddedStore::open(config)
            .with_context(|| format!("opening the embedded store in {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), "embedded store open");
        Ok(Arc::new(store))
    } else {
        let store = EtcdStore::connect(&args.etcd_servers)
            .await
            .with_context(|| format!("connecting to etcd at {}", args.etcd_servers.join(",")))?;
        tracing::info!(servers = %args.etcd_servers.join(","), "connected to etcd");
        Ok(Arc::new(store))
    }
}

/// The encryption-at-rest configuration the flags ask for, if any.
fn encryption(
    args: &Args,
) -> anyhow::Result<Option<gantry_apiserver::encryption::EncryptionConfig>> {
    let path = match (&args.encryption_provider_config, args.secrets_encryption) {
        (Some(path), _) => path.clone(),
        (None, true) => {
            let path = args.data_dir.join("cred").join("encryption-config.yaml");
            if !path.exists() {
                let text = gantry_apiserver::encryption::EncryptionConfig::generate()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                std::fs::create_dir_all(path.parent().unwrap_or(&args.data_dir))?;
                gantry_pki::authority::write_private(&path, &text)?;
            }
            path
        }
        (None, false) => return Ok(None),
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config = gantry_apiserver::encryption::EncryptionConfig::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    tracing::info!(config = %path.display(), "encrypting at rest");
    Ok(Some(config))
}

pub(crate) async fn run(args: Args, role: Role) -> anyhow::Result<()> {
    // Listening before anything is announced: a stop request never finds the default action.
    let shutdown = shutdown_signal();
    let store = open_store(&args).await?;
    let store: Arc<dyn Store> = match encryption(&args)? {
        Some(config) => Arc::new(gantry_apiserver::encryption::EncryptingStore::new(
            store, config,
        )),
        None => store,
    };
    let revision = store.current_revision().await?;
    tracing::info!(revision, "store ready");
    // The progress a user watches for, on standard output (the logs go to standard error).
    println!("store ready");

    let ranges = gantry_apiserver::allocator::Ranges::parse(
        &args.service_cluster_ip_range,
        &args.service_node_port_range,
    )
    .map_err(|e| anyhow::anyhow!("invalid service ranges: {e}"))?;
    let pki = crate::pki::ServerPki::load(&args.data_dir)?;
    let mut addresses = vec![ranges.first().into()];
    addresses.extend(advertised_ip(&args));
    let config = gantry_apiserver::Config {
        bind: args.api_listen,
        ranges,
        tls: Some(pki.serving(&addresses, &args.tls_san)?),
        service_accounts: Some(gantry_apiserver::ServiceAccountConfig {
            key_pem: pki.service_account_key(&args.data_dir)?,
            issuer: gantry_apiserver::auth::service_account::DEFAULT_ISSUER.to_owned(),
        }),
        // Pods reach the API server through the kubernetes Service at the advertised
        // address (the port is the one bound).
        // (A loopback address is no use to pods: nothing is published then.)
        advertise: advertised_ip(&args)
            .filter(|ip| !ip.is_loopback())
            .map(|ip| SocketAddr::new(ip, args.api_listen.port())),
        pod_security: match &args.admission_control_config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                gantry_apiserver::admission::pod_security::Configuration::from_admission_configuration(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => Default::default(),
        },
    };
    let apiserver = gantry_apiserver::ApiServer::bind(config, Arc::clone(&store)).await?;
    let address = apiserver.local_addr()?;
    tracing::info!(%address, "API server listening");
    let local = format!("https://{}", local_url_host(address));
    let kubeconfig = write_kubeconfig(&args.data_dir, &pki, address)?;
    let token = pki.join_token(&args.data_dir)?;
    let public = match advertised_ip(&args) {
        Some(ip) => format!("https://{}", SocketAddr::new(ip, address.port())),
        None => local.clone(),
    };
    println!("api ready on {public}");
    // Scripts and newcomers look for this exact line.
    println!("export KUBECONFIG={}", kubeconfig.display());
    let join_objects = async {
        let admin = pki.kubeconfig(&local, "system:admin", &["system:masters"])?;
        let client = crate::client::for_component(&Access::Kubeconfig(admin), "gantry").await?;
        if role == Role::Node && !args.disable_agent {
            let name = crate::agent::node_name(&args.agent);
            tokio::spawn(label_control_plane(client.clone(), name));
        }
        crate::pki::publish_join_objects(client, &public, pki.authority(), &token).await?;
        println!("To join a node: gantry agent --server {public} --token {token}");
        anyhow::Ok(())
    };
    let component = |user: &str, groups: &[&str]| -> anyhow::Result<Access> {
        Ok(Access::Kubeconfig(pki.kubeconfig(&local, user, groups)?))
    };

    let agent = async {
        if role != Role::Node || args.disable_agent {
            shutdown.await;
            return Ok(());
        }
        let name = crate::agent::node_name(&args.agent);
        let access = component(&format!("system:node:{name}"), &["system:nodes"])?;
        crate::agent::run_node(&access, &args.data_dir, &args.agent, shutdown).await
    };
    // Everything stops when the agent has: it stops on the signal (after finishing the
    // teardowns it has begun, which still need the API server), or fails.
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let agent_finished = |mut done: tokio::sync::watch::Receiver<bool>| async move {
        let _ = done.wait_for(|finished| *finished).await;
    };
    let compaction = async {
        if args.etcd_compaction_interval.is_zero() {
            agent_finished(done_rx.clone()).await;
            return;
        }
        gantry_store::compaction::run(
            &*store,
            args.etcd_compaction_interval,
            agent_finished(done_rx.clone()),
        )
        .await;
    };
    let serve = apiserver.run(agent_finished(done_rx.clone()));
    let agent = async {
        let result = agent.await;
        let _ = done_tx.send(true);
        result
    };
    let scheduler = async {
        if role != Role::Node || args.disable_scheduler {
            return Ok(());
        }
        let access = component("system:kube-scheduler", &[])?;
        let client = crate::client::for_component(&access, "kube-scheduler").await?;
        let config = match &args.scheduler_config {
            Some(path) => gantry_scheduler::SchedulerConfig::from_file(path)?,
            None => {
                let mut config = gantry_scheduler::SchedulerConfig::default();
                config.leader_election.leader_elect = false;
                config
            }
        };
        gantry_scheduler::run(config, client, agent_finished(done_rx.clone())).await
    };
    let controllers = async {
        if role != Role::Node || args.disable_controller_manager {
            return Ok(());
        }
        let access = component("system:kube-controller-manager", &[])?;
        let client = crate::client::for_component(&access, "kube-controller-manager").await?;
        // One server has no rival to elect against (as for the embedded scheduler).
        let config = gantry_controllers::Config {
            leader_elect: false,
            node_monitor_grace_period: args.node_monitor_grace_period,
            local_path_dir: args
                .local_path_dir
                .clone()
                .unwrap_or_else(|| args.data_dir.join("storage")),
            cluster_cidr: args.ipam.allocation(args.agent.cluster_cidr())?,
            node_cidr_mask_size: args.ipam.mask(),
            signing: Some(Arc::clone(pki.authority())),
            signing_duration: args.cluster_signing_duration,
            root_ca: Some(pki.authority().cert_pem().to_owned()),
            ..gantry_controllers::Config::default()
        };
        gantry_controllers::run(config, client, agent_finished(done_rx.clone())).await
    };
    let published = async {
        if let Err(e) = join_objects.await {
            tracing::error!(error = %format!("{e:#}"), "publishing what joining nodes need failed");
        }
    };
    let ((), (), (), result, scheduled, controlled) =
        tokio::join!(published, compaction, serve, agent, scheduler, controllers);
    if let Err(e) = scheduled {
        tracing::error!(error = %format!("{e:#}"), "the scheduler failed");
    }
    if let Err(e) = controlled {
        tracing::error!(error = %format!("{e:#}"), "the controller manager failed");
    }
    if let Err(e) = result {
        tracing::error!(error = %format!("{e:#}"), "the node agent failed");
        return Err(e);
    }
    tracing::info!("shutting down");
    Ok(())
}

/// Gives the server's own node its role label once it has registered (as k3s' server does: a
/// node may not label itself with a role).
async fn label_control_plane(client: kube::Client, name: String) {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
    let patch = serde_json::json!({"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "true"}}});
    loop {
        if let Ok(Some(_)) = nodes.get_opt(&name).await {
            let params = kube::api::PatchParams::default();
            match nodes
                .patch(&name, &params, &kube::api::Patch::Merge(&patch))
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "labelling the node as the control plane failed")
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `host:port` for reaching the API server on `address` from this machine.
fn local_url_host(address: SocketAddr) -> String {
    match address.ip() {
        ip if ip.is_unspecified() => format!("127.0.0.1:{}", address.port()),
        _ => address.to_string(),
    }
}

/// The address other machines reach this server at: the one it listens on, else the node's
/// (`--node-ip`, or the default route's source).
fn advertised_ip(args: &Args) -> Option<std::net::IpAddr> {
    let listen = args.api_listen.ip();
    if !listen.is_unspecified() {
        return Some(listen);
    }
    crate::agent::node_ip(&args.agent)
}

/// Writes the admin kubeconfig for this server (`system:admin` in `system:masters`) and returns
/// its path.
fn write_kubeconfig(
    data_dir: &Path,
    pki: &crate::pki::ServerPki,
    address: SocketAddr,
) -> anyhow::Result<PathBuf> {
    let path = data_dir.join("admin.kubeconfig");
    let url = format!("https://{}", local_url_host(address));
    let contents = pki.kubeconfig(&url, "system:admin", &["system:masters"])?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    gantry_pki::authority::write_private(&path, &contents)?;
    Ok(path)
}

/// Completes when the signal arrives (never, without a handler).
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled: a signal that arrives in between (a test stopping a server that
/// has just printed its address) is kept, rather than killing the process by default.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).ok();
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            () = received(terminate.as_mut()) => {}
            () = received(interrupt.as_mut()) => {}
        }
    }
}
