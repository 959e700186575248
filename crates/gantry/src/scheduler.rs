//! `gantry scheduler`: the scheduler alone, for an API server elsewhere (HA and split set-ups).

/// Flags of `gantry scheduler`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (plain http until the security issue brings TLS and tokens).
    #[arg(long)]
    server: String,
    /// The `schedulerName` served (upstream's default profile name by default).
    #[arg(long, default_value = "default-scheduler")]
    scheduler_name: String,
    /// Upstream's `percentageOfNodesToScore` (0 or absent: the adaptive default).
    #[arg(long)]
    percentage_of_nodes_to_score: Option<u32>,
}

/// Runs the scheduler until SIGTERM or Ctrl-C.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let client = kube::Client::try_from(kube::Config::new(args.server.parse()?))?;
    let config = gantry_scheduler::SchedulerConfig {
        name: args.scheduler_name,
        percentage_of_nodes_to_score: args.percentage_of_nodes_to_score,
    };
    gantry_scheduler::run(config, client, crate::server::shutdown_signal()).await
}
