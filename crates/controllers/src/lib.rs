//! Gantry's controller manager: the reconcilers that move the cluster toward what its objects
//! declare, as upstream's kube-controller-manager.
//!
//! Every controller has the same shape (see `runner`): shared informers (one watch per kind
//! for all controllers) call handlers that only enqueue keys on the controller's work queue;
//! workers reconcile one key at a time per key; expectations keep a controller from acting
//! twice on children its informer has not seen yet. One controller manager leads at a time,
//! through the `kube-system/kube-controller-manager` Lease.

pub mod certificates;
pub mod claim;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod discovery;
pub mod disruption;
pub mod endpoints;
pub mod expectations;
pub mod gc;
pub mod informer;
pub mod job;
pub mod namespace;
pub mod nodes;
pub mod pods;
pub mod queue;
pub mod quota;
pub mod rbac_aggregation;
pub mod replicaset;
pub mod replicated;
pub mod revisions;
pub mod root_ca;
pub mod runner;
pub mod service_lb;
pub mod serviceaccount;
pub mod statefulset;
pub mod volumes;

use informer::Informer;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Endpoints, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod,
    ReplicationController, ResourceQuota, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How the controller manager runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Take part in leader election (upstream's `--leader-elect`, on by default).
    pub leader_elect: bool,
    /// Lease timing (upstream's defaults: 15 s lease, 10 s renew deadline, 2 s retry).
    pub lease: gantry_client::leader::Timing,
    /// Workers per controller (upstream's `--concurrent-*-syncs`, 5 for ReplicaSets).
    pub workers: usize,
    /// How long a node may stay silent before it is `Unknown` (upstream's
    /// `--node-monitor-grace-period`, 40 s).
    pub node_monitor_grace_period: Duration,
    /// Where the built-in `local-path` provisioner puts volumes on the nodes.
    pub local_path_dir: std::path::PathBuf,
    /// The cluster's pod range, cut into one slice per node (upstream's `--cluster-cidr` with
    /// `--allocate-node-cidrs`); `None` allocates nothing.
    pub cluster_cidr: Option<gantry_api::cidr::Ipv4Cidr>,
    /// The size of each node's slice (upstream's `--node-cidr-mask-size`, 24).
    pub node_cidr_mask_size: u8,
    /// The authority that signs approved certificate requests (upstream's
    /// `--cluster-signing-cert-file`/`-key-file`); `None` signs nothing.
    pub signing: Option<Arc<gantry_pki::Authority>>,
    /// The longest a signed certificate is valid (upstream's `--cluster-signing-duration`,
    /// a year); a request's `expirationSeconds` can only shorten it.
    pub signing_duration: Duration,
    /// The certificate (PEM) published as `kube-root-ca.crt` in every namespace (upstream's
    /// `--root-ca-file`); `None` publishes nothing.
    pub root_ca: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            leader_elect: true,
            lease: gantry_client::leader::Timing::default(),
            workers: 5,
            node_monitor_grace_period: Duration::from_secs(40),
            local_path_dir: "/var/lib/gantry/storage".into(),
            cluster_cidr: None,
            node_cidr_mask_size: 24,
            signing: None,
            signing_duration: gantry_pki::authority::LEAF_VALIDITY,
            root_ca: None,
        }
    }
}

/// What every controller shares: the client, the informers, the event recorder.
#[derive(Clone)]
pub struct Context {
    /// The API server.
    pub client: kube::Client,
    /// Every pod.
    pub pods: Arc<Informer<Pod>>,
    /// Every ReplicaSet.
    pub replica_sets: Arc<Informer<ReplicaSet>>,
    /// Every ReplicationController.
    pub replication_controllers: Arc<Informer<ReplicationController>>,
    /// Every Deployment.
    pub deployments: Arc<Informer<Deployment>>,
    /// Every namespace.
    pub namespaces: Arc<Informer<Namespace>>,
    /// Every ServiceAccount.
    pub service_accounts: Arc<Informer<ServiceAccount>>,
    /// Every node.
    pub nodes: Arc<Informer<Node>>,
    /// Every DaemonSet.
    pub daemon_sets: Arc<Informer<DaemonSet>>,
    /// Every Job.
    pub jobs: Arc<Informer<Job>>,
    /// Every CronJob.
    pub cron_jobs: Arc<Informer<CronJob>>,
    /// Every Service.
    pub services: Arc<Informer<Service>>,
    /// Every EndpointSlice.
    pub endpoint_slices: Arc<Informer<EndpointSlice>>,
    /// Every Endpoints object.
    pub endpoints: Arc<Informer<Endpoints>>,
    /// The nodes' Leases (namespace `kube-node-lease`).
    pub leases: Arc<Informer<Lease>>,
    /// Every StatefulSet.
    pub stateful_sets: Arc<Informer<StatefulSet>>,
    /// Every ResourceQuota.
    pub quotas: Arc<Informer<ResourceQuota>>,
    /// Every PodDisruptionBudget.
    pub budgets: Arc<Informer<PodDisruptionBudget>>,
    /// Every PersistentVolumeClaim.
    pub claims: Arc<Informer<PersistentVolumeClaim>>,
    /// Every PersistentVolume.
    pub volumes: Arc<Informer<PersistentVolume>>,
    /// Every StorageClass.
    pub storage_classes: Arc<Informer<StorageClass>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Context {
    fn new(client: kube::Client) -> Self {
        Self {
            client,
            pods: Arc::default(),
            replica_sets: Arc::default(),
            replication_controllers: Arc::default(),
            deployments: Arc::default(),
            namespaces: Arc::default(),
            service_accounts: Arc::default(),
            nodes: Arc::default(),
            daemon_sets: Arc::default(),
            jobs: Arc::default(),
            cron_jobs: Arc::default(),
            services: Arc::default(),
            endpoint_slices: Arc::default(),
            endpoints: Arc::default(),
            leases: Arc::default(),
            stateful_sets: Arc::default(),
            quotas: Arc::default(),
            budgets: Arc::default(),
            claims: Arc::default(),
            volumes: Arc::default(),
            storage_classes: Arc::default(),
        }
    }

    /// An event recorder for one controller (upstream records each controller's events under
    /// its own name).
    pub fn recorder(&self, component: &str) -> gantry_client::events::Recorder {
        gantry_client::events::Recorder::new(self.client.clone(), component, "")
    }
}

/// The message of an API error as upstream's controllers quote it in events.
pub(crate) fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// Whether the API said the object is not there.
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Runs the controller manager until `shutdown` completes (or leadership is lost: an error,
/// as upstream exits then).
pub async fn run(
    config: Config,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut elector = config.leader_elect.then(|| {
        gantry_client::leader::Elector::new(
            client.clone(),
            "kube-system",
            "kube-controller-manager",
            &gantry_client::leader::default_identity(),
            config.lease,
        )
    });
    futures::pin_mut!(shutdown);
    if let Some(elector) = elector.as_mut() {
        tracing::info!(
            identity = elector.identity(),
            "controller manager waiting to lead"
        );
        tokio::select! {
            () = elector.acquire() => {}
            () = &mut shutdown => return Ok(()),
        }
    }
    let ctx = Context::new(client.clone());
    let replica_sets = replicaset::ReplicaController::<ReplicaSet>::new(&ctx);
    let replication = replicaset::ReplicaController::<ReplicationController>::new(&ctx);
    let deployments = deployment::DeploymentController::new(&ctx);
    let namespaces = namespace::NamespaceController::new(&ctx);
    let service_accounts = serviceaccount::ServiceAccountController::new(&ctx);
    let daemon_sets = daemonset::DaemonSetController::new(&ctx);
    let jobs = job::JobController::new(&ctx);
    let ttl = job::ttl::TtlController::new(&ctx);
    let cron_jobs = cronjob::CronJobController::new(&ctx);
    let endpoints = endpoints::EndpointsController::new(&ctx);
    let eviction = nodes::eviction::TaintEviction::new(&ctx);
    let stateful_sets = statefulset::StatefulSetController::new(&ctx);
    let quotas = quota::QuotaController::new(&ctx);
    let budgets = disruption::DisruptionController::new(&ctx);
    let volumes = volumes::VolumeController::new(&ctx, &config.local_path_dir);
    let protection = volumes::protection::ProtectionController::new(&ctx);
    let service_lb = service_lb::ServiceLbController::new(&ctx);
    let ipam = config
        .cluster_cidr
        .map(|cidr| nodes::ipam::NodeIpamController::new(&ctx, cidr, config.node_cidr_mask_size));
    let root_ca = config
        .root_ca
        .clone()
        .map(|pem| root_ca::RootCaPublisher::new(&ctx, pem));
    let cluster_roles = Arc::new(informer::Informer::default());
    let aggregation =
        rbac_aggregation::AggregationController::new(&ctx, Arc::clone(&cluster_roles));
    let certificates = config.signing.clone().map(|authority| {
        let requests = Arc::new(informer::Informer::default());
        let controller = certificates::CertificateController::new(
            &ctx,
            Arc::clone(&requests),
            authority,
            config.signing_duration,
        );
        (requests, controller)
    });
    if let Err(e) = volumes.local_path().ensure_class(client.clone()).await {
        tracing::warn!(error = %e, "could not create the default storage class");
    }
    let mut tasks = vec![
        tokio::spawn(Arc::clone(&ctx.pods).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.replica_sets).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.replication_controllers).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.deployments).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.namespaces).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.service_accounts).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.nodes).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.daemon_sets).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.jobs).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.cron_jobs).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.services).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.endpoint_slices).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.endpoints).run(Api::all(client.clone()))),
        tokio::spawn(
            Arc::clone(&ctx.leases).run(Api::namespaced(client.clone(), "kube-node-lease")),
        ),
        tokio::spawn(Arc::clone(&ctx.stateful_sets).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.quotas).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.budgets).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.claims).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.volumes).run(Api::all(client.clone()))),
        tokio::spawn(Arc::clone(&ctx.storage_classes).run(Api::all(client.clone()))),
    ];
    tasks.push(tokio::spawn(
        Arc::clone(&cluster_roles).run(Api::all(client.clone())),
    ));
    cluster_roles.synced().await;
    if let Some((requests, _)) = &certificates {
        tasks.push(tokio::spawn(
            Arc::clone(requests).run(Api::all(client.clone())),
        ));
        requests.synced().await;
    }
    ctx.pods.synced().await;
    ctx.replica_sets.synced().await;
    ctx.replication_controllers.synced().await;
    ctx.deployments.synced().await;
    ctx.namespaces.synced().await;
    ctx.service_accounts.synced().await;
    ctx.nodes.synced().await;
    ctx.daemon_sets.synced().await;
    ctx.jobs.synced().await;
    ctx.cron_jobs.synced().await;
    ctx.services.synced().await;
    ctx.endpoint_slices.synced().await;
    ctx.endpoints.synced().await;
    ctx.leases.synced().await;
    ctx.stateful_sets.synced().await;
    ctx.quotas.synced().await;
    ctx.budgets.synced().await;
    ctx.claims.synced().await;
    ctx.volumes.synced().await;
    ctx.storage_classes.synced().await;
    tasks.push(tokio::spawn(runner::run(replica_sets, config.workers)));
    tasks.push(tokio::spawn(runner::run(replication, config.workers)));
    tasks.push(tokio::spawn(runner::run(deployments, config.workers)));
    // Upstream's `--concurrent-namespace-syncs` default.
    tasks.push(tokio::spawn(runner::run(namespaces, 10)));
    tasks.push(tokio::spawn(runner::run(service_accounts, 1)));
    // Upstream's `--concurrent-daemonset-syncs` default.
    tasks.push(tokio::spawn(runner::run(daemon_sets, 2)));
    tasks.push(tokio::spawn(runner::run(jobs, config.workers)));
    tasks.push(tokio::spawn(runner::run(ttl, 1)));
    tasks.push(tokio::spawn(runner::run(cron_jobs, config.workers)));
    tasks.push(tokio::spawn(runner::run(endpoints, config.workers)));
    tasks.push(tokio::spawn(runner::run(eviction, config.workers)));
    tasks.push(tokio::spawn(runner::run(stateful_sets, config.workers)));
    tasks.push(tokio::spawn(runner::run(quotas, config.workers)));
    tasks.push(tokio::spawn(runner::run(budgets, config.workers)));
    tasks.push(tokio::spawn(runner::run(volumes, config.workers)));
    tasks.push(tokio::spawn(runner::run(protection, 1)));
    // One worker: port claims between load-balancer Services are decided one at a time.
    tasks.push(tokio::spawn(runner::run(service_lb, 1)));
    tasks.push(tokio::spawn(runner::run(aggregation, 1)));
    if let Some(publisher) = root_ca {
        tasks.push(tokio::spawn(runner::run(publisher, 2)));
    }
    if let Some((_, controller)) = certificates {
        tasks.push(tokio::spawn(runner::run(controller, 2)));
    }
    if let Some(ipam) = ipam {
        // One worker: allocations are serial, so no slice is handed out twice.
        tasks.push(tokio::spawn(runner::run(ipam, 1)));
    }
    // Upstream checks every 5 s; a short grace period (tests) is checked more often.
    let grace = config.node_monitor_grace_period;
    let period = (grace / 4).clamp(Duration::from_millis(500), Duration::from_secs(5));
    tasks.push(tokio::spawn(nodes::lifecycle::run(
        ctx.clone(),
        grace,
        period,
    )));
    tasks.push(tokio::spawn(nodes::podgc::run(
        ctx.clone(),
        Duration::from_secs(20),
    )));
    let collector = gc::GarbageCollector::new(client.clone());
    let (graph_synced, synced) = tokio::sync::oneshot::channel();
    tasks.push(tokio::spawn(Arc::clone(&collector).watch(graph_synced)));
    // The collector acts only on a full graph (an owner not yet listed is not a gone one).
    let _ = synced.await;
    tasks.push(tokio::spawn(runner::run(collector, config.workers * 4)));
    tracing::info!(controllers = ?["replicaset", "replicationcontroller",
        "statefulset", "deployment", "daemonset", "job", "ttl-after-finished", "cronjob", "endpointslice", "node-lifecycle", "taint-eviction", "podgc", "resourcequota",
        "disruption", "persistentvolume-binder", "pvc-protection", "node-ipam", "service-lb",
        "garbagecollector", "namespace", "serviceaccount", "csrapproving", "csrsigning", "clusterrole-aggregation", "root-ca-cert-publisher"], "controller manager running");
    let lost = async {
        match elector.as_mut() {
            Some(elector) => elector.keep().await,
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        () = &mut shutdown => Ok(()),
        () = lost => Err(anyhow::anyhow!("leader election lost")),
    };
    for task in tasks {
        task.abort();
    }
    if let Some(elector) = elector.as_mut() {
        elector.release().await;
    }
    result
}
