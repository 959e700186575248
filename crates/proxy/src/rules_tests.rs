//! The rendered table and the transactions between tables, read as nft text; and, where the
//! machine lets the test program nftables (root), the same transactions applied to the kernel.

use crate::model::{Endpoint, Protocol, ServicePort};
use crate::rules::{RenderConfig, Ruleset};
use crate::transaction::{Before, Listing, transaction};
use gantry_network::nft as kernel;
use std::net::Ipv4Addr;

fn endpoint(last: u8, local: bool) -> Endpoint {
    Endpoint {
        ip: Ipv4Addr::new(10, 42, 0, last),
        port: 8080,
        local,
        ready: true,
        serving_terminating: false,
    }
}

fn web(endpoints: Vec<Endpoint>) -> ServicePort {
    ServicePort {
        service: "default/web".into(),
        port_name: "http".into(),
        protocol: Protocol::Tcp,
        port: 80,
        cluster_ips: vec![Ipv4Addr::new(10, 43, 0, 20)],
        node_port: None,
        external_ips: vec![],
        affinity_seconds: None,
        external_local: false,
        internal_local: false,
        endpoints,
    }
}

fn config() -> RenderConfig {
    RenderConfig {
        cluster_cidr: Some("10.42.0.0/16".parse().unwrap()),
    }
}

fn rules<'a>(set: &'a Ruleset, chain: &str) -> &'a [String] {
    &set.chains
        .get(chain)
        .unwrap_or_else(|| panic!("no chain {chain} in {:?}", set.chains.keys()))
        .rules
}

fn element<'a>(set: &'a Ruleset, map: &str, key: &str) -> Option<&'a str> {
    set.maps[map].elements.get(key).map(String::as_str)
}

#[test]
fn a_cluster_ip_spreads_over_its_ready_endpoints() {
    let set = Ruleset::render(
        &[web(vec![endpoint(5, true), endpoint(6, false)])],
        &config(),
    );
    assert_eq!(
        element(&set, "service-ips", "10.43.0.20 . tcp . 80"),
        Some("goto svc-default/web/tcp/80")
    );
    assert_eq!(
        rules(&set, "svc-default/web/tcp/80"),
        [
            "ip daddr 10.43.0.20 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade",
            "goto cluster-default/web/tcp/80",
        ]
    );
    assert_eq!(
        rules(&set, "cluster-default/web/tcp/80"),
        [
            "numgen random mod 2 vmap { 0 : goto ep-default/web/tcp/80/10.42.0.5/8080, 1 : goto ep-default/web/tcp/80/10.42.0.6/8080 }"
        ]
    );
    assert_eq!(
        rules(&set, "ep-default/web/tcp/80/10.42.0.6/8080"),
        [
            "ip saddr 10.42.0.6 jump mark-for-masquerade",
            "meta l4proto tcp dnat to 10.42.0.6:8080",
        ]
    );
    assert!(set.maps["no-endpoint-services"].elements.is_empty());
}

#[test]
fn a_service_without_endpoints_is_refused_not_proxied() {
    let set = Ruleset::render(&[web(vec![])], &config());
    assert_eq!(element(&set, "service-ips", "10.43.0.20 . tcp . 80"), None);
    assert_eq!(
        element(&set, "no-endpoint-services", "10.43.0.20 . tcp . 80"),
        Some("goto reject-chain")
    );
    assert!(!set.chains.keys().any(|c| c.contains("default/web")));
}

#[test]
fn external_traffic_policy_local_uses_only_this_nodes_endpoints() {
    let mut port = web(vec![endpoint(5, false), endpoint(6, true)]);
    port.node_port = Some(30080);
    port.external_local = true;
    let set = Ruleset::render(std::slice::from_ref(&port), &config());
    assert_eq!(
        element(&set, "service-nodeports", "tcp . 30080"),
        Some("goto ext-default/web/tcp/80")
    );
    assert_eq!(
        rules(&set, "ext-default/web/tcp/80"),
        [
            "ip saddr 10.42.0.0/16 goto cluster-default/web/tcp/80",
            "fib saddr type local jump mark-for-masquerade",
            "fib saddr type local goto cluster-default/web/tcp/80",
            "goto local-default/web/tcp/80",
        ]
    );
    assert_eq!(
        rules(&set, "local-default/web/tcp/80"),
        ["goto ep-default/web/tcp/80/10.42.0.6/8080"]
    );
    // Without a local endpoint, outside traffic is dropped; the cluster IP still works.
    port.endpoints = vec![endpoint(5, false)];
    let set = Ruleset::render(&[port], &config());
    assert_eq!(element(&set, "service-nodeports", "tcp . 30080"), None);
    assert_eq!(
        element(&set, "no-endpoint-nodeports", "tcp . 30080"),
        Some("drop")
    );
    assert!(element(&set, "service-ips", "10.43.0.20 . tcp . 80").is_some());
}

#[test]
fn client_ip_affinity_remembers_each_client_per_endpoint() {
    let mut port = web(vec![endpoint(5, true), endpoint(6, true)]);
    port.affinity_seconds = Some(60);
    let set = Ruleset::render(&[port], &config());
    let affinity = "aff60-default/web/tcp/80/10.42.0.5/8080";
    assert_eq!(
        set.sets.get(affinity).map(String::as_str),
        Some("type ipv4_addr; flags dynamic,timeout; timeout 60s;")
    );
    let cluster = rules(&set, "cluster-default/web/tcp/80");
    assert_eq!(
        cluster[0],
        format!("ip saddr @{affinity} goto ep-default/web/tcp/80/10.42.0.5/8080")
    );
    assert!(cluster[2].starts_with("numgen random mod 2"));
    assert!(
        rules(&set, "ep-default/web/tcp/80/10.42.0.5/8080")
            .contains(&format!("update @{affinity} {{ ip saddr }}"))
    );
}

#[test]
fn an_unchanged_table_needs_no_commands() {
    let set = Ruleset::render(&[web(vec![endpoint(5, true)])], &config());
    assert_eq!(
        transaction("gantry", Before::Applied(&set), &set),
        "add table ip gantry\n"
    );
}

#[test]
fn losing_an_endpoint_rewrites_only_the_chains_that_name_it() {
    let before = Ruleset::render(
        &[web(vec![endpoint(5, true), endpoint(6, true)])],
        &config(),
    );
    let after = Ruleset::render(&[web(vec![endpoint(5, true)])], &config());
    let script = transaction("gantry", Before::Applied(&before), &after);
    let lines: Vec<&str> = script.lines().collect();
    assert_eq!(
        lines,
        [
            "add table ip gantry",
            "flush chain ip gantry cluster-default/web/tcp/80",
            "add rule ip gantry cluster-default/web/tcp/80 goto ep-default/web/tcp/80/10.42.0.5/8080",
            "flush chain ip gantry ep-default/web/tcp/80/10.42.0.6/8080",
            "delete chain ip gantry ep-default/web/tcp/80/10.42.0.6/8080",
        ]
    );
}

#[test]
fn the_last_endpoint_going_moves_the_address_to_the_refusing_map() {
    let before = Ruleset::render(&[web(vec![endpoint(5, true)])], &config());
    let after = Ruleset::render(&[web(vec![])], &config());
    let script = transaction("gantry", Before::Applied(&before), &after);
    assert!(script.contains("delete element ip gantry service-ips { 10.43.0.20 . tcp . 80 }"));
    assert!(script.contains(
        "add element ip gantry no-endpoint-services { 10.43.0.20 . tcp . 80 : goto reject-chain }"
    ));
    // The element naming the service chain goes before the chain does.
    let element = script.find("delete element").unwrap();
    assert!(element < script.find("delete chain ip gantry svc-").unwrap());
}

#[test]
fn a_resync_rewrites_everything_and_removes_what_is_stale() {
    let wanted = Ruleset::render(&[web(vec![endpoint(5, true)])], &config());
    let listing = Listing {
        chains: ["services".to_owned(), "svc-default/gone/tcp/80".to_owned()].into(),
        sets: ["aff60-default/gone/tcp/80/10.42.0.9/80".to_owned()].into(),
        maps: ["service-ips".to_owned()].into(),
    };
    let script = transaction("gantry", Before::Listed(&listing), &wanted);
    assert!(script.contains("flush chain ip gantry services\n"));
    assert!(!script.contains("add chain ip gantry services\n"));
    assert!(script.contains("add chain ip gantry svc-default/web/tcp/80\n"));
    assert!(script.contains("flush map ip gantry service-ips\n"));
    assert!(script.contains("add map ip gantry service-nodeports"));
    assert!(script.ends_with(
        "delete chain ip gantry svc-default/gone/tcp/80\ndelete set ip gantry aff60-default/gone/tcp/80/10.42.0.9/80\n"
    ));
}

#[test]
fn listings_name_every_chain_set_and_map() {
    let listing = serde_json::json!({"nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"table": {"family": "ip", "name": "gantry"}},
        {"chain": {"family": "ip", "table": "gantry", "name": "services"}},
        {"set": {"family": "ip", "table": "gantry", "name": "aff60-x"}},
        {"map": {"family": "ip", "table": "gantry", "name": "service-ips"}},
        {"rule": {"family": "ip", "table": "gantry", "chain": "services"}},
    ]});
    let names = kernel::parse_listing(&listing);
    assert_eq!(names.chains, ["services".to_owned()].into());
    assert_eq!(names.sets, ["aff60-x".to_owned()].into());
    assert_eq!(names.maps, ["service-ips".to_owned()].into());
}

/// Applies real transactions to a table of its own, with documentation addresses that nothing
/// on the machine uses, when nftables can be programmed (root); says so and passes otherwise,
/// since CI runs it as root.
#[tokio::test]
async fn the_kernel_accepts_every_transaction() {
    let table = format!("gantry-test-{}", std::process::id());
    if kernel::list("no-such-table-probe").await.is_err()
        || kernel::remove_table(&table).await.is_err()
    {
        eprintln!("nftables cannot be programmed here; skipping the kernel check");
        return;
    }
    let mut port = web(vec![endpoint(5, true), endpoint(6, false)]);
    port.cluster_ips = vec![Ipv4Addr::new(192, 0, 2, 20)];
    port.node_port = Some(31999);
    port.external_ips = vec![Ipv4Addr::new(192, 0, 2, 21)];
    port.affinity_seconds = Some(30);
    let first = Ruleset::render(std::slice::from_ref(&port), &config());
    let listing = kernel::list(&table).await.unwrap();
    kernel::apply(&transaction(&table, Before::Listed(&listing), &first))
        .await
        .unwrap();
    let listed = kernel::list(&table).await.unwrap();
    assert_eq!(listed.chains, first.chains.keys().cloned().collect());
    assert_eq!(listed.sets, first.sets.keys().cloned().collect());

    // An incremental change, then a resync from the kernel's own listing.
    port.endpoints = vec![endpoint(6, false)];
    port.external_local = true;
    let second = Ruleset::render(std::slice::from_ref(&port), &config());
    kernel::apply(&transaction(&table, Before::Applied(&first), &second))
        .await
        .unwrap();
    let listed = kernel::list(&table).await.unwrap();
    assert_eq!(listed.chains, second.chains.keys().cloned().collect());
    assert_eq!(listed.sets, second.sets.keys().cloned().collect());
    kernel::apply(&transaction(&table, Before::Listed(&listed), &second))
        .await
        .unwrap();
    kernel::remove_table(&table).await.unwrap();
    assert_eq!(kernel::list(&table).await.unwrap(), Listing::default());
}
