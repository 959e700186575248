//! `gantry-bench store` runs end to end on a tiny workload and prints its final line in the
//! documented shape. Figures are not checked: a benchmark measures, a test does not time.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::collections::HashMap;
use std::process::Command;

#[test]
fn the_store_suite_prints_one_line_of_figures_for_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gantry-bench"))
        .args([
            "store",
            "--writers",
            "4",
            "--keys",
            "40",
            "--updates",
            "2",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gantry-bench failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], "store", "{line}");
    let sections: Vec<&str> = words.iter().copied().filter(|w| !w.contains('=')).collect();
    assert_eq!(
        sections,
        ["store", "ops_per_s", "p99_ms", "watch_p99_ms"],
        "{line}"
    );
    let mut figures: HashMap<String, f64> = HashMap::new();
    let mut section = "";
    for word in &words[1..] {
        match word.split_once('=') {
            None => section = word,
            Some((key, value)) => {
                let value: f64 = value.parse().unwrap_or_else(|_| panic!("{word} in {line}"));
                assert!(value.is_finite() && value > 0.0, "{word} in {line}");
                figures.insert(format!("{section}.{key}"), value);
            }
        }
    }
    for key in [
        "ops_per_s.embedded",
        "ops_per_s.etcd",
        "ops_per_s.ratio",
        "p99_ms.embedded",
        "p99_ms.etcd",
        "watch_p99_ms.embedded",
        "watch_p99_ms.etcd",
    ] {
        assert!(figures.contains_key(key), "{key} missing from {line}");
    }
    let ratio = figures["ops_per_s.embedded"] / figures["ops_per_s.etcd"];
    assert!(
        (ratio - figures["ops_per_s.ratio"]).abs() / ratio < 0.01,
        "ratio is embedded/etcd: {line}"
    );
    assert!(
        stderr.contains("store: etcd pid"),
        "a real etcd ran: {stderr}"
    );
}
