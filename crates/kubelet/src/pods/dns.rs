//! A pod's resolv.conf, as upstream's kubelet composes it from the pod's `dnsPolicy` and
//! `dnsConfig`: the cluster DNS with the namespace's search list and `ndots:5` for
//! `ClusterFirst`, the node's own resolvers for `Default` (and for host-network pods unless
//! they ask for `ClusterFirstWithHostNet`), only the pod's own settings for `None`.

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;
use std::net::IpAddr;
use std::path::PathBuf;

/// Upstream's limits: at most 3 name servers and 32 search domains.
const MAX_SERVERS: usize = 3;
const MAX_SEARCHES: usize = 32;

/// The node's DNS settings (upstream kubelet's `--cluster-dns`, `--cluster-domain` and
/// `--resolv-conf`).
#[derive(Debug, Clone)]
pub struct DnsSettings {
    /// The cluster DNS servers.
    pub cluster_dns: Vec<IpAddr>,
    /// The cluster domain.
    pub cluster_domain: String,
    /// The node's resolv.conf.
    pub resolv_conf: PathBuf,
}

impl Default for DnsSettings {
    fn default() -> Self {
        Self {
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".to_owned(),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }
}

impl DnsSettings {
    /// The DNS configuration of `pod`'s sandbox, reading the node's resolv.conf now (as
    /// upstream does at each sandbox's creation).
    pub fn for_pod(&self, pod: &Pod) -> cri::DnsConfig {
        let host = std::fs::read_to_string(&self.resolv_conf).unwrap_or_default();
        pod_dns(pod, self, &Resolv::parse(&host))
    }
}

/// A resolv.conf's servers, search domains and options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolv {
    /// `nameserver` lines.
    pub servers: Vec<String>,
    /// The last `search` (or `domain`) line's domains.
    pub searches: Vec<String>,
    /// `options` words.
    pub options: Vec<String>,
}

impl Resolv {
    /// Reads resolv.conf text (the last `search` line wins, as the resolver reads it).
    pub fn parse(text: &str) -> Self {
        let mut resolv = Self::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => resolv.servers.extend(words.next().map(str::to_owned)),
                Some("search" | "domain") => {
                    resolv.searches = words.map(str::to_owned).collect();
                }
                Some("options") => resolv.options.extend(words.map(str::to_owned)),
                _ => {}
            }
        }
        resolv
    }
}

fn push_unique(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for item in items {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

/// The pod's DNS configuration, given the node's settings and its resolv.conf.
pub fn pod_dns(pod: &Pod, settings: &DnsSettings, host: &Resolv) -> cri::DnsConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let host_network = spec.host_network.unwrap_or(false);
    let policy = match spec.dns_policy.as_deref().unwrap_or("ClusterFirst") {
        "ClusterFirstWithHostNet" => "ClusterFirst",
        "ClusterFirst" if host_network => "Default",
        other => other,
    };
    let mut resolv = match policy {
        "None" => Resolv::default(),
        "ClusterFirst" if !settings.cluster_dns.is_empty() => {
            let domain = &settings.cluster_domain;
            let mut searches = vec![
                format!("{namespace}.svc.{domain}"),
                format!("svc.{domain}"),
                domain.clone(),
            ];
            push_unique(&mut searches, host.searches.clone());
            Resolv {
                servers: settings
                    .cluster_dns
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                searches,
                options: vec!["ndots:5".to_owned()],
            }
        }
        // `Default`, and `ClusterFirst` on a node without cluster DNS (upstream falls back).
        _ => host.clone(),
    };
    if let Some(config) = &spec.dns_config {
        push_unique(
            &mut resolv.servers,
            config.nameservers.clone().unwrap_or_default(),
        );
        push_unique(
            &mut resolv.searches,
            config.searches.clone().unwrap_or_default(),
        );
        for option in config.options.iter().flatten() {
            let Some(name) = option.name.clone() else {
                continue;
            };
            // The pod's option replaces one of the same name.
            resolv
                .options
                .retain(|o| o.split(':').next() != Some(name.as_str()));
            resolv.options.push(match &option.value {
                Some(value) => format!("{name}:{value}"),
                None => name,
            });
        }
    }
    resolv.servers.truncate(MAX_SERVERS);
    resolv.searches.truncate(MAX_SEARCHES);
    cri::DnsConfig {
        servers: resolv.servers,
        searches: resolv.searches,
        options: resolv.options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "shop"}, "spec": spec}),
        )
        .unwrap()
    }

    fn settings() -> DnsSettings {
        DnsSettings {
            cluster_dns: vec!["10.43.0.10".parse().unwrap()],
            ..DnsSettings::default()
        }
    }

    fn host() -> Resolv {
        Resolv::parse("search corp.example\nnameserver 192.0.2.53\noptions edns0\n")
    }

    #[test]
    fn cluster_first_uses_the_cluster_dns_and_the_namespace_search_list() {
        let dns = pod_dns(&pod(json!({"containers": []})), &settings(), &host());
        assert_eq!(dns.servers, ["10.43.0.10"]);
        assert_eq!(
            dns.searches,
            [
                "shop.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "corp.example"
            ]
        );
        assert_eq!(dns.options, ["ndots:5"]);
    }

    #[test]
    fn host_network_pods_use_the_node_resolvers_unless_they_ask() {
        let plain = pod(json!({"containers": [], "hostNetwork": true}));
        assert_eq!(
            pod_dns(&plain, &settings(), &host()).servers,
            ["192.0.2.53"]
        );
        let asking = pod(json!({"containers": [], "hostNetwork": true,
                                "dnsPolicy": "ClusterFirstWithHostNet"}));
        assert_eq!(
            pod_dns(&asking, &settings(), &host()).servers,
            ["10.43.0.10"]
        );
        let no_cluster_dns = DnsSettings::default();
        let cluster_first = pod(json!({"containers": []}));
        assert_eq!(
            pod_dns(&cluster_first, &no_cluster_dns, &host()).options,
            ["edns0"],
            "without cluster DNS, ClusterFirst falls back to the node's"
        );
    }

    #[test]
    fn the_pods_dns_config_adds_servers_searches_and_overrides_options() {
        let custom = pod(json!({"containers": [], "dnsConfig": {
            "nameservers": ["192.0.2.99"], "searches": ["extra.example"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "single-request"}]}}));
        let dns = pod_dns(&custom, &settings(), &host());
        assert_eq!(dns.servers, ["10.43.0.10", "192.0.2.99"]);
        assert_eq!(
            dns.searches.last().map(String::as_str),
            Some("extra.example")
        );
        assert_eq!(dns.options, ["ndots:2", "single-request"]);
        let none = pod(json!({"containers": [], "dnsPolicy": "None",
                              "dnsConfig": {"nameservers": ["192.0.2.1"]}}));
        let dns = pod_dns(&none, &settings(), &host());
        assert_eq!(
            (dns.servers.as_slice(), dns.searches.len()),
            (["192.0.2.1".to_owned()].as_slice(), 0)
        );
    }
}
