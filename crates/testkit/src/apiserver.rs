//! Gantry's API server in the test's process, on its embedded store and a free loopback port:
//! what the benchmark smoke tests run their suites against — over plain HTTP, or over TLS
//! with an authority of its own and an admin kubeconfig, as `gantry server` serves.

use gantry_apiserver::{ApiServer, Config, allocator::Ranges};
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store would not open.
    #[error("opening the embedded store: {0}")]
    Store(String),
    /// The server would not bind.
    #[error("binding the API server: {0}")]
    Bind(String),
    /// Certificates or the kubeconfig could not be made.
    #[error("making the server's certificates: {0}")]
    Pki(String),
}

/// Starts an API server with its store in `dir`, served on `runtime` for as long as the
/// runtime lives; returns its address.
pub fn start(runtime: &tokio::runtime::Runtime, dir: &Path) -> Result<SocketAddr, StartError> {
    serve(runtime, dir, None)
}

/// Starts an API server over TLS (store in `dir/store`) with a new authority; returns its
/// address and the path of an admin kubeconfig (`dir/admin.kubeconfig`, a client certificate
/// in `system:masters`).
pub fn start_tls(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
) -> Result<(SocketAddr, PathBuf), StartError> {
    let pki = |e: gantry_pki::Error| StartError::Pki(e.to_string());
    let authority = gantry_pki::Authority::generate("testkit-ca").map_err(pki)?;
    let serving = authority
        .issue(&gantry_pki::Leaf::server(
            "kube-apiserver",
            vec!["localhost".to_owned()],
            vec![[127, 0, 0, 1].into()],
        ))
        .map_err(pki)?;
    let admin = authority
        .issue(&gantry_pki::Leaf::client(
            "system:admin",
            &["system:masters"],
        ))
        .map_err(pki)?;
    let tls = gantry_apiserver::tls::TlsConfig {
        cert_pem: serving.cert_pem,
        key_pem: serving.key_pem,
        client_ca_pem: authority.cert_pem().to_owned(),
        kubelet_client: None,
    };
    let address = serve(runtime, &dir.join("store"), Some(tls))?;
    let kubeconfig = gantry_pki::kubeconfig::render(
        "testkit",
        &format!("https://{address}"),
        authority.cert_pem(),
        &gantry_pki::kubeconfig::Credentials::Certificate {
            cert_pem: &admin.cert_pem,
            key_pem: &admin.key_pem,
        },
    );
    let path = dir.join("admin.kubeconfig");
    std::fs::write(&path, kubeconfig).map_err(|e| StartError::Pki(e.to_string()))?;
    Ok((address, path))
}

fn serve(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    tls: Option<gantry_apiserver::tls::TlsConfig>,
) -> Result<SocketAddr, StartError> {
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir))
        .map_err(|e| StartError::Store(e.to_string()))?;
    let config = Config {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        ranges: Ranges::default(),
        tls,
        service_accounts: None,
        advertise: None,
        pod_security: Default::default(),
    };
    let server = runtime
        .block_on(ApiServer::bind(config, Arc::new(store)))
        .map_err(|e| StartError::Bind(e.to_string()))?;
    let address = server
        .local_addr()
        .map_err(|e| StartError::Bind(e.to_string()))?;
    runtime.spawn(server.run(std::future::pending()));
    Ok(address)
}
