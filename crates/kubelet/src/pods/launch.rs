//! Starting one container: the image (by pull policy, with back-off on failures), the
//! container's environment and mounts, then CRI create and start — with the events and the
//! waiting reasons a user looks for when any step fails.

use crate::pods::backoff::go_duration;
use crate::pods::events::container_path;
use crate::pods::hooks::{self, Hook};
use crate::pods::runtime_state::Sandbox;
use crate::pods::spec::{self, Prepared};
use crate::pods::worker::Worker;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};
use std::time::Instant;

/// Why a container could not start: its waiting reason and message.
pub type Held = (String, String);

impl Worker {
    /// Makes the container's image present as its pull policy says.
    async fn ensure_image(&mut self, pod: &Pod, container: &Container) -> Result<(), Held> {
        let image = container.image.clone().unwrap_or_default();
        let path = Some(container_path(pod, &container.name));
        let policy = container
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| "IfNotPresent".to_owned());
        let present = self
            .ctx
            .cri
            .images
            .clone()
            .image_status(cri::ImageStatusRequest {
                image: Some(cri::ImageSpec {
                    image: image.clone(),
                    ..Default::default()
                }),
                verbose: false,
            })
            .await
            .map(|r| r.into_inner().image.is_some())
            .unwrap_or(false);
        let recorder = self.ctx.recorder.clone();
        if present && policy != "Always" {
            recorder.normal(
                pod,
                path,
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
            return Ok(());
        }
        if policy == "Never" {
            let message =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            recorder.warning(pod, path, "ErrImageNeverPull", message.clone());
            return Err(("ErrImageNeverPull".to_owned(), message));
        }
        let key = format!("image:{}", container.name);
        if self.backoff.remaining(&key, Instant::now()).is_some() {
            let message = format!("Back-off pulling image \"{image}\"");
            recorder.normal(pod, path, "BackOff", message.clone());
            return Err(("ImagePullBackOff".to_owned(), message));
        }
        recorder.normal(
            pod,
            path.clone(),
            "Pulling",
            format!("Pulling image \"{image}\""),
        );
        let started = Instant::now();
        let auth = self.pull_auth(pod, &image).await;
        let pulled = self
            .ctx
            .cri
            .images
            .clone()
            .pull_image(cri::PullImageRequest {
                image: Some(cri::ImageSpec {
                    image: image.clone(),
                    ..Default::default()
                }),
                auth,
                sandbox_config: None,
            })
            .await;
        match pulled {
            Ok(_) => {
                self.backoff.reset(&key);
                let took = go_duration_ms(started.elapsed());
                recorder.normal(
                    pod,
                    path,
                    "Pulled",
                    format!(
                        "Successfully pulled image \"{image}\" in {took} ({took} including waiting)"
                    ),
                );
                Ok(())
            }
            Err(e) => {
                self.backoff.next(&key, Instant::now());
                let message = format!("failed to pull image \"{image}\": {}", e.message());
                recorder.warning(
                    pod,
                    path.clone(),
                    "Failed",
                    format!("Failed to pull image \"{image}\": {}", e.message()),
                );
                recorder.warning(pod, path, "Failed", "Error: ErrImagePull".to_owned());
                Err(("ErrImagePull".to_owned(), message))
            }
        }
    }

    /// Starts the `attempt`th instance of `container` in `sandbox`. On failure the reason is
    /// kept for the status and the error is reported as an event.
    pub(crate) async fn start_container(
        &mut self,
        pod: &Pod,
        container: &Container,
        sandbox: &Sandbox,
        attempt: u32,
    ) {
        match self.try_start(pod, container, sandbox, attempt).await {
            Ok(()) => {
                self.waiting.remove(&container.name);
            }
            Err(held) => {
                self.waiting.insert(container.name.clone(), held);
            }
        }
    }

    async fn try_start(
        &mut self,
        pod: &Pod,
        container: &Container,
        sandbox: &Sandbox,
        attempt: u32,
    ) -> Result<(), Held> {
        self.ensure_image(pod, container).await?;
        let path = Some(container_path(pod, &container.name));
        let recorder = self.ctx.recorder.clone();
        let prepared = match self.prepare(pod, container, sandbox).await {
            Ok(prepared) => prepared,
            Err(message) => {
                recorder.warning(pod, path, "Failed", format!("Error: {message}"));
                return Err(("CreateContainerConfigError".to_owned(), message));
            }
        };
        let config = spec::container_config(pod, container, attempt, &prepared);
        let sandbox_config = spec::sandbox_config(
            pod,
            sandbox.attempt,
            &self.ctx.log_root,
            self.ctx.dns.for_pod(pod),
        );
        let created = self
            .ctx
            .cri
            .runtime
            .clone()
            .create_container(cri::CreateContainerRequest {
                pod_sandbox_id: sandbox.id.clone(),
                config: Some(config),
                sandbox_config: Some(sandbox_config),
            })
            .await;
        let id = match created {
            Ok(reply) => reply.into_inner().container_id,
            Err(e) => {
                let message = e.message().to_owned();
                recorder.warning(pod, path, "Failed", format!("Error: {message}"));
                return Err(("CreateContainerError".to_owned(), message));
            }
        };
        recorder.normal(
            pod,
            path.clone(),
            "Created",
            format!("Created container: {}", container.name),
        );
        if let Err(e) = self
            .ctx
            .cri
            .runtime
            .clone()
            .start_container(cri::StartContainerRequest {
                container_id: id.clone(),
            })
            .await
        {
            let message = e.message().to_owned();
            recorder.warning(pod, path, "Failed", format!("Error: {message}"));
            return Err(("RunContainerError".to_owned(), message));
        }
        recorder.normal(
            pod,
            path.clone(),
            "Started",
            format!("Started container {}", container.name),
        );
        if let Some(handler) = Hook::PostStart.handler(container) {
            let ip = sandbox.ip.clone().unwrap_or_default();
            let grace = grace_period(pod);
            if let Err(message) = hooks::run(&self.ctx, handler, container, &id, &ip, grace).await {
                recorder.warning(pod, path, "FailedPostStartHook", message.clone());
                self.stop_id(&id, i64::try_from(grace.as_secs()).unwrap_or(30))
                    .await;
                return Err(("PostStartHookError".to_owned(), message));
            }
        }
        Ok(())
    }

    /// The environment and mounts of `container`.
    async fn prepare(
        &mut self,
        pod: &Pod,
        container: &Container,
        sandbox: &Sandbox,
    ) -> Result<Prepared, String> {
        let env = crate::pods::env::resolve(&self.ctx, pod, container, sandbox).await?;
        let mounts = crate::pods::volumes::mounts(&self.volumes, container)?;
        let spec = pod.spec.clone().unwrap_or_default();
        let resources = Some(crate::pods::resources::linux_resources(
            &spec,
            container,
            self.ctx.memory_capacity,
        ));
        Ok(Prepared {
            env,
            mounts,
            resources,
        })
    }

    /// The message for a container waiting out its crash-loop back-off.
    pub(crate) fn crash_loop_message(&self, pod: &Pod, name: &str) -> String {
        let delay = self.backoff.delay(name).unwrap_or_default();
        format!(
            "back-off {} restarting failed container={name} pod={}_{}({})",
            go_duration(delay),
            self.key.name,
            self.key.namespace,
            pod.metadata.uid.as_deref().unwrap_or_default()
        )
    }
}

/// A duration as Go prints sub-minute durations with milliseconds (`1.234s`, `85ms`).
fn go_duration_ms(duration: std::time::Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// The pod's grace period: what a stop (and a hook) may take.
pub(crate) fn grace_period(pod: &Pod) -> std::time::Duration {
    let seconds = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30);
    std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}
