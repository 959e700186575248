//! `gantry server` as a process: it opens its store, serves the API, writes a kubeconfig, says
//! what it does not run yet, and stops cleanly on SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use std::process::Command;

#[test]
fn server_runs_the_embedded_store_and_says_what_is_not_built_yet() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let log = server.wait_for_log("controller manager: not built yet (issue #6)");
    assert!(log.contains("embedded store open"), "{log}");
    assert!(dir.path().join("store/store.log").exists());
    let kubeconfig = std::fs::read_to_string(&server.kubeconfig).unwrap();
    assert!(
        kubeconfig.contains("server: http://127.0.0.1:"),
        "{kubeconfig}"
    );
    server.stop();
}

#[test]
fn server_refuses_a_data_directory_another_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), &[]);
    let second = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .arg("server")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--api-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another process"), "{err}");
    first.stop();
}

#[test]
fn server_runs_on_a_real_etcd_when_given_its_address() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let etcd = runtime
        .block_on(gantry_testkit::etcd::EtcdServer::start())
        .expect("start etcd");
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--etcd-servers", etcd.endpoint()]);
    let log = server.wait_for_log("created the kubernetes service");
    assert!(log.contains("connected to etcd"), "{log}");
    assert!(
        log.contains("created namespace"),
        "the built-in namespaces went to etcd: {log}"
    );
    server.stop();
}

#[test]
fn a_malformed_compaction_interval_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["server", "--etcd-compaction-interval", "5 minutes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid duration"));
}

/// `gantry scheduler` alone, against a control plane without one, binds a pod to a node.
#[test]
fn a_standalone_scheduler_binds_pods() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = std::fs::read_to_string(&server.kubeconfig)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: ").map(str::to_owned))
        .unwrap();
    let mut scheduler = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["scheduler", "--server", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let k = common::kubectl::Kubectl::new(33, &server.kubeconfig);
    let manifest = dir.path().join("objects.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Node\nmetadata: {name: solo}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox:1.36}]\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    k.ok(&[
        "patch",
        "node",
        "solo",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"allocatable":{"cpu":"2","memory":"4Gi","pods":"10"}}}"#,
    ]);
    let mut node = String::new();
    for _ in 0..100 {
        node = k.ok(&["get", "pod", "p", "-o", "jsonpath={.spec.nodeName}"]);
        if !node.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = scheduler.kill();
    let _ = scheduler.wait();
    assert_eq!(node, "solo");
    server.stop();
}
