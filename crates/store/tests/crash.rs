//! Crash test: a child process writes with many concurrent writers and prints every write the
//! store acknowledged; the parent SIGKILLs it at a random moment, reopens the store, and checks
//! that every acknowledged write is there at its revision, that revisions only grow across
//! crashes, and that the store opens cleanly. The child is this same test binary, re-run with
//! an environment variable that turns `crash_child` into the writer.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use gantry_store::{Condition, RangeRequest, Store, Txn};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CHILD_DIR: &str = "GANTRY_CRASH_CHILD_DIR";
const CHILD_CYCLE: &str = "GANTRY_CRASH_CHILD_CYCLE";
/// How many kill cycles run (at least 20 in CI; more with `GANTRY_CRASH_CYCLES`).
const DEFAULT_CYCLES: usize = 20;
const WRITERS: usize = 32;
const KEYS_PER_WRITER: usize = 20;

/// One acknowledged write, as the child reported it.
#[derive(Debug)]
struct Ack {
    key: String,
    revision: i64,
    value: String,
}

fn parse(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ack ")?.split(' ');
    let ack = Ack {
        key: parts.next()?.to_owned(),
        revision: parts.next()?.parse().ok()?,
        value: parts.next()?.to_owned(),
    };
    parts.next().is_none().then_some(ack)
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let cycles = std::env::var("GANTRY_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CYCLES);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut floor = 0i64; // every revision of the next cycle must be above this
    let mut total_acks = 0usize;
    for cycle in 0..cycles {
        let acks = run_child_and_kill(dir.path(), cycle);
        assert!(
            !acks.is_empty(),
            "cycle {cycle}: the child acknowledged nothing"
        );
        total_acks += acks.len();
        floor = runtime.block_on(check_after_crash(dir.path(), cycle, &acks, floor));
    }
    eprintln!("{cycles} kill cycles, {total_acks} acknowledged writes checked");
}

/// Runs the child until it has acknowledged some writes, kills it at a random moment after that,
/// and returns every complete acknowledgement line it printed.
fn run_child_and_kill(dir: &Path, cycle: usize) -> Vec<Ack> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_CYCLE, cycle.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child writer");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        // `lines()` yields a final partial line too; only lines that end in '\n' count, since
        // a line cut by the kill may not hold the whole acknowledgement.
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if line.ends_with('\n') && lines_tx.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });
    let mut acks = Vec::new();
    // Wait for the first acknowledgement so every kill lands while writes are in flight.
    while acks.is_empty() {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the child wrote nothing within a minute");
        acks.extend(parse(&line));
    }
    std::thread::sleep(Duration::from_millis(fastrand::u64(5..250)));
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    reader.join().unwrap();
    acks.extend(lines_rx.try_iter().filter_map(|line| parse(&line)));
    acks
}

async fn check_after_crash(dir: &Path, cycle: usize, acks: &[Ack], floor: i64) -> i64 {
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir))
        .unwrap_or_else(|e| panic!("cycle {cycle}: the store must open after SIGKILL: {e}"));
    let current = store.current_revision().await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for ack in acks {
        assert!(
            ack.revision > floor,
            "cycle {cycle}: revision {} is not above {floor}",
            ack.revision
        );
        assert!(
            seen.insert(ack.revision),
            "cycle {cycle}: revision {} acknowledged twice",
            ack.revision
        );
        assert!(
            ack.revision <= current,
            "cycle {cycle}: acknowledged {} > current {current}",
            ack.revision
        );
        let found = store
            .range(RangeRequest::key(ack.key.as_str()).at_revision(ack.revision))
            .await
            .unwrap();
        let kv = found
            .kvs
            .first()
            .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged {ack:?} is missing"));
        assert_eq!(
            (kv.mod_revision, std::str::from_utf8(&kv.value).unwrap()),
            (ack.revision, ack.value.as_str()),
            "cycle {cycle}: acknowledged write {ack:?} differs"
        );
    }
    current
}

/// The child: only active when the parent sets `GANTRY_CRASH_CHILD_DIR`; writes until killed.
#[test]
#[ignore = "run by every_acknowledged_write_survives_sigkill as its child process"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let cycle: usize = std::env::var(CHILD_CYCLE).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let store = EmbeddedStore::open(EmbeddedConfig::new(&dir)).expect("child opens the store");
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for j in 0.. {
                        let key = format!("/crash/w{w}/k{}", j % KEYS_PER_WRITER);
                        let value = format!("c{cycle}-w{w}-j{j}");
                        let current = store.range(RangeRequest::key(key.as_str())).await.unwrap();
                        let condition = match current.kvs.first() {
                            Some(kv) => Condition::ModRevision(kv.mod_revision),
                            None => Condition::Absent,
                        };
                        let txn = Txn::new().when(&key, condition).put(&key, value.clone());
                        let response = store.txn(txn).await.unwrap();
                        assert!(response.succeeded, "each writer owns its keys");
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "ack {key} {} {value}", response.revision).unwrap();
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}
