//! A node says when it is Ready, and `--stop-pods-on-exit` stops its pods when it stops (k3s'
//! killall), where by default they outlive the node (`tests/node.rs` checks that half).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use std::process::Command;

const NODE: NodeSpec<'static> = NodeSpec {
    name: "exit-node",
    bridge: "gtexit",
    pod_cidr: Some("10.42.140.0/24"),
    cluster_cidr: None,
    extra_args: &["--stop-pods-on-exit"],
    netns: None,
};

/// The processes serving containers for the containerd at `socket` (the shims name it).
fn shims(socket: &std::path::Path) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-f", "--"])
        .arg(format!("-address {}", socket.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_node_announces_it_is_ready_and_stops_its_pods_on_exit_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(
        &dir.path().join("server"),
        &["--disable-agent", "--disable-scheduler"],
    );
    let node_dir = dir.path().join("node");
    let agent = Agent::start(
        &server.url_at("127.0.0.1"),
        &server.token(),
        &node_dir,
        &NODE,
    );
    agent.wait_until_ready("exit-node");

    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&[
        "run",
        "sleeper",
        "--image=busybox:1.36",
        "--restart=Never",
        "--overrides={\"spec\":{\"nodeName\":\"exit-node\",\"terminationGracePeriodSeconds\":1}}",
        "--",
        "sleep",
        "3600",
    ]);
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/sleeper",
        "--timeout=90s",
    ]);
    let socket = node_dir.join("agent/containerd/containerd.sock");
    assert!(!shims(&socket).is_empty(), "the pod runs under a shim");

    agent.stop();
    assert_eq!(
        shims(&socket),
        Vec::<String>::new(),
        "no container outlives the node"
    );
    // The pod object stays: the node went away, nobody deleted the pod.
    assert_eq!(
        k.ok(&["get", "pod", "sleeper", "-o", "name"]).trim(),
        "pod/sleeper"
    );
    server.stop();
}
