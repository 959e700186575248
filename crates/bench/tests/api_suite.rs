//! `gantry-bench api` runs end to end against an API server (here Gantry's, in-process on its
//! embedded store) and prints its final line in the documented shape. Figures are not checked.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::process::Command;

#[test]
fn the_api_suite_prints_one_line_of_figures() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = gantry_testkit::apiserver::start(&runtime, dir.path()).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
        .args(["api", "--server", &format!("http://{address}")])
        .args([
            "--clients",
            "4",
            "--creates",
            "40",
            "--rate",
            "50",
            "--rate-seconds",
            "1",
        ])
        .args([
            "--watchers",
            "3",
            "--events-per-s",
            "10",
            "--watch-seconds",
            "1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gantry-bench api failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], "api", "{line}");
    let keys: Vec<&str> = words[1..]
        .iter()
        .map(|w| w.split_once('=').unwrap().0)
        .collect();
    assert_eq!(
        keys,
        [
            "creates_per_s",
            "create_p99_ms",
            "list10k_ms",
            "watch_p99_ms",
            "watchers"
        ],
        "{line}"
    );
    for word in &words[1..] {
        let value: f64 = word.split_once('=').unwrap().1.parse().unwrap();
        assert!(value.is_finite() && value > 0.0, "{word} in {line}");
    }
    assert!(
        stderr.contains("3 watchers x 10 events: 30 deliveries"),
        "{stderr}"
    );
}

/// Against a TLS server, as `gantry server` serves: the kubeconfig's authority and client
/// certificate.
#[test]
fn the_api_suite_runs_over_https_with_a_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_, kubeconfig) = gantry_testkit::apiserver::start_tls(&runtime, dir.path()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
        .args(["api", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--clients", "2", "--creates", "10", "--rate", "10"])
        .args([
            "--rate-seconds",
            "1",
            "--watchers",
            "1",
            "--events-per-s",
            "5",
        ])
        .args(["--watch-seconds", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gantry-bench api failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("api creates_per_s="),
        "{stdout}"
    );
}
