//! Gantry's API server in the test's process, on its embedded store and a free loopback port:
//! what the benchmark smoke tests run their suites against.

use gantry_apiserver::{ApiServer, Config, allocator::Ranges};
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use std::net::SocketAddr;
use std::path::Path;
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
}

/// Starts an API server with its store in `dir`, served on `runtime` for as long as the
/// runtime lives; returns its address.
pub fn start(runtime: &tokio::runtime::Runtime, dir: &Path) -> Result<SocketAddr, StartError> {
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir))
        .map_err(|e| StartError::Store(e.to_string()))?;
    let config = Config {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        ranges: Ranges::default(),
        tls: None,
        service_accounts: None,
        advertise: None,
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
