//! Gantry's scheduler: assigns each pod without a node to the best node that can run it and
//! writes the decision through `pods/binding`, with upstream's filter and score rules as
//! plugins (`plugins/`), upstream's queue (`queue`), and a cache that counts pods assumed onto
//! nodes while their binding is in flight (`cache`). It talks to the API server only through
//! kube-rs.

pub mod algorithm;
pub mod cache;
pub mod config;
pub mod framework;
pub mod info;
pub mod plugins;
mod preempt;
pub mod queue;
pub mod tally;
pub mod volumes;
mod watch;
pub mod workloads;

use cache::Cache;
use config::Profile;
pub use config::SchedulerConfig;
use gantry_client::events::Recorder;
use info::PodInfo;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use plugins::default_preemption::{self, Budget};
use queue::Queue;
use serde_json::json;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watch::Seen;

struct Shared {
    /// The profiles, each with the recorder its events carry its name with.
    profiles: Vec<(Profile, Recorder)>,
    client: kube::Client,
    cache: Mutex<Cache>,
    queue: Queue,
    budgets: Mutex<std::collections::BTreeMap<String, Budget>>,
    storage: Mutex<volumes::Storage>,
    workloads: Mutex<workloads::Workloads>,
}

impl Shared {
    /// The profile (and its recorder) serving `scheduler_name`.
    fn profile(&self, scheduler_name: &str) -> Option<&(Profile, Recorder)> {
        self.profiles.iter().find(|(p, _)| p.name == scheduler_name)
    }

    /// The profile of a pod in the queue (which only holds pods of ours).
    fn profile_of(&self, pod: &PodInfo) -> &(Profile, Recorder) {
        self.profile(scheduler_name(&pod.pod))
            .unwrap_or(&self.profiles[0])
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn workloads(&self) -> std::sync::MutexGuard<'_, workloads::Workloads> {
        self.workloads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn storage(&self) -> std::sync::MutexGuard<'_, volumes::Storage> {
        self.storage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn budgets(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Budget>> {
        self.budgets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Now, as the API's timestamps.
fn now() -> String {
    gantry_api::time::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn scheduler_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.scheduler_name.as_deref())
        .unwrap_or("default-scheduler")
}

fn is_terminal(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed")
}

/// Runs the scheduler until `shutdown` completes. With leader election on, it first waits to
/// lead, and returns an error if it stops leading (as upstream exits then, to start afresh).
pub async fn run(
    config: SchedulerConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::ensure!(!config.profiles.is_empty(), "no scheduler profiles");
    let election = &config.leader_election;
    let mut elector = election.leader_elect.then(|| {
        gantry_client::leader::Elector::new(
            client.clone(),
            &election.resource_namespace,
            &election.resource_name,
            &gantry_client::leader::default_identity(),
            gantry_client::leader::Timing {
                lease_duration: election.lease_duration,
                renew_deadline: election.renew_deadline,
                retry_period: election.retry_period,
            },
        )
    });
    futures::pin_mut!(shutdown);
    if let Some(elector) = elector.as_mut() {
        tracing::info!(identity = elector.identity(), "waiting to lead");
        tokio::select! {
            () = elector.acquire() => {}
            () = &mut shutdown => return Ok(()),
        }
    }
    let host = elector
        .as_ref()
        .map(|e| e.identity().to_owned())
        .unwrap_or_default();
    let shared = Arc::new(Shared {
        profiles: config
            .profiles
            .iter()
            .map(|p| (p.clone(), Recorder::new(client.clone(), &p.name, &host)))
            .collect(),
        client,
        cache: Mutex::default(),
        queue: Queue::default(),
        budgets: Mutex::default(),
        storage: Mutex::default(),
        workloads: Mutex::default(),
    });
    let mut tasks = vec![
        tokio::spawn(watch_nodes(Arc::clone(&shared))),
        tokio::spawn(watch_pods(Arc::clone(&shared))),
        tokio::spawn(tick(Arc::clone(&shared))),
        tokio::spawn(preempt::watch_budgets(Arc::clone(&shared))),
    ];
    tasks.extend(volumes::watch(&shared));
    tasks.extend(workloads::watch(&shared));
    // Decisions are CPU work that holds the cache: they run on a thread of their own (upstream's
    // one scheduling goroutine), so that the runtime's workers stay free for watches, bindings
    // and, in `gantry server`, the API server itself.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runtime = tokio::runtime::Handle::current();
    let looping = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("scheduling".to_owned())
        .spawn(move || runtime.block_on(schedule_loop(looping, stopped)))?;
    let names: Vec<&str> = config.profiles.iter().map(|p| p.name.as_str()).collect();
    tracing::info!(profiles = ?names, "scheduler running");
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
    let _ = stop.send(true);
    for task in tasks {
        task.abort();
    }
    if let Some(elector) = elector.as_mut() {
        elector.release().await;
    }
    result
}

async fn watch_nodes(shared: Arc<Shared>) {
    watch::each::<Node>(shared.client.clone(), "nodes", |seen| match seen {
        Seen::Present(node) => {
            shared.cache().set_node(&node);
            shared.queue.move_all();
        }
        Seen::Gone(node) => shared
            .cache()
            .remove_node(node.metadata.name.as_deref().unwrap_or_default()),
    })
    .await;
}

async fn watch_pods(shared: Arc<Shared>) {
    watch::each::<Pod>(shared.client.clone(), "pods", |seen| match seen {
        Seen::Present(pod) => on_pod(&shared, pod),
        Seen::Gone(pod) => {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            shared.queue.remove(&uid);
            shared.cache().remove_pod(&uid);
            // Its resources are free: waiting pods may fit now.
            shared.queue.move_all();
        }
    })
    .await;
}

fn on_pod(shared: &Shared, pod: Pod) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let assigned = spec
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    if assigned {
        shared.queue.remove(&uid);
        let terminal = is_terminal(&pod);
        shared.cache().set_pod(pod);
        if terminal {
            shared.queue.move_all();
        }
        return;
    }
    let ours = shared.profile(scheduler_name(&pod)).is_some();
    if !ours || pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod) {
        shared.queue.remove(&uid);
        shared.cache().forget_nomination(&uid);
        return;
    }
    let info = PodInfo::new(pod);
    if let Some(node) = info.nominated_node() {
        shared.cache().nominate_to(&info, node);
    }
    shared.queue.update(info);
}

async fn tick(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(200));
    loop {
        interval.tick().await;
        let now = Instant::now();
        shared.queue.flush(now);
        let expired = shared.cache().expire(now);
        if expired > 0 {
            tracing::warn!(
                pods = expired,
                "assumed pods were never seen bound; forgotten"
            );
        }
    }
}

async fn schedule_loop(shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut start = 0usize;
    loop {
        // Ends on the stop signal, or when its sender is gone with the scheduler.
        let mut pod = tokio::select! {
            pod = shared.queue.pop() => pod,
            _ = stop.changed() => return,
        };
        start = start.wrapping_add(1);
        {
            let storage = shared.storage();
            pod.claims = storage.resolve(&pod.pod);
            pod.one_pod_claims = storage.one_pod_claims(&pod.pod);
        }
        let defaults = &shared.profile_of(&pod).0.default_constraints;
        if !defaults.is_empty()
            && !plugins::pod_topology_spread::has_own_constraints(&pod)
            && let Some(selector) = shared.workloads().selector_for(&pod.pod)
        {
            pod.default_spread = defaults
                .iter()
                .map(|c| k8s_openapi::api::core::v1::TopologySpreadConstraint {
                    label_selector: Some(selector.clone()),
                    ..c.clone()
                })
                .collect();
        }
        // A nomination this scheduler made counts before the API echoes it back.
        if pod.nominated_node().is_none()
            && let Some(node) = shared.cache().nomination_of(&pod.uid)
        {
            pod.pod
                .status
                .get_or_insert_with(Default::default)
                .nominated_node_name = Some(node);
        }
        let (profile, _) = shared.profile_of(&pod);
        let decision = {
            let cache = shared.cache();
            let nodes: Vec<&info::NodeInfo> = cache.nodes().collect();
            let first = if nodes.is_empty() {
                0
            } else {
                start % nodes.len()
            };
            let prepared = algorithm::prepare(&profile.plugins, &pod, &nodes);
            let outcome = match &prepared {
                Ok(states) => algorithm::schedule_with(
                    &profile.plugins,
                    states,
                    &pod,
                    &nodes,
                    first,
                    profile.percentage_of_nodes_to_score,
                ),
                Err(fit) => Err(fit.clone()),
            };
            outcome.map_err(|fit| {
                let Some(args) = profile.preemption.filter(|_| !nodes.is_empty()) else {
                    return (fit.message, Err(String::new()));
                };
                let budgets: Vec<Budget> = shared.budgets().values().cloned().collect();
                let how = (start, args);
                // The failed attempt's state serves preemption's trials: same pod, same nodes.
                let preemption = match &prepared {
                    Ok(states) => default_preemption::preempt_with(
                        &profile.plugins,
                        states,
                        &pod,
                        &nodes,
                        &fit,
                        &budgets,
                        how,
                    ),
                    Err(_) => default_preemption::preempt(
                        &profile.plugins,
                        &pod,
                        &nodes,
                        &fit,
                        &budgets,
                        how,
                    ),
                };
                (fit.message, preemption)
            })
        };
        match decision {
            Ok(node) => {
                let plugins = &shared.profile_of(&pod).0.plugins;
                match algorithm::reserve_and_permit(plugins, &pod, &node) {
                    Ok(()) => {
                        shared.cache().assume(&pod, &node);
                        tokio::spawn(bind(Arc::clone(&shared), pod, node));
                    }
                    Err(status) => {
                        shared.queue.failed(pod.clone(), true);
                        let message = status.reasons().join(", ");
                        tokio::spawn(report_unschedulable(
                            Arc::clone(&shared),
                            pod,
                            message,
                            None,
                        ));
                    }
                }
            }
            Err((message, preemption)) => {
                shared.queue.failed(pod.clone(), true);
                let (message, nominate) = match preemption {
                    Ok(candidate) => {
                        shared.cache().nominate(&pod, &candidate);
                        let node = candidate.node.clone();
                        tokio::spawn(preempt::execute(
                            Arc::clone(&shared),
                            pod.clone(),
                            candidate,
                        ));
                        (message, Some(node))
                    }
                    Err(why) if why.is_empty() => (message, None),
                    Err(why) => (format!("{message} preemption: {why}"), None),
                };
                tokio::spawn(report_unschedulable(
                    Arc::clone(&shared),
                    pod,
                    message,
                    nominate,
                ));
            }
        }
    }
}

/// Writes the decision through `pods/binding`.
async fn bind(shared: Arc<Shared>, pod: PodInfo, node: String) {
    let plugins = &shared.profile_of(&pod).0.plugins;
    if let Err(status) = algorithm::pre_bind(plugins, &pod, &node) {
        tracing::warn!(pod = %pod.key, reasons = ?status.reasons(), "pre-bind failed; retrying");
        shared.cache().remove_pod(&pod.uid);
        shared.queue.failed(pod, false);
        return;
    }
    if let Err(why) = volumes::bind_delayed_claims(&shared, &pod, &node).await {
        tracing::warn!(pod = %pod.key, error = %why, "volume binding failed; retrying");
        shared.cache().remove_pod(&pod.uid);
        shared.queue.failed(pod, false);
        return;
    }
    let namespace = pod.pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": namespace, "uid": pod.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    let result: Result<serde_json::Value, kube::Error> = api
        .create_subresource("binding", &name, &PostParams::default(), &binding)
        .await;
    match result {
        Ok(_) => {
            shared.queue.done(&pod.uid);
            shared.profile_of(&pod).1.normal(
                &pod.pod,
                None,
                "Scheduled",
                format!("Successfully assigned {namespace}/{name} to {node}"),
            );
        }
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
            // Deleted, or bound by someone else meanwhile: nothing left to do.
            shared.cache().remove_pod(&pod.uid);
            shared.queue.remove(&pod.uid);
        }
        Err(e) => {
            tracing::warn!(pod = %pod.key, error = %e, "binding failed; retrying");
            for weighted in plugins.iter().rev() {
                weighted.plugin.unreserve(&pod, &node);
            }
            shared.cache().remove_pod(&pod.uid);
            shared.queue.failed(pod, false);
        }
    }
}

/// Tells the user why the pod waits: the `PodScheduled=False` condition and a
/// `FailedScheduling` event, both with the same message; and, after a preemption, the node
/// nominated for it.
async fn report_unschedulable(
    shared: Arc<Shared>,
    pod: PodInfo,
    message: String,
    nominate: Option<String>,
) {
    let namespace = pod.pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.pod.metadata.name.clone().unwrap_or_default();
    shared
        .profile_of(&pod)
        .1
        .warning(&pod.pod, None, "FailedScheduling", message.clone());
    let existing = pod
        .pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let unchanged = existing.iter().any(|c| {
        c.type_ == "PodScheduled" && c.status == "False" && c.message.as_deref() == Some(&message)
    });
    if unchanged
        && nominate
            .as_deref()
            .is_none_or(|n| pod.nominated_node() == Some(n))
    {
        return;
    }
    let now = now();
    let mut conditions: Vec<serde_json::Value> = existing
        .iter()
        .filter(|c| c.type_ != "PodScheduled")
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    conditions.push(json!({
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
        "lastProbeTime": null,
        "lastTransitionTime": now,
    }));
    let mut patch = json!({"status": {"conditions": conditions}});
    if let Some(node) = nominate {
        patch["status"]["nominatedNodeName"] = json!(node);
    }
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
    if let Err(e) = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        tracing::debug!(pod = %pod.key, error = %e, "could not write the PodScheduled condition");
    }
}
