//! What the runtime holds for one pod: its sandboxes and containers, found by the labels the
//! node put on them (`io.kubernetes.pod.uid`, `io.kubernetes.container.name`), as upstream's
//! kubelet rebuilds its view from the runtime. Nothing here is remembered between reads, which
//! is what lets a restarted node pick its pods up where they were.

use crate::runtime::cri::Cri;
use k8s_cri::v1 as cri;
use std::collections::HashMap;

/// The label with the pod's UID on every sandbox and container.
pub const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";
/// The label with the pod's name.
pub const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
/// The label with the pod's namespace.
pub const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
/// The label with the container's name.
pub const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";

/// One sandbox of the pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Sandbox {
    /// The runtime's ID.
    pub id: String,
    /// How many sandboxes the pod had before this one.
    pub attempt: u32,
    /// Running with its network set up.
    pub ready: bool,
    /// The pod IP the network gave it.
    pub ip: Option<String>,
    /// Creation time, nanoseconds since the epoch.
    pub created_at: i64,
}

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited.
    Exited,
    /// The runtime does not know.
    Unknown,
}

/// One container instance of the pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The runtime's ID.
    pub id: String,
    /// The sandbox it runs in.
    pub sandbox_id: String,
    /// The container's name in the pod spec.
    pub name: String,
    /// How many instances of this container came before (the restart count).
    pub attempt: u32,
    /// Its state.
    pub state: State,
    /// Nanoseconds since the epoch (0 when not reached).
    pub created_at: i64,
    /// When it started.
    pub started_at: i64,
    /// When it exited.
    pub finished_at: i64,
    /// Its exit code once exited.
    pub exit_code: i32,
    /// The runtime's reason for the exit (e.g. `OOMKilled`, `Completed`, `Error`).
    pub reason: String,
    /// The runtime's message.
    pub message: String,
    /// The image reference as the spec gave it.
    pub image: String,
    /// The image's digest reference.
    pub image_ref: String,
}

/// The pod as the runtime has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodRuntime {
    /// Sandboxes, newest first.
    pub sandboxes: Vec<Sandbox>,
    /// Container instances, newest attempt first within each name.
    pub instances: Vec<Instance>,
}

impl PodRuntime {
    /// Reads everything the runtime holds for the pod with `uid`.
    pub async fn read(cri: &Cri, uid: &str) -> Result<Self, tonic::Status> {
        let labels = HashMap::from([(POD_UID_LABEL.to_owned(), uid.to_owned())]);
        let sandboxes = cri
            .runtime
            .clone()
            .list_pod_sandbox(cri::ListPodSandboxRequest {
                filter: Some(cri::PodSandboxFilter {
                    label_selector: labels.clone(),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .items;
        let mut found = Self::default();
        for sandbox in sandboxes {
            let ready = sandbox.state == cri::PodSandboxState::SandboxReady as i32;
            let ip = if ready {
                sandbox_ip(cri, &sandbox.id).await?
            } else {
                None
            };
            found.sandboxes.push(Sandbox {
                attempt: sandbox.metadata.as_ref().map_or(0, |m| m.attempt),
                id: sandbox.id,
                ready,
                ip,
                created_at: sandbox.created_at,
            });
        }
        found
            .sandboxes
            .sort_by_key(|s| std::cmp::Reverse((s.attempt, s.created_at)));

        let containers = cri
            .runtime
            .clone()
            .list_containers(cri::ListContainersRequest {
                filter: Some(cri::ContainerFilter {
                    label_selector: labels,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .containers;
        for container in containers {
            match cri
                .runtime
                .clone()
                .container_status(cri::ContainerStatusRequest {
                    container_id: container.id.clone(),
                    verbose: false,
                })
                .await
            {
                Ok(reply) => {
                    if let Some(status) = reply.into_inner().status {
                        found.instances.push(instance(&container, &status));
                    }
                }
                // Removed between the list and the status call: no longer ours to report.
                Err(e) if e.code() == tonic::Code::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        found
            .instances
            .sort_by(|a, b| (&a.name, b.attempt).cmp(&(&b.name, a.attempt)));
        Ok(found)
    }

    /// The newest sandbox, if it is ready.
    pub fn ready_sandbox(&self) -> Option<&Sandbox> {
        self.sandboxes.first().filter(|s| s.ready)
    }

    /// The newest instance of the container `name`.
    pub fn latest(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The instance before the newest one of `name`.
    pub fn previous(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().filter(|i| i.name == name).nth(1)
    }
}

async fn sandbox_ip(cri: &Cri, id: &str) -> Result<Option<String>, tonic::Status> {
    let status = cri
        .runtime
        .clone()
        .pod_sandbox_status(cri::PodSandboxStatusRequest {
            pod_sandbox_id: id.to_owned(),
            verbose: false,
        })
        .await?
        .into_inner()
        .status;
    Ok(status
        .and_then(|s| s.network)
        .map(|n| n.ip)
        .filter(|ip| !ip.is_empty()))
}

fn instance(container: &cri::Container, status: &cri::ContainerStatus) -> Instance {
    let state = match cri::ContainerState::try_from(status.state) {
        Ok(cri::ContainerState::ContainerCreated) => State::Created,
        Ok(cri::ContainerState::ContainerRunning) => State::Running,
        Ok(cri::ContainerState::ContainerExited) => State::Exited,
        _ => State::Unknown,
    };
    Instance {
        id: container.id.clone(),
        sandbox_id: container.pod_sandbox_id.clone(),
        name: container
            .labels
            .get(CONTAINER_NAME_LABEL)
            .cloned()
            .or_else(|| container.metadata.as_ref().map(|m| m.name.clone()))
            .unwrap_or_default(),
        attempt: container.metadata.as_ref().map_or(0, |m| m.attempt),
        state,
        created_at: status.created_at,
        started_at: status.started_at,
        finished_at: status.finished_at,
        exit_code: status.exit_code,
        reason: status.reason.clone(),
        message: status.message.clone(),
        image: status
            .image
            .as_ref()
            .map(|i| i.image.clone())
            .unwrap_or_default(),
        image_ref: status.image_ref.clone(),
    }
}
