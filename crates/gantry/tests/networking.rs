//! The pod network across nodes, on three real nodes — each `gantry agent` in a network
//! namespace of its own on one shared link, with its own containerd, bridge, routes and
//! nftables — joined to a control plane on the host: every node gets a slice of the cluster
//! range, a pod reaches a pod on another node by its pod IP (keeping its own address), a
//! Service spreads over endpoints on every node, and `externalTrafficPolicy: Local` answers a
//! node port only with that node's endpoints.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::agent::{Agent, NodeSpec};
use common::http::{get_from_host, get_in_pod};
use common::kubectl::Kubectl;
use common::netns::{Lan, NetNs};
use common::poll_for;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const CLUSTER_CIDR: &str = "10.42.124.0/22";
const NODES: [&str; 3] = ["net-a", "net-b", "net-c"];

/// A pod on `node` that serves `GET /` with its name, and `/ip` with the address its client
/// came from (busybox httpd's CGI sees `REMOTE_ADDR`).
fn server_pod(name: &str, node: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {labels}}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:1.36
    command: [sh, -c, \"mkdir -p /www/cgi-bin && hostname > /www/index.html && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho $REMOTE_ADDR\\\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www\"]
    readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
"
    )
}

/// A pod on `node` that only waits, to run clients in.
fn client_pod(name: &str, node: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]
"
    )
}

const SERVICES: &str = "apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
";

fn logs(agents: &[Agent]) -> String {
    agents
        .iter()
        .map(Agent::log)
        .collect::<Vec<_>>()
        .join("\n---\n")
}

#[test]
fn pods_reach_pods_and_services_across_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let lan = Lan::create(5);
    let server = Server::start_on(
        &dir.path().join("server"),
        "0.0.0.0:0",
        &[
            "--disable-agent",
            "--cluster-cidr",
            CLUSTER_CIDR,
            "--tls-san",
            &lan.host_ip,
        ],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let (url, token) = (server.url_at(&lan.host_ip), server.token());
    let machines: Vec<NetNs> = (1..=3).map(|n| lan.machine(n)).collect();
    let agents: Vec<Agent> = machines
        .iter()
        .zip(NODES)
        .map(|(machine, name)| {
            Agent::start(
                &url,
                &token,
                &dir.path().join(name),
                &NodeSpec {
                    name,
                    bridge: "gtpods",
                    pod_cidr: None,
                    cluster_cidr: Some(CLUSTER_CIDR),
                    extra_args: &[],
                    netns: Some(machine),
                },
            )
        })
        .collect();
    let ready = poll_for(Duration::from_secs(90), || {
        let s = k.ok(&[
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status} {end}",
        ]);
        if s.split_whitespace().filter(|r| *r == "True").count() == 3 {
            s
        } else {
            String::new()
        }
    });
    assert!(
        !ready.is_empty(),
        "the nodes never became ready\n{}",
        logs(&agents)
    );
    let ranges: BTreeSet<String> = NODES
        .iter()
        .map(|n| k.jsonpath(&["node", n], "{.spec.podCIDR}"))
        .collect();
    assert_eq!(ranges.len(), 3, "each node has its own slice: {ranges:?}");
    assert!(
        ranges
            .iter()
            .all(|r| r.starts_with("10.42.12") && r.ends_with(".0/24"))
    );

    // One web pod per node, clients on the first and last.
    let mut manifest = String::new();
    for (i, node) in NODES.iter().enumerate() {
        manifest.push_str(&server_pod(&format!("web-{i}"), node, "{app: web}"));
        manifest.push_str("---\n");
    }
    manifest.push_str(&client_pod("client-a", NODES[0]));
    manifest.push_str("---\n");
    manifest.push_str(&client_pod("client-c", NODES[2]));
    manifest.push_str("---\n");
    manifest.push_str(SERVICES);
    let file = dir.path().join("net.yaml");
    std::fs::write(&file, manifest).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let waited = k.run(&[
        "wait",
        "--for=condition=Ready",
        "pods",
        "--all",
        "--timeout=180s",
    ]);
    assert!(
        waited.status.success(),
        "the pods never became ready\n{}\n{}",
        k.ok(&["describe", "pods"]),
        logs(&agents)
    );
    let pod_ip = |pod: &str| k.jsonpath(&["pod", pod], "{.status.podIP}");

    // Pod to pod across nodes, by pod IP, with the client's own address kept.
    let remote = format!("{} 8080", pod_ip("web-2"));
    assert_eq!(
        get_in_pod(&k, "client-a", &remote, "/", 1),
        ["web-2"],
        "a → c by pod IP"
    );
    // busybox httpd shows IPv4 peers as `[::ffff:a.b.c.d]`.
    let peer: Vec<String> = get_in_pod(&k, "client-a", &remote, "/cgi-bin/ip", 1)
        .iter()
        .map(|a| {
            a.trim_start_matches("[::ffff:")
                .trim_end_matches(']')
                .to_owned()
        })
        .collect();
    assert_eq!(
        peer,
        [pod_ip("client-a")],
        "the server sees the client pod's own address, not its node's"
    );
    let back = format!("{} 8080", pod_ip("web-0"));
    assert_eq!(
        get_in_pod(&k, "client-c", &back, "/", 1),
        ["web-0"],
        "c → a by pod IP"
    );

    // A Service spreads over the endpoints of every node, reached by its name (the cluster
    // DNS, through the pod's resolver) as by its short name (the search path).
    let all: BTreeSet<String> = ["web-0", "web-1", "web-2"].map(String::from).into();
    let answers = get_in_pod(&k, "client-a", "web.default.svc.cluster.local 80", "/", 45);
    let seen: BTreeSet<String> = answers.iter().cloned().collect();
    assert_eq!(
        seen, all,
        "answers through web.default.svc.cluster.local: {answers:?}"
    );
    let answers = get_in_pod(&k, "client-a", "web 80", "/", 15);
    assert!(
        answers.iter().all(|a| all.contains(a)),
        "answers through web: {answers:?}"
    );

    // A node port answers on every node's address, from any node's endpoints.
    let node_port = k.jsonpath(&["service", "web"], "{.spec.ports[0].nodePort}");
    for machine in &machines {
        let answers: BTreeSet<String> = (0..6)
            .map(|_| get_from_host(&format!("{}:{node_port}", machine.ip)))
            .collect();
        assert!(
            answers.is_subset(&all) && !answers.is_empty(),
            "node port on {}: {answers:?}",
            machine.ip
        );
    }

    // externalTrafficPolicy: Local answers a node port with that node's endpoint only.
    let node_port = k.jsonpath(&["service", "web-local"], "{.spec.ports[0].nodePort}");
    let by_node: BTreeMap<&str, BTreeSet<String>> = machines
        .iter()
        .zip(NODES)
        .map(|(machine, node)| {
            let answers = (0..8)
                .map(|_| get_from_host(&format!("{}:{node_port}", machine.ip)))
                .collect();
            (node, answers)
        })
        .collect();
    for (i, node) in NODES.iter().enumerate() {
        let want: BTreeSet<String> = [format!("web-{i}")].into();
        assert_eq!(
            by_node[node], want,
            "node port answers on {node}: {by_node:?}"
        );
    }

    // A node whose link is cut is unreachable; its pods answer again when it returns.
    machines[2].set_link(false);
    let cut = get_in_pod(&k, "client-a", &remote, "/", 1);
    assert!(
        cut.iter().all(|line| line != "web-2"),
        "web-2 answered through a cut link: {cut:?}"
    );
    machines[2].set_link(true);
    let healed = poll_for(Duration::from_secs(30), || {
        let answers = get_in_pod(&k, "client-a", &remote, "/", 1);
        if answers == ["web-2"] {
            "yes".into()
        } else {
            String::new()
        }
    });
    assert!(
        !healed.is_empty(),
        "web-2 never answered again after the link came back"
    );
}
