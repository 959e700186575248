//! Events the node records about pods (`Pulling`, `Pulled`, `Created`, `Started`, `Killing`,
//! `BackOff`, `Failed`, ...), as core/v1 Events from the `kubelet` component. Recording never
//! blocks or fails the pod's work: a lost event is logged and dropped.

use crate::clock;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;

/// Writes events for one node.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    node: String,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for the node `node`.
    pub fn new(client: kube::Client, node: &str) -> Self {
        Self {
            client,
            node: node.to_owned(),
        }
    }

    /// Records a `Normal` event about `pod` (about one of its containers when `container` is
    /// `Some(field path)` such as `spec.containers{web}`).
    pub fn normal(&self, pod: &Pod, field_path: Option<String>, reason: &str, message: String) {
        self.record(pod, field_path, "Normal", reason, message);
    }

    /// Records a `Warning` event.
    pub fn warning(&self, pod: &Pod, field_path: Option<String>, reason: &str, message: String) {
        self.record(pod, field_path, "Warning", reason, message);
    }

    fn record(
        &self,
        pod: &Pod,
        field_path: Option<String>,
        kind: &str,
        reason: &str,
        message: String,
    ) {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let now = clock::now_rfc3339();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut involved = json!({
            "kind": "Pod",
            "namespace": namespace,
            "name": name,
            "uid": pod.metadata.uid,
            "apiVersion": "v1",
            "resourceVersion": pod.metadata.resource_version,
        });
        if let Some(path) = field_path {
            involved["fieldPath"] = json!(path);
        }
        let event = json!({
            "metadata": {"name": format!("{name}.{nanos:x}"), "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": "kubelet", "host": self.node},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "eventTime": null,
            "count": 1,
            "reportingComponent": "kubelet",
            "reportingInstance": self.node,
        });
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        tokio::spawn(async move {
            let event: Event = match serde_json::from_value(event) {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(error = %e, "could not build an event");
                    return;
                }
            };
            if let Err(e) = api.create(&PostParams::default(), &event).await {
                tracing::debug!(error = %e, "could not record an event");
            }
        });
    }
}

/// The field path of container `name` (`spec.containers{name}` or `spec.initContainers{name}`).
pub fn container_path(pod: &Pod, name: &str) -> String {
    let init = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .is_some_and(|list| list.iter().any(|c| c.name == name));
    if init {
        format!("spec.initContainers{{{name}}}")
    } else {
        format!("spec.containers{{{name}}}")
    }
}
