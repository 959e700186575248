//! `gantry-bench podstart` runs end to end against an in-process API server and a real node
//! (Gantry's kubelet with its own containerd) and prints its final line in the documented
//! shape. Figures are not checked: they are for docs/benchmarks.md.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_podstart_suite_prints_one_line_of_figures() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images");
    let built = Command::new("bash")
        .arg(script)
        .arg(&images)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = gantry_testkit::apiserver::start(&runtime, &dir.path().join("store")).unwrap();

    let mut node = gantry_kubelet::KubeletConfig::new("bench-node", dir.path().join("agent"));
    node.images_dir = Some(images);
    node.cni_bridge = "gtbench0".into();
    node.pod_cidr = Some("10.42.105.0/24".into());
    node.kubelet_port = 0;
    // kube's client needs a runtime to be created in.
    let _guard = runtime.enter();
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{address}").parse().unwrap(),
    ))
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = runtime.spawn(gantry_kubelet::run(node, client, async {
        let _ = stopped.await;
    }));
    // The node is up once its Lease exists.
    let lease = format!(
        "http://{address}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/bench-node"
    );
    let ready = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        Command::new("busybox")
            .args(["wget", "-q", "-O", "/dev/null", &lease])
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(ready, "the node never registered");

    let socket = dir.path().join("agent/containerd/containerd.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
        .args([
            "podstart",
            "--server",
            &format!("http://{address}"),
            "--node",
            "bench-node",
        ])
        .arg("--containerd-socket")
        .arg(&socket)
        .args(["--pods", "3", "--parallel", "2"])
        .output()
        .unwrap();
    let _ = stop.send(());
    runtime.block_on(agent).unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gantry-bench podstart failed: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], "podstart", "{line}");
    let keys: Vec<&str> = words[1..]
        .iter()
        .map(|w| w.split_once('=').unwrap().0)
        .collect();
    assert_eq!(
        keys,
        [
            "p50_ms",
            "p99_ms",
            "par2_p50_ms",
            "par2_p99_ms",
            "floor_ctr_ms",
            "floor_runc_ms",
            "ratio_p50"
        ],
        "{line}"
    );
    for word in &words[1..] {
        let value: f64 = word.split_once('=').unwrap().1.parse().unwrap();
        assert!(value.is_finite() && value > 0.0, "{line}");
    }
}
