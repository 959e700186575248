//! `gantry server` as a process: it opens its store, says what it runs and what it does not yet,
//! and stops cleanly on SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `gantry server` with `args`, waits for the line saying it runs, and returns the
/// process with everything it logged so far.
#[allow(
    clippy::zombie_processes,
    reason = "the caller waits for the child in terminate()"
)]
fn start(args: &[&str]) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .arg("server")
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gantry server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("gantry server did not come up; logged: {lines:#?}"));
        let done = line.contains("running the store only");
        lines.push(line);
        if done {
            return (child, lines);
        }
    }
}

fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "gantry server exited with {exit}");
}

#[test]
fn server_runs_the_embedded_store_and_says_what_is_not_built_yet() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (child, lines) = start(&["--data-dir", data]);
    let log = lines.join("\n");
    assert!(log.contains("embedded store open"), "{log}");
    assert!(
        log.contains("API server: not built yet (issue #3)"),
        "{log}"
    );
    assert!(dir.path().join("store/store.log").exists());
    terminate(child);
}

#[test]
fn server_refuses_a_data_directory_another_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (first, _) = start(&["--data-dir", data]);
    let second = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["server", "--data-dir", data])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another process"), "{err}");
    terminate(first);
}

#[test]
fn server_runs_on_a_real_etcd_when_given_its_address() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let etcd = runtime
        .block_on(gantry_testkit::etcd::EtcdServer::start())
        .expect("start etcd");
    let (child, lines) = start(&["--etcd-servers", etcd.endpoint()]);
    let log = lines.join("\n");
    assert!(log.contains("connected to etcd"), "{log}");
    terminate(child);
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
