//! The proxy's nftables table, rendered from the service ports: what the kernel should hold,
//! as chains, verdict maps and affinity sets. The shape follows upstream's nftables mode —
//! one map lookup per packet to find the service, a chain per service port choosing an endpoint
//! at random (or by client affinity), a chain per endpoint doing the DNAT, and filter checks
//! that refuse traffic to services without endpoints — so a packet costs the same whatever
//! the number of services.

use crate::model::{Endpoint, ServicePort};
use gantry_api::cidr::Ipv4Cidr;
use std::collections::BTreeMap;

/// The mark that asks `postrouting` to masquerade a connection (upstream's bit).
const MASQUERADE_MARK: &str = "0x4000";

/// A chain: its hook line (for base chains) and its rules, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chain {
    /// `type nat hook prerouting priority -100; policy accept;` for base chains.
    pub hook: Option<&'static str>,
    /// The rules, as nft writes them.
    pub rules: Vec<String>,
}

/// A verdict map: its type line and its elements (key → verdict).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Map {
    /// `type ipv4_addr . inet_proto . inet_service : verdict;`.
    pub kind: &'static str,
    /// Key → verdict, e.g. `10.43.0.10 . udp . 53` → `goto svc-…`.
    pub elements: BTreeMap<String, String>,
}

/// Everything the table holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ruleset {
    /// Chains by name.
    pub chains: BTreeMap<String, Chain>,
    /// Verdict maps by name.
    pub maps: BTreeMap<String, Map>,
    /// Affinity sets by name → their definition (the timeout is part of the name, so a set's
    /// definition never changes under one name).
    pub sets: BTreeMap<String, String>,
}

const SERVICE_KEY: &str = "type ipv4_addr . inet_proto . inet_service : verdict;";
const NODE_PORT_KEY: &str = "type inet_proto . inet_service : verdict;";

/// What rendering needs besides the service ports.
#[derive(Debug, Clone, Default)]
pub struct RenderConfig {
    /// The cluster's pod range: traffic from outside it to a cluster IP is masqueraded, so
    /// replies come back through this node. Without it, all service traffic is.
    pub cluster_cidr: Option<Ipv4Cidr>,
}

impl Ruleset {
    /// The table for `ports`.
    pub fn render(ports: &[ServicePort], config: &RenderConfig) -> Self {
        let mut set = Self::base();
        for port in ports {
            set.add_port(port, config);
        }
        set
    }

    /// The chains and maps every table has, whatever the services.
    fn base() -> Self {
        let mut set = Self::default();
        // Numeric priorities: older nft accepts `dstnat` only on the prerouting hook.
        let base = [
            (
                "nat-prerouting",
                "type nat hook prerouting priority -100; policy accept;",
                "jump services",
            ),
            (
                "nat-output",
                "type nat hook output priority -100; policy accept;",
                "jump services",
            ),
            (
                "nat-postrouting",
                "type nat hook postrouting priority 100; policy accept;",
                "jump masquerading",
            ),
            // Before NAT (-100), so the destination is still the service's own address.
            (
                "filter-input",
                "type filter hook input priority -110; policy accept;",
                "ct state new jump endpoints-check",
            ),
            (
                "filter-forward",
                "type filter hook forward priority -110; policy accept;",
                "ct state new jump endpoints-check",
            ),
            (
                "filter-output",
                "type filter hook output priority -110; policy accept;",
                "ct state new jump endpoints-check",
            ),
        ];
        for (name, hook, rule) in base {
            set.chain(name, Some(hook), [rule.to_owned()]);
        }
        // Node ports are served on the node's own addresses, never on loopback (upstream's
        // default too: loopback node ports need route_localnet).
        let lookups = |services: &str, node_ports: &str| {
            [
                format!("ip daddr . meta l4proto . th dport vmap @{services}"),
                format!(
                    "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @{node_ports}"
                ),
            ]
        };
        set.chain(
            "services",
            None,
            lookups("service-ips", "service-nodeports"),
        );
        set.chain(
            "endpoints-check",
            None,
            lookups("no-endpoint-services", "no-endpoint-nodeports"),
        );
        set.chain(
            "mark-for-masquerade",
            None,
            [format!("meta mark set meta mark | {MASQUERADE_MARK}")],
        );
        set.chain(
            "masquerading",
            None,
            [
                format!("meta mark & {MASQUERADE_MARK} == 0 return"),
                format!("meta mark set meta mark ^ {MASQUERADE_MARK}"),
                "masquerade fully-random".to_owned(),
            ],
        );
        // Refused at once (ICMP port unreachable: "connection refused"), rather than left to
        // time out, as upstream does for services without endpoints.
        set.chain("reject-chain", None, ["reject".to_owned()]);
        for (name, kind) in [
            ("service-ips", SERVICE_KEY),
            ("service-nodeports", NODE_PORT_KEY),
            ("no-endpoint-services", SERVICE_KEY),
            ("no-endpoint-nodeports", NODE_PORT_KEY),
        ] {
            set.maps.insert(
                name.to_owned(),
                Map {
                    kind,
                    elements: BTreeMap::new(),
                },
            );
        }
        set
    }

    fn chain(
        &mut self,
        name: &str,
        hook: Option<&'static str>,
        rules: impl IntoIterator<Item = String>,
    ) {
        self.chains.insert(
            name.to_owned(),
            Chain {
                hook,
                rules: rules.into_iter().collect(),
            },
        );
    }

    fn element(&mut self, map: &str, key: String, verdict: String) {
        if let Some(map) = self.maps.get_mut(map) {
            map.elements.insert(key, verdict);
        }
    }

    fn add_port(&mut self, port: &ServicePort, config: &RenderConfig) {
        let proto = port.protocol.nft();
        // `<namespace>/<name>/<protocol>/<port>` names the port's chains: unique per table and
        // readable in `nft list`.
        let id = format!("{}/{proto}/{}", port.service, port.port);
        let cluster = port.cluster_endpoints();
        let local = port.local_endpoints();
        let (cluster_chain, local_chain) = (format!("cluster-{id}"), format!("local-{id}"));
        let mut used_cluster = false;
        let mut used_local = false;
        // Without usable endpoints: refused, unless a Local policy leaves endpoints elsewhere
        // unused, where upstream drops (the client may retry another node).
        let refuse = |local_policy: bool| {
            if local_policy && !cluster.is_empty() {
                "drop".to_owned()
            } else {
                "goto reject-chain".to_owned()
            }
        };

        // Traffic to the cluster IPs.
        let internal = port.internal_endpoints();
        let service_chain = format!("svc-{id}");
        for ip in &port.cluster_ips {
            let key = format!("{ip} . {proto} . {}", port.port);
            if internal.is_empty() {
                self.element("no-endpoint-services", key, refuse(port.internal_local));
            } else {
                self.element("service-ips", key, format!("goto {service_chain}"));
            }
        }
        if !internal.is_empty() {
            let mut rules: Vec<String> = port
                .cluster_ips
                .iter()
                .map(|ip| {
                    let from = config
                        .cluster_cidr
                        .map(|c| format!(" ip saddr != {c}"))
                        .unwrap_or_default();
                    format!(
                        "ip daddr {ip} {proto} dport {}{from} jump mark-for-masquerade",
                        port.port
                    )
                })
                .collect();
            if port.internal_local {
                used_local = true;
                rules.push(format!("goto {local_chain}"));
            } else {
                used_cluster = true;
                rules.push(format!("goto {cluster_chain}"));
            }
            self.chain(&service_chain, None, rules);
        }

        // Traffic from outside: node ports, external and load-balancer addresses.
        if port.is_external() {
            let external = port.external_endpoints();
            let external_chain = format!("ext-{id}");
            let verdict = if external.is_empty() {
                None
            } else {
                Some(format!("goto {external_chain}"))
            };
            for ip in &port.external_ips {
                let key = format!("{ip} . {proto} . {}", port.port);
                match &verdict {
                    Some(v) => self.element("service-ips", key, v.clone()),
                    None => self.element("no-endpoint-services", key, refuse(port.external_local)),
                }
            }
            if let Some(node_port) = port.node_port {
                let key = format!("{proto} . {node_port}");
                match &verdict {
                    Some(v) => self.element("service-nodeports", key, v.clone()),
                    None => self.element("no-endpoint-nodeports", key, refuse(port.external_local)),
                }
            }
            if verdict.is_some() {
                used_cluster = true;
                let rules = if port.external_local {
                    used_local = true;
                    // Pods and the node itself are treated as inside the cluster (upstream's
                    // short-circuit); only their traffic is masqueraded and spread.
                    let mut rules = Vec::new();
                    if let Some(cidr) = config.cluster_cidr {
                        rules.push(format!("ip saddr {cidr} goto {cluster_chain}"));
                    }
                    rules.push("fib saddr type local jump mark-for-masquerade".to_owned());
                    rules.push(format!("fib saddr type local goto {cluster_chain}"));
                    rules.push(format!("goto {local_chain}"));
                    rules
                } else {
                    vec![
                        "jump mark-for-masquerade".to_owned(),
                        format!("goto {cluster_chain}"),
                    ]
                };
                self.chain(&external_chain, None, rules);
            }
        }

        if used_cluster {
            self.add_selection(&cluster_chain, &id, port, &cluster);
        }
        if used_local {
            self.add_selection(&local_chain, &id, port, &local);
        }
    }

    /// A chain choosing one of `endpoints` (by affinity first, then at random), and the
    /// endpoints' own chains.
    fn add_selection(&mut self, name: &str, id: &str, port: &ServicePort, endpoints: &[&Endpoint]) {
        let mut rules = Vec::new();
        let chains: Vec<String> = endpoints
            .iter()
            .map(|e| self.add_endpoint(id, port, e))
            .collect();
        if let Some(timeout) = port.affinity_seconds {
            for (endpoint, chain) in endpoints.iter().zip(&chains) {
                rules.push(format!(
                    "ip saddr @{} goto {chain}",
                    affinity_set(id, endpoint, timeout)
                ));
            }
        }
        match chains.as_slice() {
            [] => rules.push("goto reject-chain".to_owned()),
            [only] => rules.push(format!("goto {only}")),
            many => {
                let arms: Vec<String> = many
                    .iter()
                    .enumerate()
                    .map(|(i, chain)| format!("{i} : goto {chain}"))
                    .collect();
                rules.push(format!(
                    "numgen random mod {} vmap {{ {} }}",
                    many.len(),
                    arms.join(", ")
                ));
            }
        }
        self.chain(name, None, rules);
    }

    fn add_endpoint(&mut self, id: &str, port: &ServicePort, endpoint: &Endpoint) -> String {
        let name = format!("ep-{id}/{}/{}", endpoint.ip, endpoint.port);
        if self.chains.contains_key(&name) {
            return name;
        }
        // A pod reaching itself through its service (hairpin) must be masqueraded, or its
        // reply would bypass the NAT.
        let mut rules = vec![format!("ip saddr {} jump mark-for-masquerade", endpoint.ip)];
        if let Some(timeout) = port.affinity_seconds {
            let set = affinity_set(id, endpoint, timeout);
            self.sets.insert(
                set.clone(),
                format!("type ipv4_addr; flags dynamic,timeout; timeout {timeout}s;"),
            );
            rules.push(format!("update @{set} {{ ip saddr }}"));
        }
        rules.push(format!(
            "meta l4proto {} dnat to {}:{}",
            port.protocol.nft(),
            endpoint.ip,
            endpoint.port
        ));
        self.chain(&name, None, rules);
        name
    }
}

fn affinity_set(id: &str, endpoint: &Endpoint, timeout: u32) -> String {
    format!("aff{timeout}-{id}/{}/{}", endpoint.ip, endpoint.port)
}
