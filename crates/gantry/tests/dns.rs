//! Cluster DNS on two real nodes — each `gantry agent` in a network namespace of its own on one
//! shared link — joined to a control plane on the host: a pod on one node reaches a Service
//! whose pods run on the other by its full name and by its short name (the search path the
//! kubelet writes), a headless Service resolves to its pods and a StatefulSet's pods by their
//! own names, SRV records name ports, an ExternalName Service is an alias, and names outside the
//! cluster are forwarded to the node's resolver (here a tiny one the test runs on the host).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use common::netns::{Lan, NetNs};
use common::poll_for;
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use std::time::Duration;

const CLUSTER_CIDR: &str = "10.42.128.0/23";

const MANIFEST: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kubernetes.io/hostname: dns-b}
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:1.36
        command: [sh, -c, \"mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www\"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      nodeSelector: {kubernetes.io/hostname: dns-b}
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:1.36
        command: [sh, -c, \"mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www\"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: example.test
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeSelector: {kubernetes.io/hostname: dns-a}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]
";

/// A resolver on the host for names outside the cluster: every A question is answered with
/// 192.0.2.55, the address `example.test` has in this test.
fn upstream_resolver(address: &str) {
    let socket = std::net::UdpSocket::bind(address).unwrap();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 4096];
        while let Ok((length, peer)) = socket.recv_from(&mut buffer) {
            let Ok(request) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
            reply.metadata.recursion_available = true;
            reply.queries = request.queries.clone();
            if let Some(query) = request.queries.first()
                && query.query_type() == RecordType::A
            {
                let rdata = RData::A(A::new(192, 0, 2, 55));
                reply.add_answer(Record::from_rdata(query.name().clone(), 60, rdata));
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer);
        }
    });
}

fn exec(k: &Kubectl, script: &str) -> String {
    let out = k.run(&["exec", "client", "--", "sh", "-c", script]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The addresses `nslookup` printed for `name` (busybox's format: `Address: a.b.c.d` after the
/// `Name:` line).
fn lookup(k: &Kubectl, args: &str) -> (Vec<String>, String) {
    let out = exec(k, &format!("nslookup {args}"));
    let mut after_name = false;
    let mut addresses = Vec::new();
    for line in out.lines() {
        if line.starts_with("Name:") {
            after_name = true;
        } else if after_name && let Some(address) = line.strip_prefix("Address:") {
            addresses.push(address.trim().to_owned());
        }
    }
    addresses.sort();
    (addresses, out)
}

#[test]
fn pods_find_services_pods_and_the_outside_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let lan = Lan::create(7);
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
    upstream_resolver(&format!("{}:53", lan.host_ip));
    let resolv_conf = dir.path().join("resolv.conf");
    std::fs::write(&resolv_conf, format!("nameserver {}\n", lan.host_ip)).unwrap();
    let resolv_conf = resolv_conf.to_str().unwrap().to_owned();
    let machines: Vec<NetNs> = (1..=2).map(|n| lan.machine(n)).collect();
    let agents: Vec<Agent> = machines
        .iter()
        .zip(["dns-a", "dns-b"])
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
                    extra_args: &["--resolv-conf", &resolv_conf],
                    netns: Some(machine),
                },
            )
        })
        .collect();
    let file = dir.path().join("dns.yaml");
    std::fs::write(&file, MANIFEST).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    // Counted before waiting: the StatefulSet makes db-1 only once db-0 is ready, and `wait --all`
    // covers only the pods that exist when it starts.
    let ready = poll_for(Duration::from_secs(180), || {
        let count = k.ok(&["get", "pods", "-o", "name"]).lines().count();
        let out = k.run(&[
            "wait",
            "--for=condition=Ready",
            "pods",
            "--all",
            "--timeout=5s",
        ]);
        if out.status.success() && count == 5 {
            "yes".into()
        } else {
            String::new()
        }
    });
    assert!(
        !ready.is_empty(),
        "the pods never became ready\n{}\n{}",
        k.ok(&["describe", "pods"]),
        agents
            .iter()
            .map(Agent::log)
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    let cluster_ip = k.jsonpath(&["service", "web"], "{.spec.clusterIP}");
    let db_ips = {
        let mut ips: Vec<String> = k
            .jsonpath(&["pods", "-l", "app=db"], "{.items[*].status.podIP}")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        ips.sort();
        ips
    };
    assert_eq!(
        db_ips.len(),
        2,
        "both StatefulSet pods have an IP: {db_ips:?}"
    );

    // The kubelet's resolv.conf: the cluster DNS, the namespace's search path, ndots:5.
    let resolv = exec(&k, "cat /etc/resolv.conf");
    assert!(resolv.contains("nameserver 10.43.0.10"), "{resolv}");
    assert!(
        resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local"),
        "{resolv}"
    );
    assert!(resolv.contains("ndots:5"), "{resolv}");

    // A Service by its full name, answered by the node's DNS through the kube-dns Service.
    let (found, out) = lookup(&k, "web.default.svc.cluster.local");
    assert_eq!(found, [cluster_ip], "{out}");

    // Reached by name through the pod's own resolver: the full name, and the short one through
    // the search path, across nodes. (busybox's wget crashes in this image; nc speaks HTTP.)
    for host in ["web.default.svc.cluster.local", "web"] {
        let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 80 | tail -n 1");
        let body = exec(&k, &script);
        assert!(body.trim().starts_with("web-"), "http://{host}/: {body}");
    }

    // A headless Service is its pods; a StatefulSet's pods have names of their own.
    // (The second ready pod reaches the node's DNS through the EndpointSlice a moment later.)
    poll_for(Duration::from_secs(20), || {
        if lookup(&k, "db.default.svc.cluster.local").0 == db_ips {
            "found".into()
        } else {
            String::new()
        }
    });
    let (found, out) = lookup(&k, "db.default.svc.cluster.local");
    assert_eq!(found, db_ips, "{out}");
    let web0 = k.jsonpath(&["pod", "db-0"], "{.status.podIP}");
    let (found, out) = lookup(&k, "db-0.db.default.svc.cluster.local");
    assert_eq!(found, [web0], "{out}");

    // SRV records for named ports.
    let out = exec(
        &k,
        "nslookup -type=srv _http._tcp.web.default.svc.cluster.local",
    );
    assert!(
        out.contains("80 web.default.svc.cluster.local"),
        "SRV for the service port: {out}"
    );

    // An ExternalName Service is an alias; names outside the cluster are forwarded.
    let out = exec(&k, "nslookup ext.default.svc.cluster.local");
    assert!(out.contains("example.test"), "{out}");
    let (found, out) = lookup(&k, "example.test");
    assert_eq!(found, ["192.0.2.55"], "{out}");
    let (found, out) = lookup(&k, "nope.default.svc.cluster.local");
    assert!(found.is_empty() && out.contains("NXDOMAIN"), "{out}");
}
