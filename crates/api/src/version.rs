//! Which Kubernetes this is: the API server's `/version` and every node's `kubeletVersion`
//! report the same release, so that clients (kubectl's dispatcher picks its binary by the minor)
//! and `kubectl get nodes` agree.

/// The Kubernetes minor version Gantry implements.
pub const KUBERNETES_MINOR: &str = "33";

/// The version string as upstream components print it, e.g. `v1.33.0+gantry-0.1.0`.
pub fn git_version() -> String {
    format!(
        "v1.{KUBERNETES_MINOR}.0+gantry-{}",
        env!("CARGO_PKG_VERSION")
    )
}
