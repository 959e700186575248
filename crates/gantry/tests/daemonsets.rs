//! DaemonSets end to end: one pod per node on a real node, a node added later gets its own
//! (the later node is an object only, so its pod stays Pending there), a node made ineligible
//! loses it, and a template change rolls node by node.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::node::start_node;
use common::poll;

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector: {role: worker}
      containers:
      - name: c
        image: busybox:1.36
        command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]
";

/// `node=pod-phase` for every pod of the DaemonSet, sorted.
fn placements(k: &Kubectl) -> Vec<String> {
    let out = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={range .items[*]}{.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]}={.status.phase}{\" \"}{end}",
    ]);
    let mut list: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    list.sort();
    list
}

fn wait_placements(k: &Kubectl, want: &[&str]) {
    let got = poll(|| {
        let now = placements(k);
        if now == want {
            now.join(" ")
        } else {
            String::new()
        }
    });
    assert_eq!(
        got,
        want.join(" "),
        "placements never became {want:?}: {:?}",
        placements(k)
    );
}

/// The `VERSION` of each of the set's pods, as `[v]` each.
fn versions(k: &Kubectl) -> String {
    k.ok(&[
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={range .items[*]}[{.spec.containers[0].env[0].value}]{end}",
    ])
}

#[test]
fn a_daemon_set_runs_one_pod_per_eligible_node_including_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-10", "gte2e10", "10.42.112.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&["label", "node", "e2e-node-10", "role=worker"]);
    let manifest = dir.path().join("ds.yaml");
    std::fs::write(&manifest, DAEMONSET).unwrap();
    k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    wait_placements(&k, &["e2e-node-10=Running"]);
    let done = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    assert!(
        done.contains("daemon set \"agent\" successfully rolled out"),
        "{done}"
    );

    // A node joins (an object only: its pod is created for it and waits there).
    let late = dir.path().join("late.yaml");
    std::fs::write(
        &late,
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: late\n  labels: {role: worker, kubernetes.io/hostname: late}\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", late.to_str().unwrap()]);
    wait_placements(&k, &["e2e-node-10=Running", "late=Pending"]);
    let status = poll(|| {
        let s = k.ok(&["get", "ds", "agent", "-o", "jsonpath={.status.desiredNumberScheduled}/{.status.currentNumberScheduled}/{.status.numberReady}"]);
        if s == "2/2/1" { s } else { String::new() }
    });
    assert_eq!(status, "2/2/1");

    // No longer a worker: its pod goes.
    k.ok(&["label", "node", "late", "role-"]);
    wait_placements(&k, &["e2e-node-10=Running"]);

    // A new template rolls out; the history lists both revisions.
    k.ok(&["set", "env", "daemonset/agent", "VERSION=2"]);
    let done = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=90s"]);
    assert!(done.contains("successfully rolled out"), "{done}");
    // The old pod leaves within its grace period; then only the new one is left.
    let env = poll(|| {
        let env = versions(&k);
        if env == "[2]" { env } else { String::new() }
    });
    assert_eq!(env, "[2]", "the running pod is the new template's");
    let history = k.ok(&["rollout", "history", "daemonset/agent"]);
    assert!(
        history.lines().any(|l| l.starts_with('1')) && history.lines().any(|l| l.starts_with('2')),
        "{history}"
    );

    // With a surge the new pod starts beside the old one, which goes once it is replaced: the
    // node never lacks a running daemon.
    k.ok(&[
        "patch",
        "daemonset",
        "agent",
        "--type=merge",
        "-p",
        r#"{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}"#,
    ]);
    let old = k.jsonpath(&["pods", "-l", "app=agent"], "{.items[0].metadata.name}");
    k.ok(&["set", "env", "daemonset/agent", "VERSION=3"]);
    let both = poll(|| {
        let env = versions(&k);
        if env.contains("[2]") && env.contains("[3]") {
            env
        } else {
            String::new()
        }
    });
    assert!(!both.is_empty(), "the new pod never ran beside the old one");
    let done = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=90s"]);
    assert!(done.contains("successfully rolled out"), "{done}");
    // The old pod's deletion follows its replacement's availability (which ends the rollout).
    let events = poll(|| {
        let events = k.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.kind=DaemonSet",
            "--sort-by=.lastTimestamp",
        ]);
        if events.contains(&format!("Deleted pod: {old}")) {
            events
        } else {
            String::new()
        }
    });
    let created = events.rfind("Created pod: agent-").unwrap();
    let deleted = events
        .find(&format!("Deleted pod: {old}"))
        .unwrap_or_else(|| panic!("{old} was never deleted: {}", k.ok(&["get", "events"])));
    assert!(
        created < deleted,
        "the old pod went before its replacement came: {events}"
    );
    server.stop();
}
