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
use common::http::{get_from_host, get_in_pod};
use common::kubectl::Kubectl;
use common::netns::NetNs;
use common::poll_for;
use std::collections::BTreeSet;
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
kind: Service
metadata: {name: other}
spec:
  selector: {app: web}
  ports: [{port: 81, targetPort: 8080}]
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
    let machine = NetNs::create(20);
    let server = Server::start_on(
        &dir.path().join("server"),
        "0.0.0.0:0",
        &[
            "--disable-agent",
            "--cluster-cidr",
            CLUSTER_CIDR,
            "--tls-san",
            &machine.host_ip,
        ],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let token = server.token();
    let spec = NodeSpec {
        name: "svc-node",
        bridge: "gtsvc",
        pod_cidr: None,
        cluster_cidr: Some(CLUSTER_CIDR),
        extra_args: &[],
        netns: Some(&machine),
    };
    let server_url = server.url_at(&machine.host_ip);
    let mut agent = Agent::start(&server_url, &token, &dir.path().join("node"), &spec);
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
    let answers = get_in_pod(&k, "client", &url, "/", 45);
    let seen: BTreeSet<String> = answers.iter().cloned().collect();
    assert_eq!(
        seen,
        pods,
        "answers through the cluster IP: {answers:?}\n{}",
        diagnose(&machine)
    );

    // A node port answers on the node's own address, from outside the node.
    let outside: BTreeSet<String> = (0..15)
        .map(|_| get_from_host(&format!("{}:{node_port}", machine.ip)))
        .collect();
    assert!(
        !outside.is_empty() && outside.is_subset(&pods),
        "answers through the node port: {outside:?}"
    );

    // A pod started after the Service sees it in its environment (docker links' variables),
    // and the API server's own Service too.
    let env_pod = "apiVersion: v1
kind: Pod
metadata: {name: envcheck}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, \"env | sort; trap 'exit 0' TERM; while true; do sleep 1; done\"]
";
    let env_file = dir.path().join("env.yaml");
    std::fs::write(&env_file, env_pod).unwrap();
    k.ok(&["apply", "-f", env_file.to_str().unwrap()]);
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/envcheck",
        "--timeout=60s",
    ]);
    let env = k.ok(&["logs", "envcheck"]);
    for line in [
        format!("WEB_SERVICE_HOST={cluster_ip}"),
        "WEB_SERVICE_PORT=80".to_owned(),
        format!("WEB_PORT=tcp://{cluster_ip}:80"),
        format!("WEB_PORT_80_TCP_ADDR={cluster_ip}"),
        "KUBERNETES_SERVICE_PORT_HTTPS=443".to_owned(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }

    // type: LoadBalancer: the built-in load balancer gives it the node's address, where the
    // service port answers from outside.
    k.ok(&[
        "patch",
        "service",
        "web",
        "-p",
        r#"{"spec":{"type":"LoadBalancer"}}"#,
    ]);
    let ingress = poll_for(Duration::from_secs(30), || {
        k.jsonpath(&["service", "web"], "{.status.loadBalancer.ingress[*].ip}")
    });
    assert_eq!(
        ingress, machine.ip,
        "the load balancer's address is the node's"
    );
    let balanced = poll_for(Duration::from_secs(20), || {
        let answer = get_from_host(&format!("{}:80", machine.ip));
        if pods.contains(&answer) {
            answer
        } else {
            String::new()
        }
    });
    assert!(
        !balanced.is_empty(),
        "the load balancer's address never answered on port 80"
    );
    let shown = k.ok(&["get", "service", "web"]);
    assert!(shown.contains(&machine.ip), "EXTERNAL-IP column: {shown}");

    // ClientIP affinity pins the client to one endpoint.
    k.ok(&[
        "patch",
        "service",
        "web",
        "-p",
        r#"{"spec":{"sessionAffinity":"ClientIP"}}"#,
    ]);
    let pinned = poll_for(Duration::from_secs(20), || {
        let answers: BTreeSet<String> = get_in_pod(&k, "client", &url, "/", 12)
            .into_iter()
            .collect();
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
    // (While the pods terminate, the slices may still name some as serving; once no pod is
    // left, every request is refused.)
    k.ok(&["scale", "deployment", "web", "--replicas=0"]);
    let gone = poll_for(Duration::from_secs(60), || {
        let left = k.ok(&["get", "pods", "-l", "app=web", "-o", "name"]);
        if left.trim().is_empty() {
            "gone".into()
        } else {
            String::new()
        }
    });
    assert!(!gone.is_empty(), "the web pods never went");
    let refused = poll_for(Duration::from_secs(30), || {
        let answers = get_in_pod(&k, "client", &url, "/", 3);
        if answers.iter().all(|a| a.contains("Connection refused")) {
            answers.join("\n")
        } else {
            String::new()
        }
    });
    assert!(
        !refused.is_empty(),
        "with no endpoints requests were never refused at once: {:?}",
        get_in_pod(&k, "client", &url, "/", 3)
    );

    // Endpoints back: answers again.
    k.ok(&["scale", "deployment", "web", "--replicas=3"]);
    let back = poll_for(Duration::from_secs(120), || {
        let answers = get_in_pod(&k, "client", &url, "/", 1);
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

    // The node's rules exist while it runs.
    let table = || {
        std::process::Command::new("ip")
            .args(["netns", "exec", &machine.name])
            .args(["nft", "list", "table", "ip", "gantry"])
            .output()
            .unwrap()
    };
    let listed = || String::from_utf8_lossy(&table().stdout).into_owned();
    let other_ip = k.jsonpath(&["service", "other"], "{.spec.clusterIP}");
    let web_rule = format!("{cluster_ip} . tcp . 80");
    let other_rule = format!("{other_ip} . tcp . 81");
    assert!(listed().contains(&web_rule), "{}", listed());
    assert!(
        listed().contains(&format!("tcp . {node_port}")),
        "{}",
        listed()
    );
    assert!(listed().contains(&other_rule), "{}", listed());

    // A node that dies keeps its rules (its pods keep serving); one that comes back resyncs,
    // removing what went while it was away.
    agent.kill();
    k.ok(&["delete", "service", "other"]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        listed().contains(&other_rule),
        "rules stay while the proxy is down"
    );
    let served = get_from_host(&format!("{}:{node_port}", machine.ip));
    assert!(
        served.starts_with("web-"),
        "the service answers while its node's agent is down: {served:?}"
    );
    let agent = Agent::start(&server_url, &token, &dir.path().join("node"), &spec);
    let resynced = poll_for(Duration::from_secs(60), || {
        let now = listed();
        if now.contains(&web_rule) && !now.contains(&other_rule) {
            now
        } else {
            String::new()
        }
    });
    assert!(
        !resynced.is_empty(),
        "the restarted proxy never removed the stale Service\n{}",
        listed()
    );

    // Stopped cleanly, the node removes its rules.
    agent.stop();
    assert!(
        !table().status.success(),
        "the proxy's table outlived the node"
    );
}
