//! Deployments end to end on a real node, driven by kubectl 1.33 as a user would: create,
//! scale, a rolling update that never drops below the wanted availability with
//! `maxUnavailable=0`, history, undo, pause and resume, and a rollout that cannot finish
//! stopping at its progress deadline while the old pods keep serving.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::node::start_node;
use common::poll;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

fn rollout_status(k: &Kubectl) -> String {
    k.ok(&["rollout", "status", "deployment/web", "--timeout=120s"])
}

/// The names of the deployment's ReplicaSets with their replica counts, sorted.
fn replica_sets(k: &Kubectl) -> Vec<String> {
    let out = k.jsonpath(
        &["rs", "-l", "app=web"],
        "{range .items[*]}{.metadata.name}={.spec.replicas}{\" \"}{end}",
    );
    let mut sets: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    sets.sort();
    sets
}

#[test]
fn deployments_roll_scale_undo_pause_and_stop_at_their_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-9", "gte2e9", "10.42.111.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);

    k.ok(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1.36",
        "--replicas=2",
        "--",
        "sleep",
        "3600",
    ]);
    let done = rollout_status(&k);
    assert!(
        done.contains("deployment \"web\" successfully rolled out"),
        "{done}"
    );
    let sets = replica_sets(&k);
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert!(
        sets[0].starts_with("web-") && sets[0].ends_with("=2"),
        "{sets:?}"
    );
    let status = k.jsonpath(&["deploy", "web"],
        "{.status.replicas}/{.status.updatedReplicas}/{.status.readyReplicas}/{.status.availableReplicas}",
    );
    assert_eq!(status, "2/2/2/2");
    // A deleted pod is replaced (by the Deployment's ReplicaSet), on the node for real.
    let victim = k.jsonpath(&["pods", "-l", "app=web"], "{.items[0].metadata.name}");
    k.ok(&["delete", "pod", &victim]);
    let replaced = poll(|| {
        let names = k.jsonpath(
            &[
                "pods",
                "-l",
                "app=web",
                "--field-selector=status.phase=Running",
            ],
            "{.items[*].metadata.name}",
        );
        if names.split_whitespace().count() == 2 && !names.contains(&victim) {
            names
        } else {
            String::new()
        }
    });
    assert!(!replaced.is_empty(), "{victim} was never replaced");
    let conditions = k.jsonpath(
        &["deploy", "web"],
        "{range .status.conditions[*]}{.type}={.status}/{.reason};{end}",
    );
    assert!(
        conditions.contains("Available=True/MinimumReplicasAvailable"),
        "{conditions}"
    );
    assert!(
        conditions.contains("Progressing=True/NewReplicaSetAvailable"),
        "{conditions}"
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Deployment",
    ]);
    assert!(events.contains("ScalingReplicaSet"), "{events}");
    assert!(events.contains("Scaled up replica set web-"), "{events}");

    // Scaling up and down.
    k.ok(&["scale", "deployment", "web", "--replicas=3"]);
    rollout_status(&k);
    assert_eq!(
        k.jsonpath(&["deploy", "web"], "{.status.availableReplicas}"),
        "3"
    );
    k.ok(&["scale", "deployment", "web", "--replicas=2"]);
    let two = poll(|| {
        let s = k.jsonpath(
            &["deploy", "web"],
            "{.status.replicas}/{.status.availableReplicas}",
        );
        if s == "2/2" { s } else { String::new() }
    });
    assert_eq!(two, "2/2", "never back to 2");

    // A rolling update with maxUnavailable=0: availability never drops below 2.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"strategy":{"rollingUpdate":{"maxUnavailable":0,"maxSurge":1}}}}"#,
    ]);
    let lowest = Arc::new(AtomicI64::new(i64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (lowest, stop) = (Arc::clone(&lowest), Arc::clone(&stop));
        let k = Kubectl::new(33, &server.kubeconfig);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let available = k.jsonpath(&["deploy", "web"], "{.status.availableReplicas}");
                if let Ok(n) = available.parse::<i64>() {
                    lowest.fetch_min(n, Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    k.ok(&[
        "set",
        "image",
        "deployment/web",
        "busybox=docker.io/library/busybox:1.36",
    ]);
    let done = rollout_status(&k);
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(done.contains("successfully rolled out"), "{done}");
    assert_eq!(
        lowest.load(Ordering::Relaxed),
        2,
        "availability dropped during the rollout"
    );
    let sets = replica_sets(&k);
    assert_eq!(sets.len(), 2, "{sets:?}");
    assert!(
        sets.iter().any(|s| s.ends_with("=0")) && sets.iter().any(|s| s.ends_with("=2")),
        "{sets:?}"
    );

    // History and undo.
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(
        history.contains("REVISION")
            && history.lines().any(|l| l.starts_with('1'))
            && history.lines().any(|l| l.starts_with('2')),
        "{history}"
    );
    k.ok(&["rollout", "undo", "deployment/web"]);
    rollout_status(&k);
    assert_eq!(
        k.jsonpath(
            &["deploy", "web"],
            "{.spec.template.spec.containers[0].image}"
        ),
        "busybox:1.36"
    );
    assert_eq!(
        k.jsonpath(
            &["deploy", "web"],
            "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
        ),
        "3"
    );
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(
        history.lines().any(|l| l.starts_with('3')) && !history.lines().any(|l| l.starts_with('1')),
        "revision 1 came back as 3: {history}"
    );

    // Paused: a template change waits; resumed, it rolls.
    k.ok(&["rollout", "pause", "deployment/web"]);
    k.ok(&[
        "set",
        "image",
        "deployment/web",
        "busybox=docker.io/library/busybox:1.36",
    ]);
    let paused = poll(|| {
        let s = k.jsonpath(&["deploy", "web"],
            "{.status.observedGeneration}={.metadata.generation} {range .status.conditions[?(@.type==\"Progressing\")]}{.reason}{end}",
        );
        let (generations, reason) = s.split_once(' ').unwrap_or_default();
        let (seen, current) = generations.split_once('=').unwrap_or_default();
        if seen == current && reason == "DeploymentPaused" {
            s
        } else {
            String::new()
        }
    });
    assert!(!paused.is_empty(), "the pause was never observed");
    assert_eq!(replica_sets(&k).len(), 2, "no new set while paused");
    k.ok(&["rollout", "resume", "deployment/web"]);
    rollout_status(&k);
    assert_eq!(
        k.jsonpath(
            &["deploy", "web"],
            "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
        ),
        "4"
    );

    // An image that never pulls: the rollout stops at its deadline, the old pods serve on.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"progressDeadlineSeconds":10}}"#,
    ]);
    k.ok(&[
        "set",
        "image",
        "deployment/web",
        "busybox=127.0.0.1:1/missing:1",
    ]);
    let out = k.run(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the rollout cannot succeed");
    assert!(
        err.contains("deployment \"web\" exceeded its progress deadline"),
        "{err}"
    );
    let conditions = k.jsonpath(
        &["deploy", "web"],
        "{range .status.conditions[*]}{.type}={.status}/{.reason};{end}",
    );
    assert!(
        conditions.contains("Progressing=False/ProgressDeadlineExceeded"),
        "{conditions}"
    );
    assert_eq!(
        k.jsonpath(&["deploy", "web"], "{.status.availableReplicas}"),
        "2",
        "the old pods keep serving"
    );
    server.stop();
}

#[test]
fn a_service_gets_endpoint_slices_and_endpoints_from_its_ready_pods() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-13", "gte2e13", "10.42.115.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let manifest = dir.path().join("web.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:1.36
        command: [httpd, -f, -p, '8080']
        ports: [{name: http, containerPort: 8080}]
        # Ready only once httpd listens: the slice's addresses must answer.
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: web, port: 80, targetPort: http}]
",
    )
    .unwrap();
    k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    rollout_status(&k);
    let slice = |k: &Kubectl| {
        k.jsonpath(&["endpointslices", "-l", "kubernetes.io/service-name=web"],
            "{range .items[*]}{.metadata.labels.endpointslice\\.kubernetes\\.io/managed-by}|{.ports[0].name}:{.ports[0].port}|{range .endpoints[*]}{.conditions.ready}@{.nodeName};{end}{end}",
        )
    };
    let two = poll(|| {
        let s = slice(&k);
        if s.ends_with("true@e2e-node-13;true@e2e-node-13;") {
            s
        } else {
            String::new()
        }
    });
    assert_eq!(
        two,
        "endpointslice-controller.k8s.io|web:8080|true@e2e-node-13;true@e2e-node-13;",
        "{}",
        slice(&k)
    );
    let ips = k.jsonpath(&["endpoints", "web"], "{.subsets[0].addresses[*].ip}");
    let pod_ips = k.jsonpath(&["pods", "-l", "app=web"], "{.items[*].status.podIP}");
    let (mut a, mut b): (Vec<&str>, Vec<&str>) = (
        ips.split_whitespace().collect(),
        pod_ips.split_whitespace().collect(),
    );
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "the Endpoints object lists the pods' IPs");
    // The slice's addresses answer.
    let ip = a[0];
    let mut stream = std::net::TcpStream::connect((ip, 8080)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut stream, b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
    assert!(reply.starts_with("HTTP/1."), "{reply}");

    k.ok(&["scale", "deployment", "web", "--replicas=1"]);
    let one = poll(|| {
        let n = k.jsonpath(&["endpoints", "web"], "{.subsets[0].addresses[*].ip}");
        if n.split_whitespace().count() == 1 {
            n
        } else {
            String::new()
        }
    });
    assert!(!one.is_empty(), "the removed pod left the Endpoints");
    server.stop();
}
