//! `gantry-bench <suite>`: runs one benchmark suite and prints a final line of `key=value`
//! figures, Gantry's beside its anchor's from the same run.

mod api;
mod controllers;
mod http;
mod parallel;
mod percentile;
mod podstart;
mod scheduler;
mod services;
mod store;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "gantry-bench")]
struct Cli {
    #[command(subcommand)]
    suite: Suite,
}

#[derive(Debug, Subcommand)]
enum Suite {
    /// The embedded store against a real etcd: concurrent creates and CAS updates, and watch
    /// delivery latency.
    Store(store::Args),
    /// An API server (Gantry's or any other) under client load: creates, a 10,000-pod list,
    /// and watch fan-out.
    Api(api::Args),
    /// Pod start-up on a real node (create → Running, seen by a watch), one at a time and in
    /// parallel, beside containerd's and runc's own floors.
    Podstart(podstart::Args),
    /// Scheduling throughput and latency (any API server and scheduler), on Node objects
    /// without kubelets.
    Scheduler(scheduler::Args),
    /// Controller throughput (any API server and controller manager): Deployments made
    /// Available on hollow nodes, then rolled to a new template.
    Controllers(controllers::Args),
    /// A node's service proxy and cluster DNS (run as root on a node): rules programmed after
    /// an endpoint change, the full resync, DNS queries per second.
    Services(services::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.suite {
        Suite::Store(args) => runtime.block_on(store::run(args)),
        Suite::Api(args) => runtime.block_on(api::run(args)),
        Suite::Podstart(args) => runtime.block_on(podstart::run(args)),
        Suite::Scheduler(args) => runtime.block_on(scheduler::run(args)),
        Suite::Controllers(args) => runtime.block_on(controllers::run(args)),
        Suite::Services(args) => runtime.block_on(services::run(args)),
    }
}
