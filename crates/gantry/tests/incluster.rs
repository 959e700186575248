//! Programs inside pods reach the API with their in-cluster configuration — through the
//! `kubernetes` Service's cluster IP, the node's service proxy, the mounted token and CA — and
//! RBAC decides what they may do: a kube-rs program (`examples/incluster_list_pods.rs`) and a
//! Python program using the `kubernetes` client, each run as a ServiceAccount bound to `view`
//! and as one bound to nothing. The programs come from the host (hostPath mounts of the binary,
//! the Python virtualenv and the host's libraries), since the test image is only busybox.

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
use std::path::{Path, PathBuf};
use std::time::Duration;

const CLUSTER_CIDR: &str = "10.42.132.0/23";

const PYTHON_PROGRAM: &str = "import sys\nfrom kubernetes import client, config\nfrom kubernetes.client.rest import ApiException\nconfig.load_incluster_config()\nns = open('/var/run/secrets/kubernetes.io/serviceaccount/namespace').read().strip()\ntry:\n    pods = client.CoreV1Api().list_namespaced_pod(ns)\n    print('pods: ' + ' '.join(p.metadata.name for p in pods.items))\nexcept ApiException as e:\n    print('refused: %d %s' % (e.status, e.reason))\n    sys.exit(1)\n";

/// The Python virtualenv with the `kubernetes` client that `scripts/test` makes.
fn python() -> PathBuf {
    let venv = std::env::var_os("GANTRY_PYTHON_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test makes it (python3 -m venv target/python-venv; pip install kubernetes)",
        python.display()
    );
    std::fs::canonicalize(venv).unwrap()
}

/// Where a host directory is mounted at the same path in the pod.
fn host_mount(name: &str, path: &Path) -> (serde_json::Value, serde_json::Value) {
    let path = path.to_str().unwrap();
    (
        serde_json::json!({"name": name, "hostPath": {"path": path}}),
        serde_json::json!({"name": name, "mountPath": path, "readOnly": true}),
    )
}

/// A pod running `command` as `account`, with the host's libraries and `extra` directories.
fn pod(name: &str, account: &str, command: &[&str], extra: &[&Path]) -> String {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let mut paths: Vec<PathBuf> = ["/lib", "/lib64", "/usr"]
        .iter()
        .map(PathBuf::from)
        .collect();
    paths.extend(extra.iter().map(|p| p.to_path_buf()));
    // (Debian's python lives under /usr already: one mount per path.)
    paths.sort();
    paths.dedup();
    for (i, path) in paths.iter().filter(|p| p.exists()).enumerate() {
        let (volume, mount) = host_mount(&format!("host-{i}"), path);
        volumes.push(volume);
        mounts.push(mount);
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {
            "serviceAccountName": account,
            "restartPolicy": "Never",
            "volumes": volumes,
            "containers": [{
                "name": "main",
                "image": "busybox:1.36",
                "command": command,
                "volumeMounts": mounts,
            }],
        },
    })
    .to_string()
}

#[test]
fn kube_rs_and_python_programs_in_pods_use_their_in_cluster_configuration() {
    let venv = python();
    let example = Path::new(env!("CARGO_BIN_EXE_gantry"))
        .parent()
        .unwrap()
        .join("examples/incluster_list_pods");
    assert!(
        example.exists(),
        "{} is missing (cargo test builds examples)",
        example.display()
    );
    // The virtualenv's interpreter is a link to the host's: its installation must be there too.
    let base_python = std::fs::canonicalize(venv.join("bin/python")).unwrap();
    let base_prefix = base_python
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();

    let dir = tempfile::tempdir().unwrap();
    let machine = NetNs::create(21);
    // The API server is advertised (as the kubernetes Service's endpoint) at the host's
    // address on the node's link.
    let server = Server::start_on(
        &dir.path().join("server"),
        "0.0.0.0:0",
        &[
            "--disable-agent",
            "--cluster-cidr",
            CLUSTER_CIDR,
            "--tls-san",
            &machine.host_ip,
            "--node-ip",
            &machine.host_ip,
        ],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let spec = NodeSpec {
        name: "incluster-node",
        bridge: "gtinc",
        pod_cidr: None,
        cluster_cidr: Some(CLUSTER_CIDR),
        extra_args: &["--disable", "coredns"],
        netns: Some(&machine),
    };
    let agent = Agent::start(
        &server.url_at(&machine.host_ip),
        &server.token(),
        &dir.path().join("node"),
        &spec,
    );
    let endpoint = k.ok(&[
        "get",
        "endpointslice",
        "kubernetes",
        "-o",
        "jsonpath={.endpoints[0].addresses[0]}",
    ]);
    assert_eq!(endpoint, machine.host_ip);

    k.ok(&["create", "namespace", "apps"]);
    for account in ["reader", "stranger"] {
        k.ok(&["create", "serviceaccount", account, "-n", "apps"]);
    }
    k.ok(&[
        "create",
        "rolebinding",
        "reader-view",
        "--clusterrole=view",
        "--serviceaccount=apps:reader",
        "-n",
        "apps",
    ]);
    let manifest = dir.path().join("pods.json");
    let example_dir = example.parent().unwrap();
    let example_path = example.to_str().unwrap();
    let python_path = venv.join("bin/python");
    let python_path = python_path.to_str().unwrap();
    let pods = [
        (
            "rust-reader",
            pod("rust-reader", "reader", &[example_path], &[example_dir]),
        ),
        (
            "rust-stranger",
            pod("rust-stranger", "stranger", &[example_path], &[example_dir]),
        ),
        (
            "python-reader",
            pod(
                "python-reader",
                "reader",
                &[python_path, "-c", PYTHON_PROGRAM],
                &[&venv, &base_prefix],
            ),
        ),
        (
            "python-stranger",
            pod(
                "python-stranger",
                "stranger",
                &[python_path, "-c", PYTHON_PROGRAM],
                &[&venv, &base_prefix],
            ),
        ),
    ];
    for (_, body) in &pods {
        std::fs::write(&manifest, body).unwrap();
        k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    }
    for (name, _) in &pods {
        let phase = poll_for(Duration::from_secs(120), || {
            let phase = k.ok(&[
                "get",
                "pod",
                name,
                "-n",
                "apps",
                "-o",
                "jsonpath={.status.phase}",
            ]);
            if phase == "Succeeded" || phase == "Failed" {
                phase
            } else {
                String::new()
            }
        });
        let logs = k.ok(&["logs", name, "-n", "apps"]);
        if name.ends_with("reader") {
            assert_eq!(
                phase,
                "Succeeded",
                "{name}: {logs}\n{}\n{}",
                k.ok(&["describe", "pod", name, "-n", "apps"]),
                agent.log()
            );
            assert!(
                logs.starts_with("pods: ") && logs.contains("rust-reader"),
                "{name}: {logs}"
            );
        } else {
            assert_eq!(phase, "Failed", "{name}: {logs}");
            assert!(logs.contains("refused: 403"), "{name}: {logs}");
        }
    }
    drop(agent);
    server.stop();
}
