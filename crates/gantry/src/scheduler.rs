//! `gantry scheduler`: the scheduler alone, for an API server elsewhere (HA and split set-ups).

/// Flags of `gantry scheduler`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    access: crate::client::AccessArgs,
    /// A `KubeSchedulerConfiguration` file (profiles, plugins and their weights and
    /// arguments, `percentageOfNodesToScore`, leader election).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// The `schedulerName` of the single profile when no file is given.
    #[arg(long, default_value = "default-scheduler")]
    scheduler_name: String,
    /// Upstream's `percentageOfNodesToScore` for every profile (0: the adaptive default).
    #[arg(long)]
    percentage_of_nodes_to_score: Option<u32>,
    /// Take part in leader election through the `kube-system/kube-scheduler` Lease, so that
    /// several schedulers run with one active (upstream's `--leader-elect`, on by default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
}

/// Runs the scheduler until SIGTERM or Ctrl-C.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let client = crate::client::for_component(&args.access.access()?, "kube-scheduler").await?;
    let mut config = match &args.config {
        Some(path) => gantry_scheduler::SchedulerConfig::from_file(path)?,
        None => {
            let mut config = gantry_scheduler::SchedulerConfig::default();
            config.profiles[0].name = args.scheduler_name.clone();
            config
        }
    };
    if let Some(percentage) = args.percentage_of_nodes_to_score {
        for profile in &mut config.profiles {
            profile.percentage_of_nodes_to_score = Some(percentage).filter(|p| *p > 0);
        }
    }
    // The flag wins over the file only when it turns election off.
    config.leader_election.leader_elect &= args.leader_elect;
    gantry_scheduler::run(config, client, crate::server::shutdown_signal()).await
}
