//! kube-rs clients of a test server.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use super::Server;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A kube-rs client configured from the admin kubeconfig the server wrote.
pub(crate) async fn client(server: &Server) -> Client {
    let kubeconfig = Kubeconfig::read_from(&server.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}
