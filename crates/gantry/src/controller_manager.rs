//! `gantry controller-manager`: the controllers alone, for an API server elsewhere (HA and
//! split set-ups).

/// Flags of `gantry controller-manager`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    access: crate::client::AccessArgs,
    /// Take part in leader election through the `kube-system/kube-controller-manager` Lease,
    /// so that several controller managers run with one active (upstream's `--leader-elect`,
    /// on by default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Lease duration, in seconds (upstream's `--leader-elect-lease-duration`, 15 s).
    #[arg(long, default_value_t = 15)]
    leader_elect_lease_duration: u64,
    /// Renew deadline, in seconds (upstream's `--leader-elect-renew-deadline`, 10 s).
    #[arg(long, default_value_t = 10)]
    leader_elect_renew_deadline: u64,
    /// Retry period, in seconds (upstream's `--leader-elect-retry-period`, 2 s).
    #[arg(long, default_value_t = 2)]
    leader_elect_retry_period: u64,
    /// How long a node may go without a heartbeat before it is `Unknown` and tainted
    /// (upstream's `--node-monitor-grace-period`).
    #[arg(long, default_value = "40s", value_parser = crate::duration::parse)]
    node_monitor_grace_period: std::time::Duration,
    /// Where the built-in `local-path` provisioner keeps volumes on the nodes.
    #[arg(long, default_value = "/var/lib/gantry/storage")]
    local_path_dir: std::path::PathBuf,
    /// The cluster's pod range (upstream's `--cluster-cidr`).
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: gantry_api::cidr::Ipv4Cidr,
    #[command(flatten)]
    ipam: IpamArgs,
    /// The cluster authority's certificate, published as `kube-root-ca.crt` in every
    /// namespace (upstream's `--root-ca-file`).
    #[arg(long)]
    root_ca_file: Option<std::path::PathBuf>,
}

/// How nodes get their pod ranges (upstream's controller-manager flags), shared with
/// `gantry server`.
#[derive(Debug, clap::Args)]
pub(crate) struct IpamArgs {
    /// Give every Node a slice of the cluster's pod range as its `spec.podCIDR` (upstream's
    /// `--allocate-node-cidrs`; on, as in k3s).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    allocate_node_cidrs: bool,
    /// The size of each node's slice (upstream's `--node-cidr-mask-size`).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u8).range(8..=30))]
    node_cidr_mask_size: u8,
}

impl IpamArgs {
    /// The allocator's settings for the cluster range `cluster`: `(range, mask)`.
    pub(crate) fn allocation(
        &self,
        cluster: gantry_api::cidr::Ipv4Cidr,
    ) -> anyhow::Result<Option<gantry_api::cidr::Ipv4Cidr>> {
        if !self.allocate_node_cidrs {
            return Ok(None);
        }
        anyhow::ensure!(
            self.node_cidr_mask_size >= cluster.prefix(),
            "--node-cidr-mask-size {} is larger than the cluster range {cluster}",
            self.node_cidr_mask_size
        );
        Ok(Some(cluster))
    }

    /// The size of each node's slice.
    pub(crate) fn mask(&self) -> u8 {
        self.node_cidr_mask_size
    }
}

/// Runs the controller manager until SIGTERM or Ctrl-C.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let client =
        crate::client::for_component(&args.access.access()?, "kube-controller-manager").await?;
    let seconds = std::time::Duration::from_secs;
    let config = gantry_controllers::Config {
        leader_elect: args.leader_elect,
        lease: gantry_client::leader::Timing {
            lease_duration: seconds(args.leader_elect_lease_duration),
            renew_deadline: seconds(args.leader_elect_renew_deadline),
            retry_period: seconds(args.leader_elect_retry_period),
        },
        node_monitor_grace_period: args.node_monitor_grace_period,
        local_path_dir: args.local_path_dir,
        cluster_cidr: args.ipam.allocation(args.cluster_cidr)?,
        node_cidr_mask_size: args.ipam.mask(),
        root_ca: args
            .root_ca_file
            .as_ref()
            .map(|path| {
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("--root-ca-file {}: {e}", path.display()))
            })
            .transpose()?,
        ..gantry_controllers::Config::default()
    };
    gantry_controllers::run(config, client, crate::server::shutdown_signal()).await
}
