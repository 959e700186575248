//! Gantry's API server: the only door to the cluster. It speaks upstream Kubernetes 1.33's REST
//! API over HTTP/1.1 and HTTP/2, serving every built-in resource through one generic
//! [`registry`] over the [`gantry_store`] store, where `resourceVersion` is the store revision.
//!
//! Request path: [`server`] (connection, body limit) → [`handler`] (target and verb, content
//! negotiation, the admission point, dispatch) → [`discovery`] or [`registry`] (per-kind
//! [`strategy`]) → store; reads are encoded as JSON or as [`table`]s; [`watch`] streams events.

pub mod admission;
pub mod allocator;
pub mod auth;
pub mod bootstrap;
pub mod builtin_schema;
pub mod convert;
pub mod crd;
pub mod defaulting;
pub mod discovery;
pub mod duplicates;
pub mod encryption;
pub mod field_manager;
pub mod fields;
pub mod follow;
pub mod handler;
pub mod immutable;
pub mod job;
pub mod meta;
pub mod node_proxy;
pub mod openapi;
pub mod openapi_v2;
pub mod priority;
pub mod registry;
pub mod request;
pub mod schema;
pub mod server;
pub mod serviceaccount_admission;
pub mod status;
pub mod storage;
pub mod strategy;
pub mod table;
pub mod tls;
pub mod warnings;
pub mod watch;
pub mod watch_cache;

use gantry_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// How to run the API server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Where Service cluster IPs and node ports come from.
    pub ranges: allocator::Ranges,
    /// Serve TLS with this certificate and verify client certificates against this authority;
    /// without it, plain HTTP with every request trusted (see [`auth`]).
    pub tls: Option<tls::TlsConfig>,
    /// The ServiceAccount token signing key (PKCS#8 PEM) and issuer; without it no tokens are
    /// issued or accepted.
    pub service_accounts: Option<ServiceAccountConfig>,
    /// The address pods reach this API server at, published as the `kubernetes` Service's
    /// endpoints (upstream's `--advertise-address` and secure port); `None` publishes nothing.
    pub advertise: Option<SocketAddr>,
    /// PodSecurity's defaults and exemptions (upstream's `PodSecurityConfiguration`).
    pub pod_security: admission::pod_security::Configuration,
}

/// How ServiceAccount tokens are signed.
#[derive(Clone)]
pub struct ServiceAccountConfig {
    /// The signing key (PKCS#8 PEM).
    pub key_pem: String,
    /// The issuer (upstream's `--service-account-issuer`).
    pub issuer: String,
}

impl std::fmt::Debug for ServiceAccountConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountConfig")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Why the API server could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS configuration is not usable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The built-in objects could not be created.
    #[error("creating the built-in objects: {0}")]
    Bootstrap(status::ApiError),
}

/// A bound API server, ready to serve.
#[derive(Debug)]
pub struct ApiServer {
    listener: tokio::net::TcpListener,
    handler: handler::Handler,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl ApiServer {
    /// Binds the listener and creates the built-in objects (namespaces) if they are missing.
    pub async fn bind(config: Config, store: Arc<dyn Store>) -> Result<Self, Error> {
        let tls = config
            .tls
            .as_ref()
            .map(tls::server_config)
            .transpose()
            .map_err(Error::Tls)?;
        let kubelets = match config.tls.as_ref().map(tls::kubelet_client_config) {
            Some(Ok(Some(client))) => gantry_streaming::Dialer::tls(client),
            Some(Err(e)) => return Err(Error::Tls(e)),
            _ => gantry_streaming::Dialer::default(),
        };
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| Error::Bind {
                addr: config.bind,
                source,
            })?;
        let registry = registry::Registry::new(store, config.ranges.clone())
            .with_pod_security(config.pod_security.clone());
        bootstrap::ensure(&registry, &config.ranges)
            .await
            .map_err(Error::Bootstrap)?;
        // Definitions are served from the first request on, then followed for changes.
        let revision = crd::load(&registry).await.map_err(Error::Bootstrap)?;
        tokio::spawn(crd::follow(registry.clone(), revision));
        if let Some(advertise) = config.advertise {
            let port = listener.local_addr().map_or(advertise.port(), |a| a.port());
            bootstrap::publish_endpoints(&registry, SocketAddr::new(advertise.ip(), port))
                .await
                .map_err(Error::Bootstrap)?;
        }
        auth::rbac::bootstrap::reconcile::ensure(&registry)
            .await
            .map_err(Error::Bootstrap)?;
        admission::webhook::cache::start(&registry)
            .await
            .map_err(Error::Bootstrap)?;
        let policy = auth::rbac::Policy::start(&registry)
            .await
            .map_err(Error::Bootstrap)?;
        // Nodes are told apart only on a secured server (without TLS everyone is a master).
        let mut authorizer = auth::authorize::Authorizer::new(policy);
        if config.tls.is_some() {
            let graph = auth::node::NodeGraph::default();
            follow::start(&registry, graph.clone())
                .await
                .map_err(Error::Bootstrap)?;
            authorizer = authorizer.with_nodes(auth::node::NodeAuthorizer::new(graph));
        }
        let tokens = match &config.service_accounts {
            Some(accounts) => Some(auth::service_account::TokenIssuer::new(
                gantry_pki::jwt::Signer::from_pem(&accounts.key_pem)
                    .map_err(|e| Error::Tls(e.to_string()))?,
                &accounts.issuer,
            )),
            None => None,
        };
        let cache = watch_cache::WatchCache::start(registry.store().clone());
        let address = listener
            .local_addr()
            .map_or_else(|_| config.bind.to_string(), |a| a.to_string());
        Ok(Self {
            listener,
            handler: handler::Handler::new(registry, cache, address, authorizer, tokens)
                .with_kubelets(kubelets),
            tls,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        server::serve(self.listener, self.handler, self.tls, shutdown).await;
    }
}
