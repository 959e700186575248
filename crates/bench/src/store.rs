//! `gantry-bench store`: the embedded store against a real etcd on the same workload.
//!
//! Workload (per backend, on a fresh data directory under `--dir`): `--writers` concurrent
//! writers share `--keys` keys; each writer creates its keys one by one (compare `Absent`, then
//! put) and, after each create, CAS-updates the key it created before (compare `mod_revision`,
//! then put), `--updates` times per key. Values are `--value-bytes` long and carry the time they
//! were sent, so a watcher on the prefix measures write-to-delivery latency for every event.
//! etcd runs on loopback with its data on the same disk and its default durability (it syncs
//! its WAL before acknowledging), as the embedded store syncs its log.

use crate::percentile;
use anyhow::{Context, bail};
use futures::StreamExt;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use gantry_store::{Condition, Store, Txn, WatchRequest, WatchResponse};
use gantry_testkit::etcd::{EtcdOptions, EtcdServer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Flags of `gantry-bench store`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Concurrent writers.
    #[arg(long, default_value_t = 100)]
    writers: usize,
    /// Keys written (each created once).
    #[arg(long, default_value_t = 10_000)]
    keys: usize,
    /// CAS updates per key after its create.
    #[arg(long, default_value_t = 1)]
    updates: usize,
    /// Value size in bytes (at least 8: the send time).
    #[arg(long, default_value_t = 1024)]
    value_bytes: usize,
    /// Parent directory for both stores' data (one disk for both).
    #[arg(long, default_value = "target/gantry-bench")]
    dir: PathBuf,
}

/// What one backend achieved.
#[derive(Debug)]
struct Figures {
    ops_per_s: f64,
    p99_ms: f64,
    watch_p99_ms: f64,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    if args.value_bytes < 8 || args.writers == 0 || args.keys < args.writers {
        bail!("need --value-bytes >= 8, --writers >= 1 and --keys >= --writers");
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;

    let dir = tempfile::Builder::new()
        .prefix("embedded-")
        .tempdir_in(&args.dir)?;
    let embedded = EmbeddedStore::open(EmbeddedConfig::new(dir.path()))?;
    eprintln!("store: embedded store in {}", dir.path().display());
    let embedded_figures = workload(Arc::new(embedded.clone()), &args).await?;
    let stats = embedded.stats();
    eprintln!(
        "store: embedded {embedded_figures:?}; {} syncs for {} transactions ({:.1} per sync)",
        stats.syncs,
        stats.logged_txns,
        stats.logged_txns as f64 / stats.syncs.max(1) as f64
    );
    drop(embedded);

    let etcd = EtcdServer::start_with(EtcdOptions {
        parent_dir: Some(args.dir.clone()),
        ..EtcdOptions::default()
    })
    .await?;
    eprintln!(
        "store: etcd pid {} at {} in {}",
        etcd.pid(),
        etcd.endpoint(),
        etcd.dir().display()
    );
    let etcd_figures = workload(Arc::new(etcd.client().await?), &args).await?;
    eprintln!("store: etcd {etcd_figures:?}");

    println!(
        "store ops_per_s embedded={:.0} etcd={:.0} ratio={:.2} p99_ms embedded={:.2} etcd={:.2} watch_p99_ms embedded={:.2} etcd={:.2}",
        embedded_figures.ops_per_s,
        etcd_figures.ops_per_s,
        embedded_figures.ops_per_s / etcd_figures.ops_per_s,
        embedded_figures.p99_ms,
        etcd_figures.p99_ms,
        embedded_figures.watch_p99_ms,
        etcd_figures.watch_p99_ms,
    );
    Ok(())
}

async fn workload(store: Arc<dyn Store>, args: &Args) -> anyhow::Result<Figures> {
    let prefix = "/bench/";
    let expected_events = args.keys * (1 + args.updates);
    let base = Instant::now();

    let mut watch = store.watch(WatchRequest::prefix(prefix)).await?;
    let watcher = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(expected_events);
        while latencies.len() < expected_events {
            match watch.next().await {
                Some(Ok(WatchResponse::Events(events))) => {
                    let now = base.elapsed();
                    for event in events {
                        let sent = u64::from_le_bytes(event.kv.value[..8].try_into()?);
                        latencies.push(now.saturating_sub(Duration::from_nanos(sent)));
                    }
                }
                Some(Ok(WatchResponse::Progress { .. })) => {}
                Some(Err(e)) => bail!("watch failed: {e}"),
                None => bail!("watch ended early"),
            }
        }
        Ok(latencies)
    });

    let started = Instant::now();
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let store = Arc::clone(&store);
            let keys: Vec<String> = (w..args.keys)
                .step_by(args.writers)
                .map(|k| format!("{prefix}{k:06}"))
                .collect();
            let (updates, value_bytes) = (args.updates, args.value_bytes);
            tokio::spawn(async move { writer(&*store, keys, updates, value_bytes, base).await })
        })
        .collect();
    let mut latencies = Vec::with_capacity(expected_events);
    for writer in writers {
        latencies.extend(writer.await??);
    }
    let elapsed = started.elapsed();
    let mut watch_latencies = tokio::time::timeout(Duration::from_secs(120), watcher)
        .await
        .context("the watcher did not see every write within two minutes")???;
    Ok(Figures {
        ops_per_s: latencies.len() as f64 / elapsed.as_secs_f64(),
        p99_ms: percentile::millis(&mut latencies, 99.0),
        watch_p99_ms: percentile::millis(&mut watch_latencies, 99.0),
    })
}

/// Creates each key, then CAS-updates the previous one, so creates and updates interleave.
async fn writer(
    store: &dyn Store,
    keys: Vec<String>,
    updates: usize,
    value_bytes: usize,
    base: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(keys.len() * (1 + updates));
    let mut previous: Option<(String, i64)> = None;
    // After each create (and once at the end) the key created before gets its updates.
    for key in keys.into_iter().map(Some).chain([None]) {
        let created = match key {
            Some(key) => {
                let txn = Txn::new()
                    .when(&key, Condition::Absent)
                    .put(&key, value(value_bytes, base));
                let (response, took) = timed(store.txn(txn)).await;
                let response = response?;
                if !response.succeeded {
                    bail!("create of {key} conflicted");
                }
                latencies.push(took);
                Some((key, response.revision))
            }
            None => None,
        };
        if let Some((prev_key, mut revision)) = std::mem::replace(&mut previous, created) {
            for _ in 0..updates {
                revision = update(
                    store,
                    &prev_key,
                    revision,
                    value_bytes,
                    base,
                    &mut latencies,
                )
                .await?;
            }
        }
    }
    Ok(latencies)
}

async fn update(
    store: &dyn Store,
    key: &str,
    revision: i64,
    value_bytes: usize,
    base: Instant,
    latencies: &mut Vec<Duration>,
) -> anyhow::Result<i64> {
    let txn = Txn::new()
        .when(key, Condition::ModRevision(revision))
        .put(key, value(value_bytes, base));
    let (response, took) = timed(store.txn(txn)).await;
    let response = response?;
    if !response.succeeded {
        bail!("CAS update of {key} at {revision} conflicted");
    }
    latencies.push(took);
    Ok(response.revision)
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

/// A value that starts with the time it was made (nanoseconds since `base`), padded to size.
fn value(size: usize, base: Instant) -> Vec<u8> {
    let mut v = vec![b'x'; size];
    v[..8].copy_from_slice(&(base.elapsed().as_nanos() as u64).to_le_bytes());
    v
}
