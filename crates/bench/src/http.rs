//! A small HTTP/1.1 client for talking to any Kubernetes API server the way clients do: JSON
//! bodies, keep-alive connections, over HTTPS with a kubeconfig's authority and client
//! certificate or bearer token (or plain HTTP to an in-process server).

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// Where the API server is and how to authenticate.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `https://host:port` (or `http://` for a server without TLS).
    pub(crate) server: String,
    /// A bearer token, if the kubeconfig has one.
    pub(crate) token: Option<String>,
    /// The kubeconfig's authority and client certificate, as rustls' configuration.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    /// From `--server`, or the current cluster's `server:` and user's `token:` in a kubeconfig
    /// (a line-based read that covers single-cluster kubeconfigs such as Gantry's).
    pub(crate) fn resolve(server: Option<&str>, kubeconfig: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(server) = server {
            return Ok(Self {
                server: server.trim_end_matches('/').to_owned(),
                token: None,
                tls: None,
            });
        }
        let path = kubeconfig.context("give --server URL or --kubeconfig FILE")?;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let field = |name: &str| {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(name))
                .map(|v| v.trim().trim_matches('"').to_owned())
                .next()
        };
        let server = field("server:").context("no server: in the kubeconfig")?;
        let embedded = |key: &str| gantry_pki::kubeconfig::embedded(&text, key);
        let tls = match embedded("certificate-authority-data") {
            Some(ca) => {
                let cert = embedded("client-certificate-data");
                let key = embedded("client-key-data");
                let identity = cert.as_deref().zip(key.as_deref());
                Some(
                    gantry_pki::tls::client_config(&ca, identity)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                )
            }
            None => None,
        };
        Ok(Self {
            server: server.trim_end_matches('/').to_owned(),
            token: field("token:"),
            tls,
        })
    }
}

/// A pooled client bound to one target.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    target: Target,
}

impl Api {
    pub(crate) fn new(target: Target) -> anyhow::Result<Self> {
        let tls = match (&target.tls, target.server.starts_with("https://")) {
            (Some(tls), _) => Arc::clone(tls),
            (None, true) => bail!(
                "{} is https: give --kubeconfig with its certificate authority",
                target.server
            ),
            // Plain HTTP: a configuration trusting nothing, never used.
            (None, false) => {
                gantry_pki::tls::client_config("", None).map_err(|e| anyhow::anyhow!(e))?
            }
        };
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        // hyper-rustls offers the protocols itself.
        let mut tls = (*tls).clone();
        tls.alpn_protocols.clear();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(connector);
        Ok(Self { client, target })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.target.server))
            .header("accept", "application/json");
        if let Some(token) = &self.target.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(value) => {
                // A PATCH body is a JSON merge patch; everything else is an object.
                let content_type = if method == Method::PATCH {
                    "application/merge-patch+json"
                } else {
                    "application/json"
                };
                builder = builder.header("content-type", content_type);
                Full::new(Bytes::from(value.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        Ok(builder.body(body)?)
    }

    /// Sends a request and returns the status and the whole body.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let response = self
            .client
            .request(self.request(method, path, body)?)
            .await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    /// Sends a request that must succeed.
    pub(crate) async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Bytes> {
        let (status, bytes) = self.send(method.clone(), path, body).await?;
        if !status.is_success() {
            bail!(
                "{method} {path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(bytes)
    }

    /// Opens a streaming GET (a watch); the caller reads the body frame by frame.
    pub(crate) async fn stream(&self, path: &str) -> anyhow::Result<hyper::body::Incoming> {
        let response = self
            .client
            .request(self.request(Method::GET, path, None)?)
            .await?;
        if !response.status().is_success() {
            bail!("GET {path}: {}", response.status());
        }
        Ok(response.into_body())
    }
}
