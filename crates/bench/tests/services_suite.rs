//! `gantry-bench services` runs end to end against an in-process API server with Gantry's
//! service proxy (a table of its own) and cluster DNS (on loopback) behind it, and prints its
//! final line in the documented shape. Figures are not checked: they are for
//! docs/benchmarks.md. Needs root and nftables, as CI has.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::process::Command;

#[test]
fn the_services_suite_prints_its_line_of_figures() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = gantry_testkit::apiserver::start(&runtime, dir.path()).unwrap();
    let _guard = runtime.enter();
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{address}").parse().unwrap(),
    ))
    .unwrap();
    // The DNS server publishes itself under its Node.
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    let node =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "bench-node"}})).unwrap();
    runtime
        .block_on(nodes.create(&kube::api::PostParams::default(), &node))
        .unwrap();
    let table = format!("gbench{}", std::process::id());
    let mut proxy = gantry_proxy::ProxyConfig::new("bench-node");
    proxy.table = table.clone();
    proxy.cluster_cidr = "10.42.0.0/16".parse().ok();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy_task = runtime.spawn(gantry_proxy::run(proxy, client.clone(), async {
        let _ = stopped.await;
    }));
    let dns = gantry_dns::DnsConfig {
        node_name: "bench-node".into(),
        listen_ip: std::net::Ipv4Addr::LOCALHOST,
        port: 0,
        cluster_domain: "cluster.local".into(),
        cluster_dns: "10.43.0.10".parse().unwrap(),
        resolv_conf: dir.path().join("no-resolv.conf"),
    };
    runtime.spawn(gantry_dns::run(dns, client, std::future::pending()));

    let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
        .args(["services", "--server", &format!("http://{address}")])
        .args(["--services", "20", "--endpoints", "3", "--changes", "5"])
        .args([
            "--table",
            &table,
            "--dns-seconds",
            "1",
            "--dns-clients",
            "2",
        ])
        .output()
        .unwrap();
    let _ = stop.send(());
    runtime.block_on(proxy_task).unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gantry-bench services failed: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], "services", "{line}");
    let keys: Vec<&str> = words[1..]
        .iter()
        .map(|w| w.split_once('=').unwrap().0)
        .collect();
    assert_eq!(
        keys,
        [
            "n",
            "program_p50_ms",
            "program_p99_ms",
            "resync_ms",
            "dns_qps",
            "dns_p99_ms"
        ],
        "{line}"
    );
    for word in &words[2..] {
        let value: f64 = word.split_once('=').unwrap().1.parse().unwrap();
        assert!(value.is_finite() && value >= 0.0, "{line}");
    }
}
