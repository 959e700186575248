//! The node's endpoints (port 10250 upstream) speak TLS only and serve only callers whose client
//! certificate the cluster authority signed and whom the API server authorizes on
//! `nodes/<subresource>`, or who bring a bearer token the API server vouches for, as upstream's
//! kubelet with x509 and Webhook authentication and Webhook authorization; the API server
//! itself gets through (kubectl logs) with its own certificate.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use common::{Server, poll_for};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const NODE: NodeSpec<'static> = NodeSpec {
    name: "kauth-node",
    bridge: "gtkauth",
    pod_cidr: Some("10.42.141.0/24"),
    cluster_cidr: None,
    extra_args: &[],
    netns: None,
};

/// `curl` of `url` with the client certificate of `kubeconfig` (none: anonymous); returns the
/// status code and the body.
fn curl(url: &str, kubeconfig: Option<&Path>, dir: &Path) -> (String, String) {
    let mut command = Command::new("curl");
    command.args(["-sk", "-o", "-", "-w", "\n%{http_code}", url]);
    if let Some(kubeconfig) = kubeconfig {
        let text = std::fs::read_to_string(kubeconfig).unwrap();
        let (cert, key) = (dir.join("client.crt"), dir.join("client.key"));
        for (path, field) in [
            (&cert, "client-certificate-data"),
            (&key, "client-key-data"),
        ] {
            std::fs::write(
                path,
                gantry_pki::kubeconfig::embedded(&text, field).unwrap(),
            )
            .unwrap();
        }
        command.arg("--cert").arg(&cert).arg("--key").arg(&key);
    }
    let out = String::from_utf8(command.output().unwrap().stdout).unwrap();
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.to_owned(), body.to_owned())
}

fn kubeconfig_for(server: &Server, user: &str, path: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["kubeconfig", "--user", user, "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(path, out.stdout).unwrap();
}

#[test]
fn only_callers_the_api_server_authorizes_reach_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(
        &dir.path().join("server"),
        &["--disable-agent", "--disable-scheduler"],
    );
    let agent = Agent::start(
        &server.url_at("127.0.0.1"),
        &server.token(),
        &dir.path().join("node"),
        &NODE,
    );
    agent.wait_until_ready("kauth-node");
    let k = Kubectl::new(33, &server.kubeconfig);
    let ip = k.jsonpath(
        &["node", "kauth-node"],
        "{.status.addresses[?(@.type==\"InternalIP\")].address}",
    );
    let port = k.jsonpath(
        &["node", "kauth-node"],
        "{.status.daemonEndpoints.kubeletEndpoint.Port}",
    );
    let healthz = format!("https://{ip}:{port}/healthz");

    // No certificate: 401, as upstream's kubelet answers anonymous callers.
    assert_eq!(
        curl(&healthz, None, dir.path()),
        ("401".to_owned(), "Unauthorized".to_owned())
    );
    // A certificate the authority signed, for a user RBAC grants nothing: 403.
    let alice = dir.path().join("alice.kubeconfig");
    kubeconfig_for(&server, "alice", &alice);
    assert_eq!(
        curl(&healthz, Some(&alice), dir.path()),
        (
            "403".to_owned(),
            "Forbidden (user=alice, verb=get, resource=nodes, subresource=healthz)".to_owned()
        )
    );
    // A user bound to upstream's kubelet-api-admin role gets through. (Another user than
    // alice: the kubelet remembers a denial for thirty seconds, as upstream's does.)
    let bob = dir.path().join("bob.kubeconfig");
    kubeconfig_for(&server, "bob", &bob);
    k.ok(&[
        "create",
        "clusterrolebinding",
        "bob-kubelet",
        "--clusterrole=system:kubelet-api-admin",
        "--user=bob",
    ]);
    assert_eq!(
        curl(&healthz, Some(&bob), dir.path()),
        ("200".to_owned(), "ok".to_owned())
    );

    // A bearer token works too: the node has the API server review it (TokenReview).
    k.ok(&["create", "serviceaccount", "scraper"]);
    k.ok(&[
        "create",
        "clusterrolebinding",
        "scraper-kubelet",
        "--clusterrole=system:kubelet-api-admin",
        "--serviceaccount=default:scraper",
    ]);
    let token = k.ok(&["create", "token", "scraper"]).trim().to_owned();
    let review = dir.path().join("review.json");
    std::fs::write(
        &review,
        format!(r#"{{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {{"token": "{token}"}}}}"#),
    )
    .unwrap();
    // (kubectl checks a create-only kind against OpenAPI v2, which it reads as protobuf.)
    let reviewed: serde_json::Value =
        serde_json::from_str(&k.ok(&["create", "-f", review.to_str().unwrap(), "-o", "json"]))
            .unwrap();
    assert_eq!(reviewed["status"]["authenticated"], true, "{reviewed}");
    assert_eq!(
        reviewed["status"]["user"]["username"],
        "system:serviceaccount:default:scraper"
    );
    let with_token = |token: &str| {
        let out = Command::new("curl")
            .args(["-sk", "-o", "-", "-w", "\n%{http_code}", &healthz])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(with_token(&token), "ok\n200");
    assert_eq!(with_token("not-a-token"), "Unauthorized\n401");

    // The API server reaches the node with its own certificate: logs through kubectl.
    k.ok(&[
        "run",
        "talker",
        "--image=busybox:1.36",
        "--restart=Never",
        "--overrides={\"spec\":{\"nodeName\":\"kauth-node\",\"terminationGracePeriodSeconds\":1}}",
        "--",
        "sh",
        "-c",
        "echo hello from the node; sleep 3600",
    ]);
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/talker",
        "--timeout=90s",
    ]);
    let logs = poll_for(Duration::from_secs(30), || {
        let out = k.run(&["logs", "talker"]);
        if String::from_utf8_lossy(&out.stdout).contains("hello from the node") {
            "found".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(logs, "found");
    k.ok(&["delete", "pod", "talker", "--wait=false"]);
    agent.stop();
    server.stop();
}
