//! The cluster's DNS zone, as upstream's DNS specification for Kubernetes (and CoreDNS's
//! `kubernetes` plugin) defines it, built from Services and EndpointSlices:
//!
//! - `<svc>.<ns>.svc.<domain>`: A → the cluster IP; for a headless Service, the ready
//!   endpoints' addresses; for an ExternalName Service, a CNAME to its name.
//! - `_<port>._<proto>.<svc>.<ns>.svc.<domain>`: SRV → the named port (on the service name, or
//!   on each endpoint's name for a headless Service); SRV on the service name lists every port.
//! - `<hostname>.<svc>.<ns>.svc.<domain>` and `<a-b-c-d>.<svc>.<ns>.svc.<domain>`: A → a
//!   headless Service's endpoint (StatefulSet pods through their `hostname`/`subdomain`).
//! - `<a-b-c-d>.<ns>.pod.<domain>`: A → a.b.c.d (CoreDNS's `pods insecure`).
//!
//! Names are compared in lower case, without the trailing dot.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// The label tying an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A resource record of the zone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Record {
    /// An address.
    A(String, Ipv4Addr),
    /// A service port: name, port, target.
    Srv(String, u16, String),
    /// An alias: name, target.
    Cname(String, String),
}

/// What the zone says of a name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Records for the question (their additional A records apart).
    Records(Vec<Record>, Vec<Record>),
    /// The name exists, but has no records of that type (NODATA).
    NoData,
    /// No such name (NXDOMAIN).
    NoName,
}

/// The question types the zone answers; others get NODATA when the name exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A.
    A,
    /// SRV.
    Srv,
    /// Any other type (AAAA: the cluster is IPv4-only).
    Other,
}

#[derive(Debug, Clone, Default)]
struct Port {
    name: String,
    protocol: String,
    port: u16,
}

#[derive(Debug, Clone)]
struct Endpoint {
    ip: Ipv4Addr,
    hostname: Option<String>,
    ports: Vec<Port>,
}

#[derive(Debug, Clone, Default)]
struct ServiceEntry {
    cluster_ip: Option<Ipv4Addr>,
    external_name: Option<String>,
    ports: Vec<Port>,
    endpoints: Vec<Endpoint>,
}

/// The zone: every Service by `(namespace, name)`.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    domain: String,
    services: BTreeMap<(String, String), ServiceEntry>,
    namespaces: BTreeSet<String>,
}

fn dashed(ip: Ipv4Addr) -> String {
    ip.to_string().replace('.', "-")
}

fn undashed(label: &str) -> Option<Ipv4Addr> {
    label.replace('-', ".").parse().ok()
}

impl Zone {
    /// The zone for `domain` (e.g. `cluster.local`).
    pub fn build<'a>(
        domain: &str,
        services: impl IntoIterator<Item = &'a Service>,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
    ) -> Self {
        let mut zone = Self {
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
            ..Self::default()
        };
        for service in services {
            let (Some(namespace), Some(name)) =
                (&service.metadata.namespace, &service.metadata.name)
            else {
                continue;
            };
            let spec = service.spec.clone().unwrap_or_default();
            let entry = ServiceEntry {
                cluster_ip: spec.cluster_ip.as_deref().and_then(|ip| ip.parse().ok()),
                external_name: (spec.type_.as_deref() == Some("ExternalName"))
                    .then(|| spec.external_name.clone())
                    .flatten()
                    .map(|n| n.trim_end_matches('.').to_ascii_lowercase()),
                ports: spec
                    .ports
                    .iter()
                    .flatten()
                    .filter_map(|p| {
                        Some(Port {
                            name: p.name.clone().unwrap_or_default(),
                            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                            port: u16::try_from(p.port).ok()?,
                        })
                    })
                    .collect(),
                endpoints: Vec::new(),
            };
            zone.namespaces.insert(namespace.clone());
            zone.services
                .insert((namespace.clone(), name.clone()), entry);
        }
        for slice in slices {
            if slice.address_type != "IPv4" {
                continue;
            }
            let namespace = slice.metadata.namespace.clone().unwrap_or_default();
            let Some(service) = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
            else {
                continue;
            };
            let Some(entry) = zone.services.get_mut(&(namespace, service.clone())) else {
                continue;
            };
            let ports: Vec<Port> = slice
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    Some(Port {
                        name: p.name.clone().unwrap_or_default(),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        port: u16::try_from(p.port?).ok()?,
                    })
                })
                .collect();
            for endpoint in &slice.endpoints {
                // Only ready endpoints are published (upstream's default without
                // `publishNotReadyAddresses`, which the slices already reflect as ready).
                if endpoint.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                    continue;
                }
                for address in &endpoint.addresses {
                    if let Ok(ip) = address.parse() {
                        entry.endpoints.push(Endpoint {
                            ip,
                            hostname: endpoint.hostname.clone(),
                            ports: ports.clone(),
                        });
                    }
                }
            }
        }
        for entry in zone.services.values_mut() {
            entry.endpoints.sort_by_key(|e| e.ip);
            entry.endpoints.dedup_by_key(|e| e.ip);
        }
        zone
    }

    /// The cluster domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether `name` (lower case, no trailing dot) is in the cluster domain.
    pub fn owns(&self, name: &str) -> bool {
        name == self.domain || name.ends_with(&format!(".{}", self.domain))
    }

    /// The answer for `name` (lower case, no trailing dot) and `kind`.
    pub fn answer(&self, name: &str, kind: Kind) -> Answer {
        let Some(relative) = name
            .strip_suffix(&self.domain)
            .map(|r| r.trim_end_matches('.'))
        else {
            return Answer::NoName;
        };
        let labels: Vec<&str> = if relative.is_empty() {
            Vec::new()
        } else {
            relative.split('.').collect()
        };
        match labels.as_slice() {
            // The domain itself, `svc`, `pod`, a namespace under them: names without records.
            [] | ["svc" | "pod"] => Answer::NoData,
            [namespace, "svc"] | [namespace, "pod"] if self.namespaces.contains(*namespace) => {
                Answer::NoData
            }
            [ip, _namespace, "pod"] => match (undashed(ip), kind) {
                (Some(ip), Kind::A) => {
                    Answer::Records(vec![Record::A(name.to_owned(), ip)], vec![])
                }
                (Some(_), _) => Answer::NoData,
                (None, _) => Answer::NoName,
            },
            [service, namespace, "svc"] => self.service(name, namespace, service, kind),
            [port, protocol, service, namespace, "svc"]
                if port.starts_with('_') && protocol.starts_with('_') =>
            {
                self.service_port(namespace, service, &port[1..], &protocol[1..], kind)
            }
            [endpoint, service, namespace, "svc"] => {
                self.endpoint(name, namespace, service, endpoint, kind)
            }
            _ => Answer::NoName,
        }
    }

    fn entry(&self, namespace: &str, service: &str) -> Option<&ServiceEntry> {
        self.services
            .get(&(namespace.to_owned(), service.to_owned()))
    }

    fn fqdn(&self, labels: &[&str]) -> String {
        format!("{}.{}", labels.join("."), self.domain)
    }

    /// The name an endpoint of a headless Service is published under.
    fn endpoint_name(&self, endpoint: &Endpoint, service: &str, namespace: &str) -> String {
        let host = endpoint
            .hostname
            .clone()
            .unwrap_or_else(|| dashed(endpoint.ip));
        self.fqdn(&[&host, service, namespace, "svc"])
    }

    fn service(&self, name: &str, namespace: &str, service: &str, kind: Kind) -> Answer {
        let Some(entry) = self.entry(namespace, service) else {
            return Answer::NoName;
        };
        if let Some(target) = &entry.external_name {
            // Any question about an ExternalName Service is answered with the alias.
            return Answer::Records(vec![Record::Cname(name.to_owned(), target.clone())], vec![]);
        }
        match kind {
            Kind::A => {
                let records: Vec<Record> = match entry.cluster_ip {
                    Some(ip) => vec![Record::A(name.to_owned(), ip)],
                    None => entry
                        .endpoints
                        .iter()
                        .map(|e| Record::A(name.to_owned(), e.ip))
                        .collect(),
                };
                if records.is_empty() {
                    Answer::NoData
                } else {
                    Answer::Records(records, vec![])
                }
            }
            Kind::Srv => {
                let named: Vec<&Port> = entry.ports.iter().filter(|p| !p.name.is_empty()).collect();
                self.srv_answer(name, entry, namespace, service, &named)
            }
            Kind::Other => Answer::NoData,
        }
    }

    /// SRV records for `ports`: on the service name for a Service with a cluster IP, on each
    /// endpoint's name for a headless one; their addresses go in the additional section.
    fn srv_answer(
        &self,
        name: &str,
        entry: &ServiceEntry,
        namespace: &str,
        service: &str,
        ports: &[&Port],
    ) -> Answer {
        let (mut answers, mut extra) = (Vec::new(), Vec::new());
        for port in ports {
            match entry.cluster_ip {
                Some(ip) => {
                    let target = self.fqdn(&[service, namespace, "svc"]);
                    answers.push(Record::Srv(name.to_owned(), port.port, target.clone()));
                    extra.push(Record::A(target, ip));
                }
                None => {
                    for endpoint in &entry.endpoints {
                        let Some(target_port) = endpoint
                            .ports
                            .iter()
                            .find(|p| p.name == port.name && p.protocol == port.protocol)
                        else {
                            continue;
                        };
                        let target = self.endpoint_name(endpoint, service, namespace);
                        answers.push(Record::Srv(
                            name.to_owned(),
                            target_port.port,
                            target.clone(),
                        ));
                        extra.push(Record::A(target, endpoint.ip));
                    }
                }
            }
        }
        if answers.is_empty() {
            Answer::NoData
        } else {
            Answer::Records(answers, extra)
        }
    }

    fn service_port(
        &self,
        namespace: &str,
        service: &str,
        port_name: &str,
        protocol: &str,
        kind: Kind,
    ) -> Answer {
        let Some(entry) = self.entry(namespace, service) else {
            return Answer::NoName;
        };
        let Some(port) = entry
            .ports
            .iter()
            .find(|p| p.name == port_name && p.protocol.eq_ignore_ascii_case(protocol))
        else {
            return Answer::NoName;
        };
        if kind != Kind::Srv {
            return Answer::NoData;
        }
        let name = self.fqdn(&[
            &format!("_{port_name}"),
            &format!("_{protocol}"),
            service,
            namespace,
            "svc",
        ]);
        self.srv_answer(&name, entry, namespace, service, &[port])
    }

    fn endpoint(
        &self,
        name: &str,
        namespace: &str,
        service: &str,
        label: &str,
        kind: Kind,
    ) -> Answer {
        let Some(entry) = self.entry(namespace, service) else {
            return Answer::NoName;
        };
        let found = entry
            .endpoints
            .iter()
            .find(|e| e.hostname.as_deref() == Some(label) || undashed(label) == Some(e.ip));
        match (found, kind) {
            (Some(endpoint), Kind::A) => {
                Answer::Records(vec![Record::A(name.to_owned(), endpoint.ip)], vec![])
            }
            (Some(_), _) => Answer::NoData,
            (None, _) => Answer::NoName,
        }
    }
}
