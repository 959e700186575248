//! One worker per pod: it syncs the runtime toward the pod's spec (sandbox, volumes, init
//! containers in order, then the containers, restarting by policy with back-off), writes the
//! status when it changes, and on deletion tears everything down and releases the pod.

use crate::clock;
use crate::pods::PodContext;
use crate::pods::backoff::Backoff;
use crate::pods::events::container_path;
use crate::pods::probes::Probes;
use crate::pods::runtime_state::{Instance, PodRuntime, Sandbox, State};
use crate::pods::spec::{self, PodKey};
use crate::pods::status::{self, Waiting};
use crate::pods::volumes;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often a worker looks at the runtime when nothing else wakes it (upstream's PLEG
/// relists every second).
const RELIST: Duration = Duration::from_secs(1);

/// The pod as its worker last heard of it; `None` once it is gone from the API.
pub type PodUpdates = watch::Receiver<Option<Arc<Pod>>>;

/// The worker of one pod.
#[derive(Debug)]
pub struct Worker {
    pub(crate) ctx: Arc<PodContext>,
    pub(crate) key: PodKey,
    pub(crate) backoff: Backoff,
    pub(crate) waiting: Waiting,
    pub(crate) volumes: volumes::Prepared,
    probes: Probes,
    updates: PodUpdates,
    start_time: Option<String>,
    last_status: Option<Value>,
    /// When the status was last written (a static pod's mirror may be recreated without the
    /// worker hearing of it, so its status is written again now and then).
    last_write: Instant,
    last_pod: Arc<Pod>,
}

impl Worker {
    /// A worker for `pod`, fed by `updates`.
    pub fn new(ctx: Arc<PodContext>, pod: Arc<Pod>, updates: PodUpdates) -> Self {
        Self {
            ctx,
            key: PodKey::of(&pod),
            backoff: Backoff::default(),
            waiting: Waiting::new(),
            volumes: volumes::Prepared::new(),
            probes: Probes::default(),
            updates,
            start_time: pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .and_then(|t| serde_json::to_value(t).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            last_status: None,
            last_write: Instant::now(),
            last_pod: pod,
        }
    }

    /// Runs until the pod is gone (torn down) or `shutdown` fires (left running, to be picked
    /// up again by the next start).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let current = self.updates.borrow_and_update().clone();
            let wait = match current {
                None => {
                    let pod = Arc::clone(&self.last_pod);
                    self.teardown(&pod, false).await;
                    return;
                }
                Some(pod) if pod.metadata.deletion_timestamp.is_some() => {
                    self.teardown(&pod, true).await;
                    return;
                }
                Some(pod) => {
                    self.last_pod = Arc::clone(&pod);
                    match self.sync(&pod).await {
                        Ok(wait) => wait,
                        Err(e) => {
                            tracing::warn!(pod = %self.key.display(), error = %e, "pod sync failed; retrying");
                            RELIST
                        }
                    }
                }
            };
            tokio::select! {
                changed = self.updates.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {
                    // A pod already deleted is still torn down; a live one keeps running for
                    // the next start to pick up.
                    let deleted = self
                        .updates
                        .borrow()
                        .as_ref()
                        .is_none_or(|p| p.metadata.deletion_timestamp.is_some());
                    if deleted {
                        let pod = self.updates.borrow().clone().unwrap_or_else(|| Arc::clone(&self.last_pod));
                        self.teardown(&pod, true).await;
                    }
                    return;
                }
            }
        }
    }

    /// One round: bring the runtime closer to the spec, then report. Returns how long to
    /// wait before the next round.
    async fn sync(&mut self, pod: &Pod) -> anyhow::Result<Duration> {
        let mut runtime = PodRuntime::read(&self.ctx.cri, &self.key.uid).await?;
        let already_terminal = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Succeeded" || p == "Failed");
        let mut wait = RELIST;
        if !already_terminal {
            let sandbox = match runtime.ready_sandbox() {
                Some(sandbox) => sandbox.clone(),
                None => {
                    self.new_sandbox(pod, &runtime).await?;
                    runtime = PodRuntime::read(&self.ctx.cri, &self.key.uid).await?;
                    runtime
                        .ready_sandbox()
                        .cloned()
                        .ok_or_else(|| anyhow::anyhow!("the new sandbox is not ready"))?
                }
            };
            if self.volumes.is_empty() && has_volumes(pod) {
                match volumes::setup(&self.ctx, pod, sandbox.ip.as_deref().unwrap_or("")).await {
                    Ok(prepared) => self.volumes = prepared,
                    Err((volume, message)) => {
                        self.ctx.recorder.warning(
                            pod,
                            None,
                            "FailedMount",
                            format!("MountVolume.SetUp failed for volume \"{volume}\" : {message}"),
                        );
                        self.report(pod, &runtime).await?;
                        return Ok(Duration::from_secs(2));
                    }
                }
            }
            if let Some(next) = self.containers(pod, &runtime, &sandbox).await {
                wait = wait.min(next);
            }
            runtime = PodRuntime::read(&self.ctx.cri, &self.key.uid).await?;
            if let Some(next) = self.probe(pod, &runtime, &sandbox).await {
                wait = wait.min(next);
            }
        }
        let phase = self.report(pod, &runtime).await?;
        if matches!(phase.as_str(), "Succeeded" | "Failed") {
            // A finished pod keeps its containers (for logs) but not its sandbox and IP.
            for sandbox in runtime.sandboxes.iter().filter(|s| s.ready) {
                self.stop_sandbox(&sandbox.id).await;
            }
            wait = Duration::from_secs(10);
        }
        Ok(wait)
    }

    /// Runs the probes that are due and restarts the containers whose liveness or startup
    /// probe failed; returns when the next probe is due.
    async fn probe(
        &mut self,
        pod: &Pod,
        runtime: &PodRuntime,
        sandbox: &Sandbox,
    ) -> Option<Duration> {
        let spec = pod.spec.clone().unwrap_or_default();
        let running: Vec<(&Container, &Instance)> = spec
            .containers
            .iter()
            .filter_map(|c| {
                let instance = runtime
                    .latest(&c.name)
                    .filter(|i| i.state == State::Running && i.sandbox_id == sandbox.id)?;
                Some((c, instance))
            })
            .collect();
        if running.is_empty() {
            return None;
        }
        let ip = sandbox.ip.clone().unwrap_or_default();
        let verdict = self.probes.run(&self.ctx, pod, &ip, &running).await;
        for (name, kind) in &verdict.restart {
            let Some((_, instance)) = running.iter().find(|(c, _)| &c.name == name) else {
                continue;
            };
            self.ctx.recorder.normal(
                pod,
                Some(container_path(pod, name)),
                "Killing",
                format!(
                    "Container {name} failed {} probe, will be restarted",
                    kind.word().to_lowercase()
                ),
            );
            let grace = spec.termination_grace_period_seconds.unwrap_or(30);
            self.stop_id(&instance.id, grace).await;
        }
        if !verdict.restart.is_empty() {
            return Some(Duration::ZERO);
        }
        verdict.next
    }

    /// Starts the pod's next sandbox after stopping whatever is left of the previous one.
    async fn new_sandbox(&mut self, pod: &Pod, runtime: &PodRuntime) -> anyhow::Result<()> {
        for instance in runtime
            .instances
            .iter()
            .filter(|i| i.state == State::Running)
        {
            self.stop_container(pod, instance, 0).await;
        }
        for sandbox in &runtime.sandboxes {
            self.stop_sandbox(&sandbox.id).await;
        }
        let attempt = runtime.sandboxes.first().map_or(0, |s| s.attempt + 1);
        std::fs::create_dir_all(self.key.log_dir(&self.ctx.log_root))?;
        let config =
            spec::sandbox_config(pod, attempt, &self.ctx.log_root, self.ctx.dns.for_pod(pod));
        let result = self
            .ctx
            .cri
            .runtime
            .clone()
            .run_pod_sandbox(cri::RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: String::new(),
            })
            .await;
        if let Err(e) = result {
            self.ctx.recorder.warning(
                pod,
                None,
                "FailedCreatePodSandBox",
                format!("Failed to create pod sandbox: {}", e.message()),
            );
            anyhow::bail!("creating the sandbox: {}", e.message());
        }
        Ok(())
    }

    /// Init containers in order, then the containers. Returns the shortest wait a back-off
    /// asks for.
    async fn containers(
        &mut self,
        pod: &Pod,
        runtime: &PodRuntime,
        sandbox: &Sandbox,
    ) -> Option<Duration> {
        let spec = pod.spec.clone().unwrap_or_default();
        let policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        let mut wait = None;
        for init in spec.init_containers.iter().flatten() {
            let current = runtime
                .latest(&init.name)
                .filter(|i| i.sandbox_id == sandbox.id);
            match current {
                Some(i) if i.state == State::Exited && i.exit_code == 0 => continue,
                Some(i) if i.state == State::Exited => {
                    if policy != "Never" {
                        wait = self.restart(pod, init, i, sandbox).await;
                    }
                    return wait;
                }
                Some(_) => return None,
                None => {
                    let attempt = runtime.latest(&init.name).map_or(0, |i| i.attempt + 1);
                    self.start_container(pod, init, sandbox, attempt).await;
                    return None;
                }
            }
        }
        for container in &spec.containers {
            let current = runtime
                .latest(&container.name)
                .filter(|i| i.sandbox_id == sandbox.id);
            match current {
                Some(i) if i.state == State::Exited => {
                    let restart = match policy.as_str() {
                        "Always" => true,
                        "OnFailure" => i.exit_code != 0,
                        _ => false,
                    };
                    if restart && let Some(next) = self.restart(pod, container, i, sandbox).await {
                        wait = Some(wait.map_or(next, |w: Duration| w.min(next)));
                    }
                }
                Some(_) => {}
                None => {
                    let attempt = runtime.latest(&container.name).map_or(0, |i| i.attempt + 1);
                    self.start_container(pod, container, sandbox, attempt).await;
                }
            }
        }
        wait
    }

    /// Restarts an exited container unless its back-off holds it; returns the remaining
    /// back-off when it does.
    async fn restart(
        &mut self,
        pod: &Pod,
        container: &Container,
        exited: &Instance,
        sandbox: &Sandbox,
    ) -> Option<Duration> {
        let now = Instant::now();
        if let Some(remaining) = self.backoff.remaining(&container.name, now) {
            let first_time = self
                .waiting
                .get(&container.name)
                .is_none_or(|(reason, _)| reason != "CrashLoopBackOff");
            let message = self.crash_loop_message(pod, &container.name);
            self.waiting
                .insert(container.name.clone(), ("CrashLoopBackOff".into(), message));
            if first_time {
                self.ctx.recorder.warning(
                    pod,
                    Some(container_path(pod, &container.name)),
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {}_{}({})",
                        container.name, self.key.name, self.key.namespace, self.key.uid
                    ),
                );
            }
            return Some(remaining);
        }
        self.backoff.next(&container.name, now);
        self.prune(&container.name).await;
        self.start_container(pod, container, sandbox, exited.attempt + 1)
            .await;
        None
    }

    /// Removes all but the newest exited instance of `name` (kept for `logs --previous`).
    async fn prune(&self, name: &str) {
        let Ok(runtime) = PodRuntime::read(&self.ctx.cri, &self.key.uid).await else {
            return;
        };
        for old in runtime
            .instances
            .iter()
            .filter(|i| i.name == name && i.state == State::Exited)
            .skip(1)
        {
            let _ = self
                .ctx
                .cri
                .runtime
                .clone()
                .remove_container(cri::RemoveContainerRequest {
                    container_id: old.id.clone(),
                })
                .await;
        }
    }

    /// Computes the status and writes it when it changed; returns the phase.
    async fn report(&mut self, pod: &Pod, runtime: &PodRuntime) -> anyhow::Result<String> {
        let start_time = self
            .start_time
            .get_or_insert_with(clock::now_rfc3339)
            .clone();
        let now = clock::now_rfc3339();
        let status = status::compute(&status::Inputs {
            pod,
            runtime,
            waiting: &self.waiting,
            runtime_name: &self.ctx.runtime_name,
            host_ip: &self.ctx.host_ip,
            start_time: &start_time,
            now: &now,
            probes: &self.probes,
        });
        let phase = status["phase"].as_str().unwrap_or("Pending").to_owned();
        let from_file = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(crate::pods::static_pods::SOURCE))
            .is_some_and(|s| s == "file");
        let refresh = from_file && self.last_write.elapsed() > Duration::from_secs(10);
        if self.last_status.as_ref() != Some(&status) || refresh {
            let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.key.namespace);
            let written = api
                .patch_status(
                    &self.key.name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": status})),
                )
                .await;
            match written {
                Ok(_) => {
                    self.last_status = Some(status);
                    self.last_write = Instant::now();
                }
                // A static pod's mirror may not be written yet; its status follows later.
                Err(kube::Error::Api(e)) if from_file && e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(phase)
    }
}

fn has_volumes(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|v| !v.is_empty())
}
