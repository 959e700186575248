//! What a Service's endpoints should be, computed once for both the EndpointSlices and the
//! Endpoints object: one entry per pod with an IP that the selector picks, with its
//! readiness, and the Service's ports resolved against that pod (a named `targetPort` is the
//! pod's container port of that name, so pods of one Service may differ in port numbers).

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A Service port as endpoints list it, resolved for one pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    /// The Service port's name.
    pub name: Option<String>,
    /// The pod's port number.
    pub port: i32,
    /// The protocol.
    pub protocol: String,
    /// The application protocol, if given.
    pub app_protocol: Option<String>,
}

impl Port {
    /// As JSON (the same shape in EndpointSlices and Endpoints).
    pub fn to_json(&self) -> Value {
        let mut port = json!({"port": self.port, "protocol": self.protocol});
        if let Some(name) = &self.name {
            port["name"] = json!(name);
        }
        if let Some(app) = &self.app_protocol {
            port["appProtocol"] = json!(app);
        }
        port
    }
}

/// One pod as an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The pod's IP.
    pub ip: String,
    /// Ready: serving and not terminating (or published while not ready).
    pub ready: bool,
    /// The pod is ready, whether or not it is terminating.
    pub serving: bool,
    /// The pod is being deleted.
    pub terminating: bool,
    /// Its node.
    pub node: Option<String>,
    /// Its hostname, when the pod names this Service as its subdomain.
    pub hostname: Option<String>,
    /// Pod namespace, name and UID.
    pub target: (String, String, String),
}

/// The pod's number for a Service port (`targetPort` as a number, a name looked up in the
/// pod's containers, or the port itself when unset); `None` when a name is not found.
fn resolve(port: &ServicePort, pod: &Pod) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            pod.spec
                .as_ref()?
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find_map(|p| {
                    (p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                        .then_some(p.container_port)
                })
        }
    }
}

/// Endpoints grouped by their resolved ports (sorted, so the grouping is stable).
pub fn desired(service: &Service, pods: &[&Pod]) -> BTreeMap<Vec<Port>, Vec<Endpoint>> {
    let spec = service.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    let service_name = service.metadata.name.clone().unwrap_or_default();
    let mut groups: BTreeMap<Vec<Port>, Vec<Endpoint>> = BTreeMap::new();
    for pod in pods {
        let status = pod.status.clone().unwrap_or_default();
        let Some(ip) = status.pod_ip.clone().filter(|ip| !ip.is_empty()) else {
            continue;
        };
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let serving = crate::pods::is_ready(pod);
        let ports: Vec<Port> = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(Port {
                    name: p.name.clone(),
                    port: resolve(p, pod)?,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                    app_protocol: p.app_protocol.clone(),
                })
            })
            .collect();
        let pod_spec = pod.spec.clone().unwrap_or_default();
        let hostname = (pod_spec.subdomain.as_deref() == Some(service_name.as_str()))
            .then(|| pod_spec.hostname.clone())
            .flatten();
        groups.entry(ports).or_default().push(Endpoint {
            ip,
            ready: publish_not_ready || (serving && !terminating),
            serving: serving || publish_not_ready,
            terminating,
            node: pod_spec.node_name.clone().filter(|n| !n.is_empty()),
            hostname,
            target: (
                pod.metadata.namespace.clone().unwrap_or_default(),
                pod.metadata.name.clone().unwrap_or_default(),
                pod.metadata.uid.clone().unwrap_or_default(),
            ),
        });
    }
    for endpoints in groups.values_mut() {
        endpoints.sort_by(|a, b| a.ip.cmp(&b.ip).then_with(|| a.target.1.cmp(&b.target.1)));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: &str, ready: bool, port_name: &str, number: i32) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "d", "uid": name},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": port_name, "containerPort": number}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .unwrap()
    }

    #[test]
    fn named_ports_resolve_per_pod_and_readiness_is_kept() {
        let service: Service = serde_json::from_value(json!({"metadata": {"name": "web"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"}]}}))
        .unwrap();
        let (a, b, c) = (
            pod("a", "10.0.0.2", true, "web", 8080),
            pod("b", "10.0.0.1", false, "web", 8080),
            pod("c", "10.0.0.3", true, "web", 9090),
        );
        let mut no_ip = pod("d", "", true, "web", 8080);
        no_ip.status.as_mut().unwrap().pod_ip = None;
        let groups = desired(&service, &[&a, &b, &c, &no_ip]);
        assert_eq!(groups.len(), 2, "two port numbers, two groups");
        let group = &groups[&vec![Port {
            name: Some("http".into()),
            port: 8080,
            protocol: "TCP".into(),
            app_protocol: None,
        }]];
        assert_eq!(
            group
                .iter()
                .map(|e| (e.ip.as_str(), e.ready))
                .collect::<Vec<_>>(),
            [("10.0.0.1", false), ("10.0.0.2", true)]
        );
    }
}
