//! Self-healing when a node dies: a second node (an object whose heartbeat — its Lease — this
//! test renews, as a hollow kubelet would) runs a Deployment's pods; when its heartbeat stops,
//! the node lifecycle controller marks it `Unknown` and taints it `unreachable`, taint-based
//! eviction removes the pods once their short `tolerationSeconds` pass, and the Deployment's
//! replacements run on the real node. The time from the last heartbeat to two running
//! replacements is printed.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::node::start_node_with;
use common::poll_for;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const GHOST: &str = "apiVersion: v1
kind: Node
metadata:
  name: ghost
  labels: {kubernetes.io/hostname: ghost}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: ghost, namespace: kube-node-lease}
spec: {holderIdentity: ghost, leaseDurationSeconds: 40}
";

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

#[test]
fn pods_of_a_silent_node_are_evicted_and_replaced_on_a_healthy_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node_with(
        dir.path(),
        "e2e-node-14",
        "gte2e14",
        "10.42.116.0/24",
        &["--node-monitor-grace-period", "15s"],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("ghost.yaml");
    std::fs::write(&file, GHOST).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let room = r#"{"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"}}}"#;
    k.ok(&[
        "patch",
        "node",
        "ghost",
        "--subresource=status",
        "--type=merge",
        "-p",
        room,
    ]);

    // The ghost's heartbeat: its Lease renewed and its Ready condition posted every 500 ms.
    let beating = Arc::new(AtomicBool::new(true));
    let heart = {
        let beating = Arc::clone(&beating);
        let k = Kubectl::new(33, &server.kubeconfig);
        std::thread::spawn(move || {
            while beating.load(Ordering::Relaxed) {
                let now = k8s_openapi::jiff::Timestamp::now();
                let micro = now.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string();
                let second = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                let _ = k.run(&[
                    "-n",
                    "kube-node-lease",
                    "patch",
                    "lease",
                    "ghost",
                    "--type=merge",
                    "-p",
                    &format!(r#"{{"spec":{{"renewTime":"{micro}"}}}}"#),
                ]);
                let _ = k.run(&["patch", "node", "ghost", "--subresource=status", "--type=merge", "-p",
                    &format!(r#"{{"status":{{"conditions":[{{"type":"Ready","status":"True","reason":"KubeletReady","message":"hollow","lastHeartbeatTime":"{second}","lastTransitionTime":"{second}"}}]}}}}"#)]);
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };

    // The pods go to the ghost while the real node is cordoned.
    k.ok(&["cordon", "e2e-node-14"]);
    let file = dir.path().join("heal.yaml");
    std::fs::write(&file, DEPLOYMENT).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let placed = poll_for(Duration::from_secs(60), || {
        let p = live_pods(&k);
        if p == "ghost=Pending ghost=Pending" {
            p
        } else {
            String::new()
        }
    });
    assert!(
        !placed.is_empty(),
        "the pods never landed on the ghost: {}",
        live_pods(&k)
    );
    k.ok(&["uncordon", "e2e-node-14"]);

    // The heart stops.
    beating.store(false, Ordering::Relaxed);
    heart.join().unwrap();
    let stopped = Instant::now();
    let unknown = poll_for(Duration::from_secs(60), || {
        let s = k.ok(&["get", "node", "ghost", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}/{.status.conditions[?(@.type==\"Ready\")].reason}|{.spec.taints[*].key}"]);
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
        "the ghost was never marked Unknown and tainted"
    );
    let healed = poll_for(Duration::from_secs(120), || {
        let p = live_pods(&k);
        if p == "e2e-node-14=Running e2e-node-14=Running" {
            p
        } else {
            String::new()
        }
    });
    assert!(
        !healed.is_empty(),
        "the replacements never ran: {}\n{}\n{}",
        live_pods(&k),
        k.ok(&["describe", "pods", "-l", "app=heal"]),
        k.ok(&["describe", "node", "e2e-node-14"])
    );
    println!(
        "time to heal: {:.1} s (node-monitor-grace-period 15 s (the kubelet renews its Lease every 10 s), tolerationSeconds 2 s)",
        stopped.elapsed().as_secs_f64()
    );
    let evicted = k.ok(&["get", "pods", "-l", "app=heal", "-o", "jsonpath={range .items[?(@.spec.nodeName==\"ghost\")]}{.status.conditions[?(@.type==\"DisruptionTarget\")].reason} {end}"]);
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
    server.stop();
}
