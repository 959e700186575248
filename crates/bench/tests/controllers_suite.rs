//! `gantry-bench controllers` runs end to end against an in-process API server with Gantry's
//! scheduler and controller manager behind it, and prints its final line in the documented
//! shape. Figures are not checked: they are for docs/benchmarks.md.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::process::Command;

#[test]
fn the_controllers_suite_prints_its_line_of_figures() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = gantry_testkit::apiserver::start(&runtime, dir.path()).unwrap();
    let _guard = runtime.enter();
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{address}").parse().unwrap(),
    ))
    .unwrap();
    let mut scheduler = gantry_scheduler::SchedulerConfig::default();
    scheduler.leader_election.leader_elect = false;
    runtime.spawn(gantry_scheduler::run(
        scheduler,
        client.clone(),
        std::future::pending(),
    ));
    let controllers = gantry_controllers::Config {
        leader_elect: false,
        ..gantry_controllers::Config::default()
    };
    runtime.spawn(gantry_controllers::run(
        controllers,
        client,
        std::future::pending(),
    ));

    let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
        .args(["controllers", "--server", &format!("http://{address}")])
        .args([
            "--deployments",
            "5",
            "--replicas",
            "2",
            "--nodes",
            "3",
            "--clients",
            "4",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gantry-bench controllers failed: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], "controllers", "{line}");
    let pairs: Vec<(&str, &str)> = words[1..]
        .iter()
        .map(|w| w.split_once('=').unwrap())
        .collect();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        ["deployments", "pods", "available_s", "rollout_s"],
        "{line}"
    );
    assert_eq!(pairs[1].1, "10");
    assert!(pairs[2].1.parse::<f64>().unwrap() > 0.0, "{line}");
    assert!(pairs[3].1.parse::<f64>().unwrap() > 0.0, "{line}");
}
