//! `gantry server` as a process: it opens its store, serves the API, writes a kubeconfig, and
//! stops cleanly on SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::{Server, poll};
use std::process::Command;

#[test]
fn server_runs_the_embedded_store_and_writes_a_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let log = server.wait_for_log("API server listening");
    assert!(log.contains("embedded store open"), "{log}");
    assert!(dir.path().join("store/store.log").exists());
    let kubeconfig = std::fs::read_to_string(&server.kubeconfig).unwrap();
    assert!(
        kubeconfig.contains("server: https://127.0.0.1:"),
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

/// A `gantry scheduler` process, stopped when dropped — also when an assertion fails first.
struct Scheduler(std::process::Child);

impl Scheduler {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start_scheduler(kubeconfig: &str, args: &[&str], log: &std::path::Path) -> Scheduler {
    Scheduler(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["scheduler", "--kubeconfig", kubeconfig])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// Applies `objects` with a Node `solo` (an object only) given room for pods.
fn apply_with_node(k: &common::kubectl::Kubectl, dir: &std::path::Path, objects: &str) {
    let manifest = dir.join("objects.yaml");
    std::fs::write(
        &manifest,
        format!("apiVersion: v1\nkind: Node\nmetadata: {{name: solo}}\n{objects}"),
    )
    .unwrap();
    k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    let allocatable = r#"{"status":{"allocatable":{"cpu":"2","memory":"4Gi","pods":"10"}}}"#;
    k.ok(&[
        "patch",
        "node",
        "solo",
        "--subresource=status",
        "--type=merge",
        "-p",
        allocatable,
    ]);
}

/// `gantry scheduler` alone, against a control plane without one, binds a pod to a node.
#[test]
fn a_standalone_scheduler_binds_pods() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.kubeconfig.to_str().unwrap().to_owned();
    let mut scheduler = start_scheduler(&url, &["--leader-elect=false"], &dir.path().join("s.log"));
    let k = common::kubectl::Kubectl::new(33, &server.kubeconfig);
    apply_with_node(
        &k,
        dir.path(),
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox:1.36}]\n",
    );
    let node = poll(|| k.ok(&["get", "pod", "p", "-o", "jsonpath={.spec.nodeName}"]));
    scheduler.kill();
    assert_eq!(node, "solo");
    server.stop();
}

/// Two schedulers with one configuration file: one leads (the Lease names it), each profile
/// serves its `schedulerName` and leaves other pods alone, and when the leader dies the other
/// takes over.
#[test]
fn schedulers_elect_one_leader_and_serve_their_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.kubeconfig.to_str().unwrap().to_owned();
    let config = dir.path().join("scheduler.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nleaderElection: {leaderElect: true, leaseDuration: 3s, renewDeadline: 2s, retryPeriod: 500ms}\nprofiles:\n- schedulerName: default-scheduler\n- schedulerName: packer\n  pluginConfig:\n  - {name: NodeResourcesFit, args: {scoringStrategy: {type: MostAllocated}}}\n",
    )
    .unwrap();
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let mut schedulers: Vec<Scheduler> = logs
        .iter()
        .map(|log| start_scheduler(&url, &["--config", config.to_str().unwrap()], log))
        .collect();
    let k = common::kubectl::Kubectl::new(33, &server.kubeconfig);
    let holder = poll(|| {
        let out = k.run(&[
            "get",
            "lease",
            "-n",
            "kube-system",
            "kube-scheduler",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]);
        if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            String::new()
        }
    });
    assert!(!holder.is_empty(), "nobody took the lease");
    let leader = poll(|| {
        logs.iter()
            .position(|l| {
                std::fs::read_to_string(l)
                    .unwrap_or_default()
                    .contains("became leader")
            })
            .map(|i| i.to_string())
            .unwrap_or_default()
    });
    let leader: usize = leader.parse().expect("a scheduler says it leads");
    let leader_log = std::fs::read_to_string(&logs[leader]).unwrap();
    assert!(leader_log.contains(&holder), "{holder} not in {leader_log}");

    let pod = |name: &str, scheduler: &str| {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  schedulerName: {scheduler}\n  containers: [{{name: c, image: busybox:1.36}}]\n"
        )
    };
    apply_with_node(
        &k,
        dir.path(),
        &format!(
            "{}{}{}",
            pod("plain", "default-scheduler"),
            pod("packed", "packer"),
            pod("foreign", "someone-else")
        ),
    );
    for name in ["plain", "packed"] {
        let node = poll(|| k.ok(&["get", "pod", name, "-o", "jsonpath={.spec.nodeName}"]));
        assert_eq!(node, "solo", "{name} was not scheduled");
    }
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=packed",
        "-o",
        "jsonpath={.items[*].source.component}",
    ]);
    assert!(
        events.contains("packer"),
        "events of the packer profile: {events}"
    );
    assert_eq!(
        k.ok(&["get", "pod", "foreign", "-o", "jsonpath={.spec.nodeName}"]),
        "",
        "a pod for another scheduler must be left alone"
    );

    // The leader dies without handing the lease back: the other takes over once it expires.
    schedulers[leader].kill();
    let later = dir.path().join("later.yaml");
    std::fs::write(&later, pod("later", "default-scheduler")).unwrap();
    k.ok(&["apply", "-f", later.to_str().unwrap()]);
    let node = poll(|| k.ok(&["get", "pod", "later", "-o", "jsonpath={.spec.nodeName}"]));
    assert_eq!(node, "solo", "the surviving scheduler never took over");
    let successor = k.ok(&[
        "get",
        "lease",
        "-n",
        "kube-system",
        "kube-scheduler",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert_ne!(successor, holder);
    assert_eq!(
        k.ok(&[
            "get",
            "lease",
            "-n",
            "kube-system",
            "kube-scheduler",
            "-o",
            "jsonpath={.spec.leaseTransitions}"
        ]),
        "1"
    );
    drop(schedulers);
    server.stop();
}
