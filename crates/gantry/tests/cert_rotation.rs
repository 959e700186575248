//! A joined node renews its client certificate before it expires, asking with the certificate
//! it has (upstream's `selfnodeclient` approval), and goes on working with the new one after
//! the old one has expired. The server signs for 40 s here (`--cluster-signing-duration`), so
//! renewal comes at 32 s.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use common::{Server, poll_for};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NODE: NodeSpec<'static> = NodeSpec {
    name: "rot-node",
    bridge: "gtrot",
    pod_cidr: Some("10.42.142.0/24"),
    cluster_cidr: None,
    extra_args: &[],
    netns: None,
};

/// The client certificate the node keeps (PEM), and when it expires.
fn kept_certificate(node_dir: &Path) -> Option<(String, i64)> {
    let text = std::fs::read_to_string(node_dir.join("agent/kubelet.kubeconfig")).ok()?;
    let pem = gantry_pki::kubeconfig::embedded(&text, "client-certificate-data")?;
    let der = gantry_pki::identity::first_certificate_der(&pem).ok()?;
    Some((pem, gantry_pki::identity::not_after(&der).ok()?))
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[test]
fn a_node_renews_its_certificate_before_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(
        &dir.path().join("server"),
        &[
            "--disable-agent",
            "--disable-scheduler",
            "--cluster-signing-duration",
            "40s",
        ],
    );
    let node_dir = dir.path().join("node");
    let agent = Agent::start(
        &server.url_at("127.0.0.1"),
        &server.token(),
        &node_dir,
        &NODE,
    );
    let joined = poll_for(Duration::from_secs(60), || {
        kept_certificate(&node_dir).map(|c| c.0).unwrap_or_default()
    });
    assert!(!joined.is_empty(), "no certificate: {}", agent.log());
    let (first, first_expiry) = kept_certificate(&node_dir).unwrap();
    assert!(
        first_expiry - now() <= 40,
        "signed for the configured 40 s at most"
    );

    // Renewed before the first expires.
    let renewed = poll_for(Duration::from_secs(60), || {
        match kept_certificate(&node_dir) {
            Some((pem, _)) if pem != first => pem,
            _ => String::new(),
        }
    });
    assert!(!renewed.is_empty(), "never renewed: {}", agent.log());
    assert!(
        now() < first_expiry,
        "renewed only after the old one expired"
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    // Two requests: the join's, by the token's user, and the renewal, by the node itself.
    let requesters = k.ok(&[
        "get",
        "csr",
        "-o",
        "jsonpath={range .items[*]}{.spec.username} {.status.conditions[0].reason}{\"\\n\"}{end}",
    ]);
    let mut lines: Vec<&str> = requesters.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.len(), 2, "{requesters}");
    assert!(lines[0].starts_with("system:bootstrap:"), "{requesters}");
    assert_eq!(
        lines[1], "system:node:rot-node AutoApproved",
        "{requesters}"
    );

    // Past the first certificate's end, the node still heartbeats (with the new one).
    std::thread::sleep(Duration::from_secs(
        u64::try_from(first_expiry + 3 - now()).unwrap_or(0),
    ));
    let before = k.jsonpath(
        &["lease", "rot-node", "-n", "kube-node-lease"],
        "{.spec.renewTime}",
    );
    let after = poll_for(Duration::from_secs(30), || {
        let renewed = k.jsonpath(
            &["lease", "rot-node", "-n", "kube-node-lease"],
            "{.spec.renewTime}",
        );
        if renewed == before {
            String::new()
        } else {
            renewed
        }
    });
    assert!(!after.is_empty(), "the lease stopped: {}", agent.log());
    agent.stop();
    server.stop();
}
