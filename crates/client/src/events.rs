//! Events a component records about objects (the kubelet's `Pulling`, `Started`, `Killing`,
//! ..., the scheduler's `Scheduled` and `FailedScheduling`, the controllers'
//! `SuccessfulCreate`, ...), as core/v1 Events. Recording never
//! blocks or fails the component's work: a lost event is logged and dropped.
//!
//! As upstream's event correlator, a repeat of an event (same object, container, type, reason
//! and message) does not make a new Event: the first one's `count` and `lastTimestamp` move.
//!
//! As upstream's broadcaster, writes go through a queue of at most 1,000 events to one writer
//! that sends them one at a time, and an event that finds the queue full is dropped: a burst
//! of events (a scheduler binding thousands of pods) must not compete with the work it
//! reports on for the API server.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many distinct events the recorder remembers for aggregation before it starts over.
const REMEMBERED: usize = 4096;

/// An event already written: its name and how many times it happened.
type Seen = HashMap<String, (String, i32)>;

/// How many events wait for the writer before new ones are dropped (upstream's
/// `maxQueuedEvents`).
const QUEUED: usize = 1000;

/// One write for the writer.
enum Write {
    Create(Api<Event>, serde_json::Value),
    Patch(Api<Event>, String, serde_json::Value),
}

/// Writes events for one node.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    component: String,
    host: String,
    seen: Arc<Mutex<Seen>>,
    /// `None` outside a runtime (nothing could write then).
    queue: Option<tokio::sync::mpsc::Sender<Write>>,
}

/// Sends the queued writes one at a time.
async fn writer(mut queue: tokio::sync::mpsc::Receiver<Write>) {
    while let Some(write) = queue.recv().await {
        match write {
            Write::Create(api, event) => {
                let event: Event = match serde_json::from_value(event) {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not build an event");
                        continue;
                    }
                };
                if let Err(e) = api.create(&PostParams::default(), &event).await {
                    tracing::debug!(error = %e, "could not record an event");
                }
            }
            Write::Patch(api, name, patch) => {
                if let Err(e) = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    tracing::debug!(error = %e, "could not update an event");
                }
            }
        }
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("component", &self.component)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for `component` (`kubelet`, `default-scheduler`) running on `host` (the
    /// node's name for a kubelet; empty where upstream leaves it so).
    pub fn new(client: kube::Client, component: &str, host: &str) -> Self {
        let queue = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let (sender, receiver) = tokio::sync::mpsc::channel(QUEUED);
            runtime.spawn(writer(receiver));
            sender
        });
        Self {
            client,
            component: component.to_owned(),
            host: host.to_owned(),
            seen: Arc::default(),
            queue,
        }
    }

    fn enqueue(&self, write: Write) {
        let Some(queue) = &self.queue else {
            return;
        };
        if queue.try_send(write).is_err() {
            tracing::debug!(component = %self.component, "event queue full; event dropped");
        }
    }

    /// Records a `Normal` event about `object` (about one of a pod's containers when
    /// `field_path` is `Some(path)` such as `spec.containers{web}`).
    pub fn normal<K: kube::Resource<DynamicType = ()>>(
        &self,
        object: &K,
        field_path: Option<String>,
        reason: &str,
        message: String,
    ) {
        self.record(object, field_path, "Normal", reason, message);
    }

    /// Records a `Warning` event.
    pub fn warning<K: kube::Resource<DynamicType = ()>>(
        &self,
        object: &K,
        field_path: Option<String>,
        reason: &str,
        message: String,
    ) {
        self.record(object, field_path, "Warning", reason, message);
    }

    fn record<K: kube::Resource<DynamicType = ()>>(
        &self,
        object: &K,
        field_path: Option<String>,
        kind: &str,
        reason: &str,
        message: String,
    ) {
        let meta = object.meta();
        // Events about cluster-scoped objects live in `default`, as upstream's recorder puts them.
        let namespace = meta
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = meta.name.clone().unwrap_or_default();
        let now = gantry_api::time::rfc3339(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut involved = json!({
            "kind": K::kind(&()),
            "name": name,
            "uid": meta.uid,
            "apiVersion": K::api_version(&()),
            "resourceVersion": meta.resource_version,
        });
        if let Some(own) = &meta.namespace {
            involved["namespace"] = json!(own);
        }
        if let Some(path) = field_path {
            involved["fieldPath"] = json!(path);
        }
        let event = json!({
            "metadata": {"name": format!("{name}.{nanos:x}"), "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "eventTime": null,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        });
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let key = format!(
            "{}/{}/{}/{}/{}",
            meta.uid.as_deref().unwrap_or_default(),
            involved["fieldPath"].as_str().unwrap_or_default(),
            kind,
            reason,
            message
        );
        let repeat = self.seen.lock().ok().and_then(|mut seen| {
            if let Some((name, count)) = seen.get_mut(&key) {
                *count += 1;
                return Some((name.clone(), *count));
            }
            if seen.len() >= REMEMBERED {
                seen.clear();
            }
            let name = event["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            seen.insert(key, (name, 1));
            None
        });
        if let Some((name, count)) = repeat {
            let patch = json!({"count": count, "lastTimestamp": now});
            self.enqueue(Write::Patch(api, name, patch));
            return;
        }
        self.enqueue(Write::Create(api, event));
    }
}
