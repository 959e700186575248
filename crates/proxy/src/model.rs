//! What the proxy must program, read from Services and their EndpointSlices: one entry per
//! service port, with the addresses that reach it and the endpoints behind it — upstream's
//! `ServicePort` and `Endpoint` views, reduced to what the rules need.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Services labelled with this are for another proxy (upstream's `service-proxy-name`).
const PROXY_NAME_LABEL: &str = "service.kubernetes.io/service-proxy-name";
/// ClientIP affinity's default timeout (upstream's `DefaultClientIPServiceAffinitySeconds`).
const DEFAULT_AFFINITY_SECONDS: u32 = 10_800;

/// A transport protocol a Service port may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    fn parse(text: Option<&str>) -> Option<Self> {
        match text.unwrap_or("TCP") {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }

    /// nftables' name for it.
    pub fn nft(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

/// One backend of a service port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// The pod's address.
    pub ip: Ipv4Addr,
    /// The port on the pod.
    pub port: u16,
    /// Whether the endpoint runs on this node.
    pub local: bool,
    /// Ready: takes new connections.
    pub ready: bool,
    /// Serving while terminating: used only when no endpoint is ready (upstream's fallback).
    pub serving_terminating: bool,
}

/// One port of one Service, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// `<namespace>/<name>`.
    pub service: String,
    /// The port's name (may be empty for a single-port Service).
    pub port_name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// The port clients connect to on the cluster IP and external addresses.
    pub port: u16,
    /// The Service's cluster IPs (IPv4 ones).
    pub cluster_ips: Vec<Ipv4Addr>,
    /// The node port, if the Service has one.
    pub node_port: Option<u16>,
    /// `spec.externalIPs` and the load balancer's ingress addresses.
    pub external_ips: Vec<Ipv4Addr>,
    /// `sessionAffinity: ClientIP`'s timeout in seconds.
    pub affinity_seconds: Option<u32>,
    /// `externalTrafficPolicy: Local`.
    pub external_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub internal_local: bool,
    /// The endpoints behind the port, sorted and without duplicates.
    pub endpoints: Vec<Endpoint>,
}

impl ServicePort {
    /// The endpoints new connections go to when any node's may take them: the ready ones,
    /// or, if none is, the serving ones that are terminating (as upstream's proxies do).
    pub fn cluster_endpoints(&self) -> Vec<&Endpoint> {
        usable(self.endpoints.iter())
    }

    /// The same choice among this node's endpoints.
    pub fn local_endpoints(&self) -> Vec<&Endpoint> {
        usable(self.endpoints.iter().filter(|e| e.local))
    }

    /// The endpoints traffic to the cluster IP uses.
    pub fn internal_endpoints(&self) -> Vec<&Endpoint> {
        if self.internal_local {
            self.local_endpoints()
        } else {
            self.cluster_endpoints()
        }
    }

    /// The endpoints traffic from outside uses (node ports, external and load-balancer IPs).
    pub fn external_endpoints(&self) -> Vec<&Endpoint> {
        if self.external_local {
            self.local_endpoints()
        } else {
            self.cluster_endpoints()
        }
    }

    /// Whether anything reaches the port from outside the cluster.
    pub fn is_external(&self) -> bool {
        self.node_port.is_some() || !self.external_ips.is_empty()
    }
}

fn usable<'a>(endpoints: impl Iterator<Item = &'a Endpoint> + Clone) -> Vec<&'a Endpoint> {
    let ready: Vec<&Endpoint> = endpoints.clone().filter(|e| e.ready).collect();
    if ready.is_empty() {
        endpoints.filter(|e| e.serving_terminating).collect()
    } else {
        ready
    }
}

/// The service ports to program, in a stable order: every proxied Service's ports with the
/// endpoints its slices list for them. Services without a cluster IP (headless, ExternalName)
/// and those for another proxy are left out, as upstream's proxies leave them.
pub fn service_ports<'a>(
    services: impl IntoIterator<Item = &'a Service>,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    node_name: &str,
) -> Vec<ServicePort> {
    let mut by_service: BTreeMap<(String, String), Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in slices {
        if slice.address_type != "IPv4" {
            continue;
        }
        let meta = &slice.metadata;
        let Some(service) = meta.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)) else {
            continue;
        };
        let namespace = meta.namespace.clone().unwrap_or_default();
        by_service
            .entry((namespace, service.clone()))
            .or_default()
            .push(slice);
    }
    let mut ports = Vec::new();
    for service in services {
        let namespace = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        let slices = by_service
            .get(&(namespace.clone(), name.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        ports.extend(ports_of(
            service,
            &format!("{namespace}/{name}"),
            slices,
            node_name,
        ));
    }
    ports
}

fn ports_of(
    service: &Service,
    key: &str,
    slices: &[&EndpointSlice],
    node_name: &str,
) -> Vec<ServicePort> {
    let labels = service.metadata.labels.as_ref();
    if labels.is_some_and(|l| l.contains_key(PROXY_NAME_LABEL)) {
        return Vec::new();
    }
    let Some(spec) = &service.spec else {
        return Vec::new();
    };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let cluster_ips: Vec<Ipv4Addr> = spec
        .cluster_ips
        .iter()
        .flatten()
        .chain(spec.cluster_ip.iter())
        .filter_map(|ip| ip.parse().ok())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if cluster_ips.is_empty() {
        return Vec::new(); // headless: DNS answers with the pods themselves
    }
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    let external_ips: Vec<Ipv4Addr> = spec
        .external_ips
        .iter()
        .flatten()
        .filter_map(|ip| ip.parse().ok())
        .chain(
            ingress
                .into_iter()
                .flatten()
                .filter_map(|i| i.ip.as_deref()?.parse().ok()),
        )
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let affinity_seconds = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(DEFAULT_AFFINITY_SECONDS)
    });
    let mut out = Vec::new();
    for port in spec.ports.iter().flatten() {
        let (Some(protocol), Ok(number)) = (
            Protocol::parse(port.protocol.as_deref()),
            u16::try_from(port.port),
        ) else {
            continue;
        };
        let port_name = port.name.clone().unwrap_or_default();
        out.push(ServicePort {
            service: key.to_owned(),
            endpoints: endpoints_for(slices, &port_name, protocol, node_name),
            port_name,
            protocol,
            port: number,
            cluster_ips: cluster_ips.clone(),
            node_port: port.node_port.and_then(|p| u16::try_from(p).ok()),
            external_ips: external_ips.clone(),
            affinity_seconds,
            external_local: spec.external_traffic_policy.as_deref() == Some("Local"),
            internal_local: spec.internal_traffic_policy.as_deref() == Some("Local"),
        });
    }
    out
}

/// The endpoints the slices list for the port named `port_name` (slices match ports by name).
fn endpoints_for(
    slices: &[&EndpointSlice],
    port_name: &str,
    protocol: Protocol,
    node_name: &str,
) -> Vec<Endpoint> {
    let mut found = BTreeSet::new();
    for slice in slices {
        let Some(port) = slice.ports.iter().flatten().find(|p| {
            p.name.as_deref().unwrap_or_default() == port_name
                && Protocol::parse(p.protocol.as_deref()) == Some(protocol)
        }) else {
            continue;
        };
        let Some(number) = port.port.and_then(|p| u16::try_from(p).ok()) else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            // Unset conditions mean "ready" (the API's documented default for consumers).
            let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
            let serving = conditions.and_then(|c| c.serving).unwrap_or(ready);
            let terminating = conditions.and_then(|c| c.terminating).unwrap_or(false);
            let local = endpoint.node_name.as_deref() == Some(node_name);
            for address in &endpoint.addresses {
                if let Ok(ip) = address.parse() {
                    found.insert(Endpoint {
                        ip,
                        port: number,
                        local,
                        ready,
                        serving_terminating: serving && terminating,
                    });
                }
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(spec: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn slice(name: &str, ports: serde_json::Value, endpoints: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default",
                         "labels": {SERVICE_NAME_LABEL: "web"}},
            "addressType": "IPv4",
            "ports": ports,
            "endpoints": endpoints,
        }))
        .unwrap()
    }

    #[test]
    fn ports_join_the_endpoints_of_every_slice_by_port_name() {
        let svc = service(json!({
            "clusterIP": "10.43.0.20", "clusterIPs": ["10.43.0.20"],
            "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}],
        }));
        let a = slice(
            "web-a",
            json!([{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}]),
            json!([{"addresses": ["10.42.0.5"], "nodeName": "n1"},
                   {"addresses": ["10.42.1.5"], "nodeName": "n2", "conditions": {"ready": false}}]),
        );
        let b = slice(
            "web-b",
            json!([{"name": "http", "port": 8080}]),
            json!([{"addresses": ["10.42.0.6"], "nodeName": "n1"},
                   {"addresses": ["10.42.0.5"], "nodeName": "n1"}]),
        );
        let ports = service_ports([&svc], [&a, &b], "n1");
        assert_eq!(ports.len(), 2);
        let http = &ports[0];
        assert_eq!((http.port, http.protocol), (80, Protocol::Tcp));
        assert_eq!(http.cluster_ips, vec![Ipv4Addr::new(10, 43, 0, 20)]);
        let ips: Vec<String> = http
            .endpoints
            .iter()
            .map(|e| format!("{}:{}", e.ip, e.port))
            .collect();
        assert_eq!(ips, ["10.42.0.5:8080", "10.42.0.6:8080", "10.42.1.5:8080"]);
        assert_eq!(
            http.cluster_endpoints().len(),
            2,
            "the unready one is left out"
        );
        let dns = &ports[1];
        assert_eq!((dns.port, dns.protocol), (53, Protocol::Udp));
        assert_eq!(dns.endpoints.len(), 2, "slice b does not list the dns port");
        assert!(dns.endpoints.iter().all(|e| e.port == 5353));
    }

    #[test]
    fn terminating_endpoints_serve_only_when_none_is_ready() {
        let svc = service(json!({"clusterIP": "10.43.0.20", "ports": [{"port": 80}]}));
        let going = json!({"addresses": ["10.42.0.7"], "nodeName": "n1",
                           "conditions": {"ready": false, "serving": true, "terminating": true}});
        let only_going = slice("a", json!([{"port": 80}]), json!([going.clone()]));
        let ports = service_ports([&svc], [&only_going], "n1");
        assert_eq!(ports[0].cluster_endpoints().len(), 1);
        let both = slice(
            "a",
            json!([{"port": 80}]),
            json!([going, {"addresses": ["10.42.0.8"], "nodeName": "n2"}]),
        );
        let ports = service_ports([&svc], [&both], "n1");
        let chosen: Vec<Ipv4Addr> = ports[0].cluster_endpoints().iter().map(|e| e.ip).collect();
        assert_eq!(chosen, [Ipv4Addr::new(10, 42, 0, 8)]);
        assert!(
            ports[0]
                .local_endpoints()
                .iter()
                .all(|e| e.ip == Ipv4Addr::new(10, 42, 0, 7))
        );
    }

    #[test]
    fn headless_external_name_and_foreign_services_are_not_proxied() {
        let headless = service(json!({"clusterIP": "None", "ports": [{"port": 80}]}));
        let external = service(json!({"type": "ExternalName", "externalName": "example.org"}));
        let mut foreign = service(json!({"clusterIP": "10.43.0.9", "ports": [{"port": 80}]}));
        foreign.metadata.labels = Some([(PROXY_NAME_LABEL.to_owned(), "other".to_owned())].into());
        assert!(service_ports([&headless, &external, &foreign], [], "n1").is_empty());
    }

    #[test]
    fn policies_affinity_and_outside_addresses_are_read() {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.43.0.20",
                     "ports": [{"port": 80, "nodePort": 30080}],
                     "externalIPs": ["192.0.2.10"], "sessionAffinity": "ClientIP",
                     "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.20"}]}},
        }))
        .unwrap();
        let port = &service_ports([&svc], [], "n1")[0];
        assert_eq!(port.node_port, Some(30080));
        assert_eq!(
            port.external_ips,
            [Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 20)]
        );
        assert_eq!(port.affinity_seconds, Some(10_800));
        assert!(port.external_local && !port.internal_local && port.is_external());
    }
}
