//! Pods on this node: one worker per pod turns its spec into sandboxes and containers through
//! CRI and reports its status, as upstream's pod workers do.

pub mod backoff;
pub mod dns;
pub mod env;
pub mod events;
pub mod grpc_probe;
pub mod hooks;
pub mod launch;
pub mod manager;
pub mod probes;
pub mod pull_auth;
pub mod resources;
pub mod runtime_state;
pub mod service_env;
pub mod spec;
pub mod static_pods;
pub mod status;
pub mod teardown;
pub mod token;
pub mod volumes;
pub mod worker;

use crate::runtime::cri::Cri;
use std::path::PathBuf;

/// What every pod worker shares.
#[derive(Clone)]
pub struct PodContext {
    /// The runtime.
    pub cri: Cri,
    /// The runtime's name, the scheme of container IDs (`containerd`).
    pub runtime_name: String,
    /// The API.
    pub client: kube::Client,
    /// This node's name.
    pub node_name: String,
    /// This node's address, the pods' `hostIP`.
    pub host_ip: String,
    /// Container logs, `<namespace>_<name>_<uid>/<container>/<n>.log` below it.
    pub log_root: PathBuf,
    /// Per-pod directories (volumes) below it, by UID.
    pub pods_root: PathBuf,
    /// Events.
    pub recorder: events::Recorder,
    /// The node's memory, for OOM scores.
    pub memory_capacity: u64,
    /// How pods' resolv.conf is made.
    pub dns: dns::DnsSettings,
    /// Every Service, for containers' service environment variables.
    pub services: kube::runtime::reflector::Store<k8s_openapi::api::core::v1::Service>,
}

impl std::fmt::Debug for PodContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodContext")
            .field("node_name", &self.node_name)
            .field("host_ip", &self.host_ip)
            .finish_non_exhaustive()
    }
}
