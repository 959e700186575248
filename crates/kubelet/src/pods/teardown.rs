//! Stopping a pod: containers get SIGTERM and the grace period (the pod's
//! `deletionGracePeriodSeconds`, else its `terminationGracePeriodSeconds`) before SIGKILL, then
//! the sandbox goes, with its network, volumes and directories; a deleted pod is then released
//! from the API (deleted with grace 0, on the condition that it is still the same pod).

use crate::pods::PodContext;
use crate::pods::events::container_path;
use crate::pods::hooks::{self, Hook};
use crate::pods::launch::grace_period;
use crate::pods::runtime_state::{Instance, POD_UID_LABEL, PodRuntime, State};
use crate::pods::volumes;
use crate::pods::worker::Worker;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use std::collections::HashSet;

impl Worker {
    /// Stops one container with `grace` seconds before SIGKILL, running its `preStop` hook
    /// first (the hook's time comes out of the grace period).
    pub(crate) async fn stop_container(&self, pod: &Pod, instance: &Instance, grace: i64) {
        let mut grace = grace;
        let container = pod.spec.as_ref().and_then(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .find(|c| c.name == instance.name)
        });
        if let Some(container) = container
            && let Some(handler) = Hook::PreStop.handler(container)
            && grace > 0
        {
            let started = std::time::Instant::now();
            let budget = std::time::Duration::from_secs(u64::try_from(grace).unwrap_or(0));
            let ip = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.clone())
                .unwrap_or_default();
            if let Err(message) =
                hooks::run(&self.ctx, handler, container, &instance.id, &ip, budget).await
            {
                self.ctx.recorder.warning(
                    pod,
                    Some(container_path(pod, &instance.name)),
                    "FailedPreStopHook",
                    message,
                );
            }
            grace = (grace - i64::try_from(started.elapsed().as_secs()).unwrap_or(0)).max(2);
        }
        self.ctx.recorder.normal(
            pod,
            Some(container_path(pod, &instance.name)),
            "Killing",
            format!("Stopping container {}", instance.name),
        );
        self.stop_id(&instance.id, grace).await;
    }

    /// Stops the container `id` with `grace` seconds before SIGKILL (no hook, no event).
    pub(crate) async fn stop_id(&self, id: &str, grace: i64) {
        if let Err(e) = self
            .ctx
            .cri
            .runtime
            .clone()
            .stop_container(cri::StopContainerRequest {
                container_id: id.to_owned(),
                timeout: grace,
            })
            .await
        {
            tracing::warn!(container = %id, error = %e.message(), "stopping a container failed");
        }
    }

    /// Stops a sandbox (its network goes with it).
    pub(crate) async fn stop_sandbox(&self, id: &str) {
        stop_sandbox(&self.ctx, id).await;
    }

    /// Tears the pod down; `release` deletes the terminating pod from the API afterwards.
    pub(crate) async fn teardown(&mut self, pod: &Pod, release: bool) {
        let grace = i64::try_from(grace_period(pod).as_secs()).unwrap_or(30);
        if let Ok(runtime) = PodRuntime::read(&self.ctx.cri, &self.key.uid).await {
            let running = runtime
                .instances
                .iter()
                .filter(|i| i.state == State::Running);
            futures::future::join_all(running.map(|i| self.stop_container(pod, i, grace))).await;
            for sandbox in &runtime.sandboxes {
                remove_sandbox(&self.ctx, &sandbox.id).await;
            }
        }
        volumes::teardown(&self.ctx, &self.key.uid).await;
        let _ = std::fs::remove_dir_all(self.key.log_dir(&self.ctx.log_root));
        if release {
            let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.key.namespace);
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(self.key.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match api.delete(&self.key.name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
                Err(e) => {
                    tracing::warn!(pod = %self.key.display(), error = %e, "could not release the pod")
                }
            }
        }
        tracing::info!(pod = %self.key.display(), "pod torn down");
    }
}

async fn stop_sandbox(ctx: &PodContext, id: &str) {
    if let Err(e) = ctx
        .cri
        .runtime
        .clone()
        .stop_pod_sandbox(cri::StopPodSandboxRequest {
            pod_sandbox_id: id.to_owned(),
        })
        .await
    {
        tracing::warn!(sandbox = %id, error = %e.message(), "stopping a sandbox failed");
    }
}

/// Stops and removes a sandbox with all its containers.
pub async fn remove_sandbox(ctx: &PodContext, id: &str) {
    stop_sandbox(ctx, id).await;
    if let Err(e) = ctx
        .cri
        .runtime
        .clone()
        .remove_pod_sandbox(cri::RemovePodSandboxRequest {
            pod_sandbox_id: id.to_owned(),
        })
        .await
    {
        tracing::warn!(sandbox = %id, error = %e.message(), "removing a sandbox failed");
    }
}

/// Removes the sandboxes of pods this node no longer has (deleted while it was down).
pub async fn remove_orphans(
    ctx: &PodContext,
    known: &HashSet<String>,
) -> Result<usize, tonic::Status> {
    let sandboxes = ctx
        .cri
        .runtime
        .clone()
        .list_pod_sandbox(cri::ListPodSandboxRequest { filter: None })
        .await?
        .into_inner()
        .items;
    let mut removed = 0;
    for sandbox in sandboxes {
        let Some(uid) = sandbox.labels.get(POD_UID_LABEL) else {
            continue;
        };
        // Static pods are their own source's to clean up.
        if sandbox
            .annotations
            .get(crate::pods::static_pods::SOURCE)
            .is_some_and(|s| s == "file")
        {
            continue;
        }
        if !known.contains(uid) {
            remove_sandbox(ctx, &sandbox.id).await;
            volumes::teardown(ctx, uid).await;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How long each container gets to stop when the node stops them all on its way out.
const EXIT_GRACE_SECONDS: i64 = 10;

/// Stops and removes every pod sandbox this node runs, static pods included (the node is
/// going away, not forgetting them: the API objects stay). Returns how many there were.
pub async fn stop_all(ctx: &PodContext) -> usize {
    let sandboxes = match ctx
        .cri
        .runtime
        .clone()
        .list_pod_sandbox(cri::ListPodSandboxRequest { filter: None })
        .await
    {
        Ok(response) => response.into_inner().items,
        Err(e) => {
            tracing::warn!(error = %e.message(), "listing the sandboxes to stop failed");
            return 0;
        }
    };
    let ours: Vec<_> = sandboxes
        .into_iter()
        .filter(|sandbox| sandbox.labels.contains_key(POD_UID_LABEL))
        .collect();
    let stop = |sandbox: cri::PodSandbox| async move {
        let containers = ctx
            .cri
            .runtime
            .clone()
            .list_containers(cri::ListContainersRequest {
                filter: Some(cri::ContainerFilter {
                    pod_sandbox_id: sandbox.id.clone(),
                    ..cri::ContainerFilter::default()
                }),
            })
            .await
            .map(|r| r.into_inner().containers)
            .unwrap_or_default();
        // SIGTERM and a moment, as a drain would give, then the sandbox with whatever is left.
        futures::future::join_all(containers.iter().map(|container| {
            let mut runtime = ctx.cri.runtime.clone();
            let request = cri::StopContainerRequest {
                container_id: container.id.clone(),
                timeout: EXIT_GRACE_SECONDS,
            };
            async move { runtime.stop_container(request).await }
        }))
        .await;
        remove_sandbox(ctx, &sandbox.id).await;
        if let Some(uid) = sandbox.labels.get(POD_UID_LABEL) {
            volumes::teardown(ctx, uid).await;
        }
    };
    let count = ours.len();
    futures::future::join_all(ours.into_iter().map(stop)).await;
    count
}
