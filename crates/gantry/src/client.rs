//! API clients of the components, each naming itself in its `User-Agent` as upstream's do
//! (`kubelet/v1.33.0 (linux/amd64) gantry`): the API server records a component's writes in
//! `managedFields` under that name when no `fieldManager` is given.

/// A client of the API server at `url` for `component` (`kubelet`, `kube-scheduler`,
/// `kube-controller-manager`).
pub(crate) fn for_component(url: &str, component: &str) -> anyhow::Result<kube::Client> {
    let mut config = kube::Config::new(url.parse()?);
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
