//! A real node for the tests that need one: the images `scripts/images` builds, and `gantry
//! server` with its own containerd, CNI bridge and pod range.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use super::Server;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The test images, built once per run by the repository's own script.
pub(crate) fn images() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-images");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images");
        let out = std::process::Command::new("bash")
            .arg(script)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/images failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Starts `gantry server` with its node agent on `bridge`/`cidr` (unique per test, since tests
/// run at once), and waits until the node runs.
pub(crate) fn start_node(dir: &Path, name: &str, bridge: &str, cidr: &str) -> Server {
    start_node_with(dir, name, bridge, cidr, &[])
}

/// `start_node` with more `gantry server` flags.
pub(crate) fn start_node_with(
    dir: &Path,
    name: &str,
    bridge: &str,
    cidr: &str,
    extra: &[&str],
) -> Server {
    let images = images().to_str().unwrap().to_owned();
    let mut args = vec![
        "--node-name",
        name,
        "--cni-bridge",
        bridge,
        "--pod-cidr",
        cidr,
        "--images-dir",
        &images,
        "--kubelet-port",
        "0",
        // Nodes of concurrent tests share the host's network namespace: one proxy's rules
        // would catch another cluster's service addresses, one network's routes another's
        // pods. The network tests give each node a namespace of its own.
        "--disable-kube-proxy",
        "--flannel-backend",
        "none",
        "--disable",
        "coredns",
    ];
    args.extend_from_slice(extra);
    if !dir.join("agent").exists() {
        clear_stale_node(bridge);
    }
    let mut server = Server::start_with_agent(dir, &args);
    server.wait_for_log("node running");
    server
}

/// A kube-rs client through the server's admin kubeconfig.
pub(crate) async fn client(server: &Server) -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&server.kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Removes what an earlier run's node left on `bridge`: a server that was stopped, or killed,
/// leaves its pods running (by design: pods outlive a node restart), so their network
/// namespaces keep the addresses a fresh node will hand out again, and answer for them. Kills
/// the processes in each namespace on the bridge, deletes the namespaces and the bridge, and
/// kills the shims whose containerd socket is gone.
fn clear_stale_node(bridge: &str) {
    let run = |args: &[&str]| -> String {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    };
    let links = run(&["ip", "-o", "link", "show", "master", bridge]);
    for netns in links.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "link-netns")?;
        words.next().map(str::to_owned)
    }) {
        for pid in run(&["ip", "netns", "pids", &netns]).split_whitespace() {
            run(&["kill", "-KILL", pid]);
        }
        run(&["ip", "netns", "delete", &netns]);
    }
    run(&["ip", "link", "delete", bridge]);
    for line in run(&["pgrep", "-af", "containerd-shim-runc-v2"]).lines() {
        let mut words = line.split_whitespace();
        let pid = words.next().unwrap_or_default();
        if words
            .skip_while(|w| *w != "-address")
            .nth(1)
            .is_some_and(|socket| !Path::new(socket).exists())
        {
            run(&["kill", "-KILL", pid]);
        }
    }
}
