//! API clients of the components, each naming itself in its `User-Agent` as upstream's do
//! (`kubelet/v1.33.0 (linux/amd64) gantry`): the API server records a component's writes in
//! `managedFields` under that name when no `fieldManager` is given.

use anyhow::Context;
use std::path::PathBuf;

/// Where a component finds the API server, and who it is there.
#[derive(Clone)]
pub(crate) enum Access {
    /// A kubeconfig (its text): server, trusted authority, credentials.
    Kubeconfig(String),
    /// A plain-HTTP URL, for API servers run without TLS (tests and benchmarks of the
    /// libraries); `gantry server` never serves one.
    Plain(String),
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kubeconfig(_) => f.write_str("Kubeconfig"),
            Self::Plain(url) => write!(f, "Plain({url})"),
        }
    }
}

/// The flags by which a component alone (`gantry scheduler`, `gantry controller-manager`)
/// reaches the API server.
#[derive(Debug, clap::Args)]
pub(crate) struct AccessArgs {
    /// A kubeconfig with the server, its authority and this component's credentials
    /// (upstream's `--kubeconfig`).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The URL of an API server run without TLS (library tests and benchmarks).
    #[arg(long, conflicts_with = "kubeconfig")]
    server: Option<String>,
}

impl AccessArgs {
    /// The access these flags describe.
    pub(crate) fn access(&self) -> anyhow::Result<Access> {
        match (&self.kubeconfig, &self.server) {
            (Some(path), _) => Ok(Access::Kubeconfig(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            )),
            (None, Some(url)) => Ok(Access::Plain(url.clone())),
            (None, None) => {
                anyhow::bail!("give --kubeconfig (or --server for a plain-HTTP API server)")
            }
        }
    }
}

/// A client of the API server for `component` (`kubelet`, `kube-scheduler`,
/// `kube-controller-manager`).
pub(crate) async fn for_component(
    access: &Access,
    component: &str,
) -> anyhow::Result<kube::Client> {
    let mut config = match access {
        Access::Plain(url) => kube::Config::new(url.parse()?),
        Access::Kubeconfig(text) => {
            let kubeconfig =
                kube::config::Kubeconfig::from_yaml(text).context("reading the kubeconfig")?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .context("using the kubeconfig")?
        }
    };
    let agent = format!(
        "{component}/{} ({}/{}) gantry",
        gantry_api::version::git_version(),
        std::env::consts::OS,
        if cfg!(target_arch = "x86_64") {
            "amd64"
        } else {
            std::env::consts::ARCH
        }
    );
    config
        .headers
        .push((http::header::USER_AGENT, agent.parse()?));
    Ok(kube::Client::try_from(config)?)
}
