//! `gantry-bench scheduler` runs end to end against an in-process API server with Gantry's
//! scheduler behind it, for both workloads, and prints its final line in the documented shape.
//! Figures are not checked: they are for docs/benchmarks.md.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::process::Command;

#[test]
fn the_scheduler_suite_prints_one_line_of_figures_per_workload() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = gantry_testkit::apiserver::start(&runtime, dir.path()).unwrap();
    let _guard = runtime.enter();
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{address}").parse().unwrap(),
    ))
    .unwrap();
    let mut config = gantry_scheduler::SchedulerConfig::default();
    config.leader_election.leader_elect = false;
    runtime.spawn(gantry_scheduler::run(
        config,
        client,
        std::future::pending(),
    ));

    for workload in ["basic", "affinity", "anti-affinity", "spread", "preemption"] {
        // Preemption evicts one pod per node for each measured pod: no more than the nodes.
        let pods = if workload == "preemption" { "20" } else { "60" };
        let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
            .args(["scheduler", "--server", &format!("http://{address}")])
            .args([
                "--nodes",
                "20",
                "--pods",
                pods,
                "--init-pods",
                "10",
                "--clients",
                "4",
            ])
            .args(["--workload", workload])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "gantry-bench scheduler failed: {stderr}"
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let line = stdout.lines().last().unwrap();
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words[0], "scheduler", "{line}");
        let pairs: Vec<(&str, &str)> = words[1..]
            .iter()
            .map(|w| w.split_once('=').unwrap())
            .collect();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            ["workload", "nodes", "pods", "pods_per_s", "p99_ms"],
            "{line}"
        );
        assert_eq!(pairs[0].1, workload);
        assert!(pairs[3].1.parse::<f64>().unwrap() > 0.0, "{line}");
    }
}
