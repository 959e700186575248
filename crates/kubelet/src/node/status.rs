//! Registering the `Node` and keeping its status true: conditions from the facts (runtime and
//! network readiness, memory, disk and PID pressure), addresses, capacity and `nodeInfo`.
//!
//! As upstream, the status is computed every `nodeStatusUpdateFrequency` (10 s) but written
//! only when something changed or `nodeStatusReportFrequency` (5 min) has passed; the Lease is
//! the frequent heartbeat.

use crate::clock;
use crate::node::facts::{self, Capacity};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Free memory below which the node reports MemoryPressure (upstream's default hard
/// eviction threshold).
const MEMORY_PRESSURE_BYTES: u64 = 100 * 1024 * 1024;
/// Free share of the node filesystem below which it reports DiskPressure.
const DISK_PRESSURE_FRACTION: f64 = 0.10;

/// Who the node is.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// `metadata.name`.
    pub name: String,
    /// The InternalIP address.
    pub ip: IpAddr,
    /// Labels set at registration (hostname, os, arch, roles).
    pub labels: BTreeMap<String, String>,
    /// The pod CIDR given to the node, recorded in `spec.podCIDR(s)` at registration (`None`:
    /// the controller manager allocates one).
    pub pod_cidr: Option<String>,
    /// The directory whose filesystem is the node's ephemeral storage.
    pub data_dir: PathBuf,
    /// The kubelet's port in `daemonEndpoints`.
    pub kubelet_port: u16,
}

/// The labels upstream's kubelet puts on its node. (A role label is not among them: a node may
/// not give itself one — NodeRestriction refuses it — so the server labels its own node.)
pub fn default_labels(name: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert("kubernetes.io/hostname".to_owned(), name.to_owned());
    labels.insert("kubernetes.io/os".to_owned(), "linux".to_owned());
    labels.insert("kubernetes.io/arch".to_owned(), facts::go_arch().to_owned());
    labels.insert("beta.kubernetes.io/os".to_owned(), "linux".to_owned());
    labels.insert(
        "beta.kubernetes.io/arch".to_owned(),
        facts::go_arch().to_owned(),
    );
    labels
}

/// What the node observed about itself in one round.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Runtime and network ready (CRI `Status`), or why not.
    pub runtime: Result<(), String>,
    /// Memory available falls below the threshold.
    pub memory_pressure: bool,
    /// The node filesystem's free share falls below the threshold.
    pub disk_pressure: bool,
    /// The images present (names, size in bytes), largest first (`status.images`, which the
    /// scheduler's ImageLocality reads).
    pub images: Vec<(Vec<String>, u64)>,
}

impl Observed {
    /// Reads memory and disk; `runtime` is the result of the CRI status check, `images` what
    /// the runtime holds.
    pub fn read(
        identity: &NodeIdentity,
        runtime: Result<(), String>,
        images: Vec<(Vec<String>, u64)>,
    ) -> Self {
        Self {
            runtime,
            images,
            memory_pressure: facts::memory_available().is_some_and(|m| m < MEMORY_PRESSURE_BYTES),
            disk_pressure: facts::disk_available_fraction(&identity.data_dir)
                .is_some_and(|f| f < DISK_PRESSURE_FRACTION),
        }
    }
}

/// One condition as the kubelet words it: (type, status, reason, message).
fn conditions(observed: &Observed) -> [(&'static str, &'static str, &'static str, String); 4] {
    let pressure = |on: bool, yes: (&'static str, &str), no: (&'static str, &str)| {
        if on {
            ("True", yes.0, yes.1.to_owned())
        } else {
            ("False", no.0, no.1.to_owned())
        }
    };
    let (m_status, m_reason, m_message) = pressure(
        observed.memory_pressure,
        (
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        (
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
    );
    let (d_status, d_reason, d_message) = pressure(
        observed.disk_pressure,
        ("KubeletHasDiskPressure", "kubelet has disk pressure"),
        ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    );
    let ready = match &observed.runtime {
        Ok(()) => (
            "True",
            "KubeletReady",
            "kubelet is posting ready status".to_owned(),
        ),
        Err(why) => ("False", "KubeletNotReady", why.clone()),
    };
    [
        ("MemoryPressure", m_status, m_reason, m_message),
        ("DiskPressure", d_status, d_reason, d_message),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available".to_owned(),
        ),
        ("Ready", ready.0, ready.1, ready.2),
    ]
}

/// The conditions for `observed`, keeping each `lastTransitionTime` from `previous` where the
/// status did not change.
pub fn condition_json(observed: &Observed, previous: Option<&Value>, now: &str) -> Value {
    let before = |kind: &str| {
        previous
            .and_then(|p| p.as_array())
            .and_then(|list| list.iter().find(|c| c["type"] == kind))
    };
    Value::Array(
        conditions(observed)
            .into_iter()
            .map(|(kind, status, reason, message)| {
                let transition = before(kind)
                    .filter(|c| c["status"] == status)
                    .and_then(|c| c["lastTransitionTime"].as_str())
                    .unwrap_or(now)
                    .to_owned();
                json!({
                    "type": kind,
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": transition,
                })
            })
            .collect(),
    )
}

/// Registers the node and writes its status from then on.
#[derive(Debug)]
pub struct NodeStatus {
    api: Api<Node>,
    identity: NodeIdentity,
    capacity: Capacity,
    node_info: Value,
    last_written: Option<(Observed, Instant)>,
    previous_conditions: Option<Value>,
}

/// How often an unchanged status is written anyway (upstream's `nodeStatusReportFrequency`).
pub const REPORT_FREQUENCY: Duration = Duration::from_secs(300);

impl NodeStatus {
    /// Prepares the node's facts.
    pub fn new(
        client: kube::Client,
        identity: NodeIdentity,
        runtime_version: &(String, String),
    ) -> std::io::Result<Self> {
        Ok(Self {
            api: Api::all(client),
            capacity: facts::capacity(&identity.data_dir)?,
            node_info: facts::node_info(runtime_version),
            identity,
            last_written: None,
            previous_conditions: None,
        })
    }

    /// Creates the Node, or adopts the one registered before (keeping what others set on
    /// it, such as taints and other labels).
    pub async fn register(&mut self) -> Result<(), kube::Error> {
        let spec = match &self.identity.pod_cidr {
            Some(cidr) => json!({"podCIDR": cidr, "podCIDRs": [cidr]}),
            None => json!({}),
        };
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": self.identity.name, "labels": self.identity.labels},
            "spec": spec,
        }))
        .map_err(kube::Error::SerdeError)?;
        match self.api.create(&PostParams::default(), &node).await {
            Ok(_) => tracing::info!(node = %self.identity.name, "registered the node"),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let patch = json!({"metadata": {"labels": self.identity.labels}});
                let existing = self
                    .api
                    .patch(
                        &self.identity.name,
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                self.previous_conditions = existing
                    .status
                    .and_then(|s| serde_json::to_value(s.conditions).ok());
                tracing::info!(node = %self.identity.name, "the node was registered before; adopted it");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Writes the status if `observed` differs from what was last written or the report
    /// frequency has passed. Returns whether it wrote.
    pub async fn update(&mut self, observed: Observed) -> Result<bool, kube::Error> {
        if let Some((last, at)) = &self.last_written
            && *last == observed
            && at.elapsed() < REPORT_FREQUENCY
        {
            return Ok(false);
        }
        let now = clock::now_rfc3339();
        let conditions = condition_json(&observed, self.previous_conditions.as_ref(), &now);
        let hostname = facts::hostname();
        let status = json!({
            "status": {
                "conditions": conditions,
                "addresses": [
                    {"type": "InternalIP", "address": self.identity.ip.to_string()},
                    {"type": "Hostname", "address": hostname},
                ],
                "capacity": self.capacity.capacity_json(),
                "allocatable": self.capacity.allocatable_json(),
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.identity.kubelet_port}},
                "nodeInfo": self.node_info,
                "images": observed
                    .images
                    .iter()
                    .map(|(names, size)| json!({"names": names, "sizeBytes": size}))
                    .collect::<Vec<_>>(),
            }
        });
        self.api
            .patch_status(
                &self.identity.name,
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await?;
        self.previous_conditions = Some(conditions);
        self.last_written = Some((observed, Instant::now()));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Observed {
        Observed {
            runtime: Ok(()),
            memory_pressure: false,
            disk_pressure: false,
            images: Vec::new(),
        }
    }

    #[test]
    fn a_healthy_node_is_ready_without_pressure() {
        let list = condition_json(&healthy(), None, "T1");
        let ready = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready");
        let ready = ready.unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(ready["message"], "kubelet is posting ready status");
        let memory = &list[0];
        assert_eq!(
            (&memory["type"], &memory["status"], &memory["reason"]),
            (
                &json!("MemoryPressure"),
                &json!("False"),
                &json!("KubeletHasSufficientMemory")
            )
        );
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let first = condition_json(&healthy(), None, "T1");
        let same = condition_json(&healthy(), Some(&first), "T2");
        assert_eq!(same[3]["lastTransitionTime"], "T1");
        assert_eq!(same[3]["lastHeartbeatTime"], "T2");
        let down = Observed {
            runtime: Err("container runtime is down".into()),
            ..healthy()
        };
        let changed = condition_json(&down, Some(&same), "T3");
        assert_eq!(changed[3]["status"], "False");
        assert_eq!(changed[3]["reason"], "KubeletNotReady");
        assert_eq!(changed[3]["message"], "container runtime is down");
        assert_eq!(changed[3]["lastTransitionTime"], "T3");
        assert_eq!(changed[0]["lastTransitionTime"], "T1");
    }

    #[test]
    fn a_node_labels_itself_with_what_it_is_but_not_its_role() {
        let labels = default_labels("n1");
        assert_eq!(labels["kubernetes.io/hostname"], "n1");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert!(
            !labels
                .keys()
                .any(|k| k.starts_with("node-role.kubernetes.io/"))
        );
    }
}
