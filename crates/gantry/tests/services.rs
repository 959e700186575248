//! Services through the node's proxy, on a real node — `gantry agent` in a network namespace
//! of its own, with its own containerd, bridge and nftables — joined to a control plane on the
//! host: a cluster IP spreads over every ready endpoint, a node port answers on the node's
//! address, `sessionAffinity: ClientIP` pins a client, a Service scaled to nothing refuses at
//! once and works again when its pods return, and stopping the node removes its rules.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use common::netns::NetNs;
use common::poll_for;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::Duration;

const CLUSTER_CIDR: &str = "10.42.120.0/23";

const WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:1.36
        command: [sh, -c, \"mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www\"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]
";

/// What `count` HTTP requests from the client pod to `address` (`ip port`) answered, one line
/// each: the body (a pod name) or nc's error. (busybox's wget crashes on a refused
/// connection, so nc speaks HTTP here.)
fn fetch_from_client(k: &Kubectl, address: &str, count: u32) -> Vec<String> {
    let script = format!(
        "for i in $(seq {count}); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} 2>&1 | tail -n 1; done"
    );
    let out = k.run(&["exec", "client", "--", "sh", "-c", &script]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// One HTTP request from the host to `address`: the body, or the error.
fn fetch_from_host(address: &str) -> String {
    let attempt = || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(
            &address.parse().unwrap(),
            Duration::from_secs(3),
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_owned())
    };
    attempt().unwrap_or_else(|e| format!("error: {e}"))
}

/// The node's rules and the sysctls they need, for a failure's report.
fn diagnose(machine: &NetNs) -> String {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &machine.name])
            .args(args)
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    [
        run(&["nft", "list", "ruleset"]),
        run(&[
            "sysctl",
            "net.ipv4.ip_forward",
            "net.bridge.bridge-nf-call-iptables",
        ]),
        run(&["ip", "addr"]),
    ]
    .join("\n")
}

fn pod_names(k: &Kubectl) -> BTreeSet<String> {
    k.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ])
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

#[test]
fn a_service_spreads_pins_refuses_and_recovers_through_the_nodes_proxy() {
    let dir = tempfile::tempdir().unwrap();
    // The node's pod range comes from the controller manager: one slice of a small cluster
    // range no other test uses.
    let server = Server::start_on(
        &dir.path().join("server"),
        "0.0.0.0:0",
        &["--disable-agent", "--cluster-cidr", CLUSTER_CIDR],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let port = std::fs::read_to_string(&server.kubeconfig)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .and_then(|url| url.rsplit(':').next())
        .unwrap()
        .to_owned();
    let machine = NetNs::create(20);
    let agent = Agent::start(
        &format!("http://{}:{port}", machine.host_ip),
        &dir.path().join("node"),
        &NodeSpec {
            name: "svc-node",
            bridge: "gtsvc",
            pod_cidr: None,
            cluster_cidr: Some(CLUSTER_CIDR),
            extra_args: &[],
            netns: Some(&machine),
        },
    );
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, WEB).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let rolled = k.run(&["rollout", "status", "deployment/web", "--timeout=180s"]);
    assert!(
        rolled.status.success(),
        "the web pods never became ready\n{}\n{}",
        k.ok(&["describe", "pods"]),
        agent.log()
    );
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/client",
        "--timeout=120s",
    ]);
    let pods = pod_names(&k);
    assert_eq!(pods.len(), 3, "{pods:?}");
    assert_eq!(
        k.jsonpath(&["node", "svc-node"], "{.spec.podCIDR}"),
        "10.42.120.0/24",
        "the node's range is the first slice of the cluster's"
    );
    let ips = k.jsonpath(&["pods", "-l", "app=web"], "{.items[*].status.podIP}");
    assert!(
        ips.split_whitespace()
            .all(|ip| ip.starts_with("10.42.120.")),
        "pods take addresses from the node's range: {ips}"
    );
    let cluster_ip = k.jsonpath(&["service", "web"], "{.spec.clusterIP}");
    let node_port = k.jsonpath(&["service", "web"], "{.spec.ports[0].nodePort}");
    let url = format!("{cluster_ip} 80");

    // Spread: over many requests, every endpoint answers, and only endpoints do.
    let answers = fetch_from_client(&k, &url, 45);
    let seen: BTreeSet<String> = answers.iter().cloned().collect();
    assert_eq!(
        seen,
        pods,
        "answers through the cluster IP: {answers:?}\n{}",
        diagnose(&machine)
    );

    // A node port answers on the node's own address, from outside the node.
    let outside: BTreeSet<String> = (0..15)
        .map(|_| fetch_from_host(&format!("{}:{node_port}", machine.ip)))
        .collect();
    assert!(
        !outside.is_empty() && outside.is_subset(&pods),
        "answers through the node port: {outside:?}"
    );

    // ClientIP affinity pins the client to one endpoint.
    k.ok(&[
        "patch",
        "service",
        "web",
        "-p",
        r#"{"spec":{"sessionAffinity":"ClientIP"}}"#,
    ]);
    let pinned = poll_for(Duration::from_secs(20), || {
        let answers: BTreeSet<String> = fetch_from_client(&k, &url, 12).into_iter().collect();
        match answers.iter().next() {
            Some(one) if answers.len() == 1 && pods.contains(one) => one.clone(),
            _ => String::new(),
        }
    });
    assert!(
        !pinned.is_empty(),
        "the client was never pinned to one endpoint"
    );
    k.ok(&[
        "patch",
        "service",
        "web",
        "-p",
        r#"{"spec":{"sessionAffinity":"None"}}"#,
    ]);

    // No endpoints: refused at once, not left to time out on rules for pods that are gone.
    k.ok(&["scale", "deployment", "web", "--replicas=0"]);
    let refused = poll_for(Duration::from_secs(60), || {
        let answers = fetch_from_client(&k, &url, 1);
        let refused = answers.iter().any(|a| a.contains("Connection refused"));
        if refused {
            answers.join("")
        } else {
            String::new()
        }
    });
    assert!(
        !refused.is_empty(),
        "requests were never refused without endpoints"
    );
    let again = fetch_from_client(&k, &url, 3);
    assert!(
        again.iter().all(|a| a.contains("Connection refused")),
        "with no endpoints every request is refused: {again:?}"
    );

    // Endpoints back: answers again.
    k.ok(&["scale", "deployment", "web", "--replicas=3"]);
    let back = poll_for(Duration::from_secs(120), || {
        let answers = fetch_from_client(&k, &url, 1);
        let names = pod_names(&k);
        match answers.first() {
            Some(a) if names.contains(a) => a.clone(),
            _ => String::new(),
        }
    });
    assert!(
        !back.is_empty(),
        "the service never answered again after scaling up"
    );

    // The node's rules exist while it runs and are removed when it stops.
    let table = || {
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &machine.name,
                "nft",
                "list",
                "table",
                "ip",
                "gantry",
            ])
            .output()
            .unwrap()
    };
    let listed = String::from_utf8_lossy(&table().stdout).into_owned();
    assert!(
        listed.contains(&format!("{cluster_ip} . tcp . 80")),
        "{listed}"
    );
    assert!(listed.contains(&format!("tcp . {node_port}")), "{listed}");
    agent.stop();
    assert!(
        !table().status.success(),
        "the proxy's table outlived the node"
    );
}
