//! Services and how traffic finds pods: services, endpoints, endpoint slices, ingresses, ingress
//! classes, network policies, and the `networking.k8s.io` IP addresses and service CIDRs.

use super::format::{
    format_label_selector, format_labels, is_set, items, list_with_more, or, text,
};
use super::{AGE, Column, NAME, Printer, docs, format};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub(super) const SERVICES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Type", "string", docs::SERVICE_SPEC_TYPE),
        Column::new("Cluster-IP", "string", docs::SERVICE_SPEC_CLUSTER_IP),
        Column::new("External-IP", "string", docs::SERVICE_SPEC_EXTERNAL_IPS),
        Column::new("Port(s)", "string", docs::SERVICE_SPEC_PORTS),
        AGE,
        Column::new("Selector", "string", docs::SERVICE_SPEC_SELECTOR).wide(),
    ],
    cells: |service| {
        // Upstream keeps `clusterIPs` in step with `clusterIP`; an object written before that
        // was so has only the latter.
        let cluster_ip = items(service, "/spec/clusterIPs")
            .first()
            .and_then(Value::as_str)
            .map_or_else(
                || or(text(service, "/spec/clusterIP"), "<none>"),
                str::to_owned,
            );
        let ports: Vec<String> = items(service, "/spec/ports")
            .iter()
            .map(|p| {
                let port = p["port"].as_i64().unwrap_or(0);
                let protocol = p["protocol"].as_str().unwrap_or("");
                match p["nodePort"].as_i64().filter(|n| *n > 0) {
                    Some(node_port) => format!("{port}:{node_port}/{protocol}"),
                    None => format!("{port}/{protocol}"),
                }
            })
            .collect();
        vec![
            format::name(service),
            json!(text(service, "/spec/type")),
            json!(cluster_ip),
            json!(external_ip(service)),
            json!(or(&ports.join(","), "<none>")),
            format::age(service),
            json!(format_labels(service, "/spec/selector")),
        ]
    },
};

/// The load balancer's addresses (IP, else hostname), sorted and deduplicated, comma-joined.
/// Never clipped: the server prints as `-o wide` would.
fn load_balancer(object: &Value) -> String {
    let addresses: BTreeSet<&str> = items(object, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| {
            i["ip"]
                .as_str()
                .filter(|ip| !ip.is_empty())
                .or_else(|| i["hostname"].as_str().filter(|h| !h.is_empty()))
        })
        .collect();
    addresses.into_iter().collect::<Vec<_>>().join(",")
}

/// The External-IP cell (upstream's `getServiceExternalIP`).
fn external_ip(service: &Value) -> String {
    let external: Vec<&str> = items(service, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match text(service, "/spec/type") {
        "ClusterIP" | "NodePort" => or(&external.join(","), "<none>"),
        "LoadBalancer" => {
            let balancer = load_balancer(service);
            let mut all: Vec<&str> = balancer.split(',').filter(|a| !a.is_empty()).collect();
            all.extend(external);
            or(&all.join(","), "<pending>")
        }
        "ExternalName" => text(service, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

/// `host:port`, bracketing IPv6 hosts (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub(super) const ENDPOINTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Endpoints", "string", docs::ENDPOINTS_SUBSETS),
        AGE,
    ],
    cells: |endpoints| {
        vec![
            format::name(endpoints),
            json!(format_endpoints(endpoints)),
            format::age(endpoints),
        ]
    },
};

/// Up to three `ip:port` pairs (bare IPs for a subset without ports), then ` + N more...`;
/// `<none>` without subsets (upstream's `formatEndpoints`).
fn format_endpoints(endpoints: &Value) -> String {
    let subsets = items(endpoints, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    const MAX: usize = 3;
    let mut shown = Vec::new();
    let mut count = 0;
    for subset in subsets {
        let addresses = subset["addresses"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let ip = |a: &Value| a["ip"].as_str().unwrap_or("").to_owned();
        let ports = subset["ports"].as_array().map_or(&[][..], Vec::as_slice);
        if ports.is_empty() {
            // A headless service may have no ports.
            count += addresses.len();
            shown.extend(addresses.iter().map(ip));
            continue;
        }
        for port in ports {
            count += addresses.len();
            let port = port["port"].as_i64().unwrap_or(0);
            shown.extend(addresses.iter().map(|a| join_host_port(&ip(a), port)));
        }
    }
    if count > MAX {
        shown.truncate(MAX);
        format!("{} + {} more...", shown.join(","), count - MAX)
    } else {
        shown.join(",")
    }
}

pub(super) const ENDPOINT_SLICES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("AddressType", "string", docs::ENDPOINT_SLICE_ADDRESS_TYPE),
        Column::new("Ports", "string", docs::ENDPOINT_SLICE_PORTS),
        Column::new("Endpoints", "string", docs::ENDPOINT_SLICE_ENDPOINTS),
        AGE,
    ],
    cells: |slice| {
        let ports: Vec<String> = items(slice, "/ports")
            .iter()
            .map(|p| match (p["port"].as_i64(), p["name"].as_str()) {
                (Some(port), _) => port.to_string(),
                (None, Some(name)) => name.to_owned(),
                (None, None) => "*".to_owned(),
            })
            .collect();
        let addresses: Vec<String> = items(slice, "/endpoints")
            .iter()
            .flat_map(|e| e["addresses"].as_array().map_or(&[][..], Vec::as_slice))
            .map(|a| a.as_str().unwrap_or("").to_owned())
            .collect();
        vec![
            format::name(slice),
            json!(text(slice, "/addressType")),
            json!(list_with_more(&ports, 3)),
            json!(list_with_more(&addresses, 3)),
            format::age(slice),
        ]
    },
};

pub(super) const INGRESSES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Class",
            "string",
            "The class column, computed as upstream's printer does.",
        ),
        Column::new(
            "Hosts",
            "string",
            "The hosts column, computed as upstream's printer does.",
        ),
        Column::new(
            "Address",
            "string",
            "The address column, computed as upstream's printer does.",
        ),
        Column::new(
            "Ports",
            "string",
            "The ports column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |ingress| {
        let class = ingress
            .pointer("/spec/ingressClassName")
            .and_then(Value::as_str)
            .unwrap_or("<none>");
        let ports = if items(ingress, "/spec/tls").is_empty() {
            "80"
        } else {
            "80, 443"
        };
        vec![
            format::name(ingress),
            json!(class),
            json!(ingress_hosts(ingress)),
            json!(load_balancer(ingress)),
            json!(ports),
            format::age(ingress),
        ]
    },
};

/// The rules' hosts, up to three, then ` + N more...` counted over all rules; `*` when no rule
/// names a host (upstream's `formatHosts`).
fn ingress_hosts(ingress: &Value) -> String {
    const MAX: usize = 3;
    let rules = items(ingress, "/spec/rules");
    let mut hosts = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        let host = rule["host"].as_str().unwrap_or("");
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        return "*".to_owned();
    }
    let joined = hosts.join(",");
    if more {
        format!("{joined} + {} more...", rules.len() - MAX)
    } else {
        joined
    }
}

pub(super) const INGRESS_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Controller",
            "string",
            "The controller column, computed as upstream's printer does.",
        ),
        Column::new(
            "Parameters",
            "string",
            "The parameters column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |class| {
        let parameters = if is_set(class, "/spec/parameters") {
            let mut kind = text(class, "/spec/parameters/kind").to_owned();
            if let Some(group) = class
                .pointer("/spec/parameters/apiGroup")
                .and_then(Value::as_str)
            {
                kind = format!("{kind}.{group}");
            }
            format!("{kind}/{}", text(class, "/spec/parameters/name"))
        } else {
            "<none>".to_owned()
        };
        vec![
            format::name(class),
            json!(text(class, "/spec/controller")),
            json!(parameters),
            format::age(class),
        ]
    },
};

pub(super) const NETWORK_POLICIES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Pod-Selector",
            "string",
            docs::NETWORK_POLICY_SPEC_POD_SELECTOR,
        ),
        AGE,
    ],
    cells: |policy| {
        vec![
            format::name(policy),
            json!(format_label_selector(policy, "/spec/podSelector")),
            format::age(policy),
        ]
    },
};

pub(super) const IP_ADDRESSES: Printer = Printer {
    // Upstream declares two columns but prints three cells, the age last; kubectl shows the
    // declared two, and so the same Table is served here.
    columns: &[
        NAME,
        Column::new("ParentRef", "string", docs::IP_ADDRESS_SPEC_PARENT_REF),
    ],
    cells: |address| {
        let parent = if is_set(address, "/spec/parentRef") {
            let group = text(address, "/spec/parentRef/group");
            let resource = text(address, "/spec/parentRef/resource");
            let mut parent = if group.is_empty() {
                resource.to_lowercase()
            } else {
                format!("{resource}.{group}").to_lowercase()
            };
            let namespace = text(address, "/spec/parentRef/namespace");
            if !namespace.is_empty() {
                parent = format!("{parent}/{namespace}");
            }
            format!("{parent}/{}", text(address, "/spec/parentRef/name"))
        } else {
            "<none>".to_owned()
        };
        vec![format::name(address), json!(parent), format::age(address)]
    },
};

pub(super) const SERVICE_CIDRS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("CIDRs", "string", docs::SERVICE_CIDR_SPEC_CIDRS),
        AGE,
    ],
    cells: |cidr| {
        let cidrs: Vec<&str> = items(cidr, "/spec/cidrs")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        vec![
            format::name(cidr),
            json!(cidrs.join(",")),
            format::age(cidr),
        ]
    },
};
