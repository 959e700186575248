//! `gantry server`: a control-plane node. Today that is the store and its compaction; the API
//! server, scheduler, controllers, kubelet, proxy and DNS join as their issues land.

use anyhow::Context;
use gantry_store::Store;
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use gantry_store::etcd::EtcdStore;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Flags of `gantry server`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the node keeps its state (the embedded store lives in `<data-dir>/store`).
    #[arg(long, default_value = "/var/lib/gantry")]
    data_dir: PathBuf,
    /// etcd client URLs (comma-separated) to use instead of the embedded store.
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// How often to compact the store's history; `0` turns compaction off (as upstream's
    /// `--etcd-compaction-interval`).
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
    etcd_compaction_interval: Duration,
}

/// What the server does not run yet, and the issue that brings it.
const NOT_YET: &[(&str, u32)] = &[
    ("API server", 3),
    ("kubelet", 4),
    ("scheduler", 5),
    ("controller manager", 6),
    ("service proxy, cluster DNS, pod network", 8),
];

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = if args.etcd_servers.is_empty() {
        let dir = args.data_dir.join("store");
        let store = EmbeddedStore::open(EmbeddedConfig::new(&dir))
            .with_context(|| format!("opening the embedded store in {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), "embedded store open");
        Arc::new(store)
    } else {
        let store = EtcdStore::connect(&args.etcd_servers)
            .await
            .with_context(|| format!("connecting to etcd at {}", args.etcd_servers.join(",")))?;
        tracing::info!(servers = %args.etcd_servers.join(","), "connected to etcd");
        Arc::new(store)
    };
    let revision = store.current_revision().await?;
    tracing::info!(revision, "store ready");
    for (component, issue) in NOT_YET {
        tracing::info!("{component}: not built yet (issue #{issue}); not started");
    }
    tracing::info!("gantry server is running the store only; press Ctrl-C to stop");

    let compaction = async {
        if args.etcd_compaction_interval.is_zero() {
            std::future::pending::<()>().await;
        }
        gantry_store::compaction::run(&*store, args.etcd_compaction_interval, shutdown_signal())
            .await;
    };
    tokio::select! {
        () = compaction => {}
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
