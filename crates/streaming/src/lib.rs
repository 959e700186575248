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
use hyper_util::rt::TokioIo;

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

/// Asks `target` the same upgrade `request` asks, and returns the answer for the client. On a
/// `101 Switching Protocols` both connections are joined in the background.
pub async fn proxy_upgrade<B>(
    request: &mut Request<B>,
    target: &Uri,
) -> Result<Response<Full<Bytes>>, ProxyError> {
    let dial = |message: String| ProxyError::Dial {
        target: target.clone(),
        message,
    };
    let authority = target
        .authority()
        .ok_or_else(|| ProxyError::NoHost(target.clone()))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| dial(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| dial(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "upstream connection ended with an error");
        }
    });

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
        .header(header::HOST, authority.as_str())
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

/// Whether `request` asks to switch protocols.
pub fn is_upgrade<B>(request: &Request<B>) -> bool {
    request.headers().contains_key(header::UPGRADE)
}

#[cfg(test)]
mod tests;
