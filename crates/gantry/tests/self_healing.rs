//! Self-healing when a node dies, on two real nodes — each `gantry agent` in a network
//! namespace of its own on a shared link, with its own containerd, bridge and pod range — joined to a control
//! plane on the host: a Deployment's pods run on one node; when that node's agent is killed,
//! the node lifecycle controller marks the node `Unknown` and taints it `unreachable`,
//! taint-based eviction removes its pods once their short `tolerationSeconds` pass, and the
//! Deployment's replacements run on the other node. The time from the kill to two running
//! replacements is printed.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use common::netns::Lan;
use common::poll_for;
use std::time::{Duration, Instant};

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: heal}
spec:
  replicas: 2
  selector: {matchLabels: {app: heal}}
  template:
    metadata: {labels: {app: heal}}
    spec:
      terminationGracePeriodSeconds: 1
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - name: c
        image: busybox:1.36
        command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]
";

/// `node=phase` of the Deployment's pods that are not being deleted, sorted.
fn live_pods(k: &Kubectl) -> String {
    let out = k.ok(&[
        "get", "pods", "-l", "app=heal", "-o",
        "jsonpath={range .items[*]}{.spec.nodeName}={.status.phase}={.metadata.deletionTimestamp} {end}",
    ]);
    let mut live: Vec<&str> = out
        .split_whitespace()
        .filter(|p| p.ends_with('='))
        .map(|p| p.trim_end_matches('='))
        .collect();
    live.sort_unstable();
    live.join(" ")
}

/// Waits until `live_pods` reads `want`.
fn wait_live(k: &Kubectl, want: &str, why: &str, agents: &[&Agent]) {
    let seen = poll_for(Duration::from_secs(120), || {
        let p = live_pods(k);
        if p == want { p } else { String::new() }
    });
    assert!(
        !seen.is_empty(),
        "{why}: {}\n{}\n{}",
        live_pods(k),
        k.ok(&["describe", "pods", "-l", "app=heal"]),
        agents
            .iter()
            .map(|a| a.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
}

#[test]
fn pods_of_a_dead_node_are_evicted_and_replaced_on_a_healthy_one() {
    let dir = tempfile::tempdir().unwrap();
    let lan = Lan::create(6);
    let server = Server::start_on(
        &dir.path().join("server"),
        "0.0.0.0:0",
        &[
            "--disable-agent",
            "--node-monitor-grace-period",
            "15s",
            "--tls-san",
            &lan.host_ip,
        ],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let token = server.token();
    let (machine_a, machine_b) = (lan.machine(1), lan.machine(2));
    let healthy = Agent::start(
        &server.url_at(&machine_a.host_ip),
        &token,
        &dir.path().join("a"),
        &NodeSpec {
            name: "e2e-node-16",
            bridge: "gtnode",
            pod_cidr: Some("10.42.118.0/24"),
            cluster_cidr: None,
            extra_args: &[],
            netns: Some(&machine_a),
        },
    );
    let mut doomed = Agent::start(
        &server.url_at(&machine_b.host_ip),
        &token,
        &dir.path().join("b"),
        &NodeSpec {
            name: "e2e-node-17",
            bridge: "gtnode",
            pod_cidr: Some("10.42.119.0/24"),
            cluster_cidr: None,
            extra_args: &[],
            netns: Some(&machine_b),
        },
    );
    let ready = poll_for(Duration::from_secs(60), || {
        let s = k.ok(&["get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}"]);
        if s.trim() == "e2e-node-16=True e2e-node-17=True" {
            s
        } else {
            String::new()
        }
    });
    assert!(
        !ready.is_empty(),
        "the nodes never became ready\n{}\n---\n{}",
        healthy.log(),
        doomed.log()
    );
    assert_eq!(
        k.ok(&[
            "get",
            "node",
            "e2e-node-17",
            "-o",
            "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}"
        ]),
        machine_b.ip,
        "each node has its machine's address"
    );

    // The pods go to the doomed node while the healthy one is cordoned.
    k.ok(&["cordon", "e2e-node-16"]);
    let file = dir.path().join("heal.yaml");
    std::fs::write(&file, DEPLOYMENT).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    wait_live(
        &k,
        "e2e-node-17=Running e2e-node-17=Running",
        "the pods never ran on e2e-node-17",
        &[&doomed],
    );
    let ips = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=heal",
        "-o",
        "jsonpath={.items[*].status.podIP}",
    ]);
    assert!(
        ips.split_whitespace()
            .all(|ip| ip.starts_with("10.42.119.")),
        "{ips}"
    );
    k.ok(&["uncordon", "e2e-node-16"]);

    // The node dies: its agent is killed (its containers keep running, unseen).
    doomed.kill();
    let killed = Instant::now();
    let unknown = poll_for(Duration::from_secs(60), || {
        let s = k.ok(&["get", "node", "e2e-node-17", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}/{.status.conditions[?(@.type==\"Ready\")].reason}|{.spec.taints[*].key}"]);
        if s.starts_with("Unknown/NodeStatusUnknown|")
            && s.contains("node.kubernetes.io/unreachable")
        {
            s
        } else {
            String::new()
        }
    });
    assert!(
        !unknown.is_empty(),
        "the dead node was never marked Unknown and tainted"
    );
    wait_live(
        &k,
        "e2e-node-16=Running e2e-node-16=Running",
        "the replacements never ran on e2e-node-16",
        &[&healthy],
    );
    println!(
        "time to heal: {:.1} s (node-monitor-grace-period 15 s, the kubelet renews its Lease every 10 s, tolerationSeconds 2 s)",
        killed.elapsed().as_secs_f64()
    );
    let evicted = k.ok(&["get", "pods", "-l", "app=heal", "-o", "jsonpath={range .items[?(@.spec.nodeName==\"e2e-node-17\")]}{.status.conditions[?(@.type==\"DisruptionTarget\")].reason} {end}"]);
    assert!(
        evicted.contains("DeletionByTaintManager"),
        "{evicted:?}\n{}",
        k.ok(&["get", "pods", "-l", "app=heal", "-o", "yaml"])
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=TaintManagerEviction",
    ]);
    assert!(
        events.contains("Marking for deletion Pod default/heal-"),
        "{events}"
    );
    k.ok(&["delete", "deployment", "heal"]);
    healthy.stop();
    server.stop();
}
