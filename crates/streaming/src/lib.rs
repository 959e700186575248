//! Passing an upgrade request (SPDY/3.1 or WebSocket: `exec`, `attach`, `portforward`) on to
//! the next hop and, once that hop switches protocols, copying bytes both ways until either
//! side closes — as upstream's API server passes these to the kubelet, and the kubelet to the
//! runtime's streaming server. Neither hop looks inside the stream: the protocols are spoken
//! end to end by the client and the runtime.
//!
//! A hop that refuses the upgrade (for example a runtime that does not speak the WebSocket
//! sub-protocol a client offers first) has its answer passed back unchanged, which is what
//! makes kubectl fall back to SPDY.

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::sync::Arc;

/// Why the next hop could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The target URL has no host and port.
    #[error("the target {0} has no host")]
    NoHost(Uri),
    /// Connecting or talking HTTP to the next hop failed.
    #[error("error dialing {target}: {message}")]
    Dial {
        /// Where.
        target: Uri,
        /// What went wrong.
        message: String,
    },
}

/// Headers that describe one hop's connection, not the request, plus credentials meant for
/// this hop only.
fn hop_only(name: &header::HeaderName) -> bool {
    name == header::HOST || name == header::AUTHORIZATION || name == header::CONTENT_LENGTH
}

/// What a hop's connection is: TCP, or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// How the next hop is reached: plain TCP (the kubelet to its runtime's streaming server), or
/// TLS presenting a client certificate (the API server to kubelets).
#[derive(Clone, Default)]
pub struct Dialer {
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Dialer {
    /// Dials over TLS with `config`.
    pub fn tls(config: Arc<rustls::ClientConfig>) -> Self {
        Self { tls: Some(config) }
    }

    /// `https` or `http`, as it dials.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Opens an HTTP/1.1 connection to `target` (with upgrades); returns the sender and the
    /// `host:port` to name in `Host`.
    async fn connect(
        &self,
        target: &Uri,
    ) -> Result<(SendRequest<Empty<Bytes>>, String), ProxyError> {
        let dial = |message: String| ProxyError::Dial {
            target: target.clone(),
            message,
        };
        let authority = target
            .authority()
            .ok_or_else(|| ProxyError::NoHost(target.clone()))?
            .clone();
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| dial(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let io: Box<dyn Io> = match &self.tls {
            Some(config) => {
                let name = ServerName::try_from(host).map_err(|e| dial(e.to_string()))?;
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
                Box::new(
                    connector
                        .connect(name, stream)
                        .await
                        .map_err(|e| dial(e.to_string()))?,
                )
            }
            None => Box::new(stream),
        };
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| dial(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok((sender, authority.as_str().to_owned()))
    }

    /// A GET of `target`, answered as the hop answers (the body streams).
    pub async fn get(&self, target: &Uri) -> Result<Response<Incoming>, ProxyError> {
        let dial = |message: String| ProxyError::Dial {
            target: target.clone(),
            message,
        };
        let (mut sender, host) = self.connect(target).await?;
        let request = Request::builder()
            .uri(target.path_and_query().map_or("/", |p| p.as_str()))
            .header(header::HOST, host)
            .body(Empty::<Bytes>::new())
            .map_err(|e| dial(e.to_string()))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| dial(e.to_string()))
    }

    /// Asks `target` the same upgrade `request` asks, and returns the answer for the client.
    /// On a `101 Switching Protocols` both connections are joined in the background.
    pub async fn proxy_upgrade<B>(
        &self,
        request: &mut Request<B>,
        target: &Uri,
    ) -> Result<Response<Full<Bytes>>, ProxyError> {
        let dial = |message: String| ProxyError::Dial {
            target: target.clone(),
            message,
        };
        let (mut sender, host) = self.connect(target).await?;
        let path = target.path_and_query().map_or("/", |p| p.as_str());
        let mut outgoing = Request::builder()
            .method(request.method().clone())
            .uri(path);
        for (name, value) in request.headers() {
            if !hop_only(name) {
                outgoing = outgoing.header(name, value);
            }
        }
        let outgoing = outgoing
            .header(header::HOST, host)
            .body(Empty::<Bytes>::new())
            .map_err(|e| dial(e.to_string()))?;
        let mut response = sender
            .send_request(outgoing)
            .await
            .map_err(|e| dial(e.to_string()))?;

        let mut reply = Response::builder().status(response.status());
        for (name, value) in response.headers() {
            reply = reply.header(name, value);
        }
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return reply.body(Full::new(body)).map_err(|e| dial(e.to_string()));
        }
        let upstream = hyper::upgrade::on(&mut response);
        let downstream = hyper::upgrade::on(request);
        tokio::spawn(async move {
            match tokio::join!(downstream, upstream) {
                (Ok(client), Ok(server)) => {
                    let (mut client, mut server) = (TokioIo::new(client), TokioIo::new(server));
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut server).await {
                        tracing::debug!(error = %e, "an upgraded stream ended with an error");
                    }
                }
                (client, server) => {
                    tracing::debug!(client = ?client.err(), server = ?server.err(), "an upgrade did not complete");
                }
            }
        });
        reply
            .body(Full::new(Bytes::new()))
            .map_err(|e| dial(e.to_string()))
    }
}

/// [`Dialer::proxy_upgrade`] over plain TCP.
pub async fn proxy_upgrade<B>(
    request: &mut Request<B>,
    target: &Uri,
) -> Result<Response<Full<Bytes>>, ProxyError> {
    Dialer::default().proxy_upgrade(request, target).await
}

/// Whether `request` asks to switch protocols.
pub fn is_upgrade<B>(request: &Request<B>) -> bool {
    request.headers().contains_key(header::UPGRADE)
}

#[cfg(test)]
mod tests;
