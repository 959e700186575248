//! Serving HTTP/1.1 and HTTP/2 (prior knowledge, upgrade or ALPN) on one listener, over TLS
//! when the API server has a certificate; every request is authenticated and authorized before
//! anything else reads it.

use crate::auth::authenticate::{Peer, authenticate};
use crate::auth::rbac::escalation;
use crate::auth::{attributes, impersonate, user};
use crate::handler::{Body, Handler, MAX_BODY_BYTES, error_response};
use crate::status::ApiError;
use futures::FutureExt;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// How long a client may take to start and finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` completes; each connection is served on its own task,
/// over TLS with `tls`.
pub async fn serve(
    listener: TcpListener,
    handler: Handler,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => serve_connection(stream, handler, Peer::Unsecured, peer).await,
                Some(acceptor) => {
                    let Some(stream) = handshake(&acceptor, stream, peer).await else {
                        return;
                    };
                    let subject = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .and_then(|cert| gantry_pki::identity::certificate_subject(cert).ok());
                    serve_connection(stream, handler, Peer::Tls(subject), peer).await;
                }
            }
        });
    }
}

/// The TLS handshake; a client speaking plain HTTP gets Go's answer to that (what kubectl
/// users of upstream see) instead of a broken connection.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut stream = stream;
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return None,
    }
    // A TLS handshake starts with 0x16; an HTTP request with its method's first letter.
    if first[0].is_ascii_uppercase() {
        let _ = stream
            .write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            .await;
        let _ = stream.shutdown().await;
        return None;
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

async fn serve_connection<S>(stream: S, handler: Handler, client: Peer, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let client = Arc::new(client);
    let service = hyper::service::service_fn(move |request| {
        let handler = handler.clone();
        let client = Arc::clone(&client);
        async move { Ok::<_, Infallible>(handle(&handler, &client, request).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if let Err(error) = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// Authentication, impersonation, then authorization, then the request itself as its user.
async fn handle(handler: &Handler, client: &Peer, request: Request<Incoming>) -> Response<Body> {
    let authorizer = handler.authorizer().clone();
    let user = match authenticate(
        handler.registry(),
        handler.tokens(),
        client,
        request.headers(),
    )
    .await
    {
        Ok(user) => user,
        Err(error) => return error_response(&error),
    };
    let user = match impersonate::impersonated(user, request.headers(), |requester, asked| {
        authorizer.authorize(requester, asked)
    }) {
        Ok(user) => user,
        Err(error) => return error_response(&error),
    };
    let uri = request.uri();
    let asked = attributes::of(request.method(), uri.path(), uri.query());
    if let Err(error) = authorizer.authorize(&user, &asked) {
        return error_response(&error);
    }
    let work = escalation::scoped(authorizer, dispatch(handler, request));
    user::scoped(user, work).await
}

async fn dispatch(handler: &Handler, mut request: Request<Incoming>) -> Response<Body> {
    // exec, attach and port-forward switch protocols: they need the request itself (its
    // upgrade), not a collected body.
    if gantry_streaming::is_upgrade(&request)
        && let Some(target) = crate::node_proxy::StreamTarget::parse(request.uri().path())
    {
        return handler.stream(target, &mut request).await;
    }
    if request.method() == http::Method::GET
        && let Some((node, path)) = crate::node_proxy::parse_node_proxy(request.uri().path())
    {
        return handler
            .proxy_node(&node, &path, request.uri().query())
            .await;
    }
    let (parts, body) = request.into_parts();
    let span = tracing::debug_span!("request", method = %parts.method, path = parts.uri.path());
    let _enter = span.enter();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return error_response(&ApiError::too_large(MAX_BODY_BYTES));
        }
        Err(error) => {
            return error_response(&ApiError::bad_request(format!("reading the body: {error}")));
        }
    };
    drop(_enter);
    // Upstream's panic-recovery filter: a bug while serving one request answers that request
    // with a 500 and is logged; the connection and the server carry on.
    let serving = handler.serve(
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        body,
    );
    match std::panic::AssertUnwindSafe(serving).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(method = %parts.method, path = parts.uri.path(), "panic while serving a request");
            error_response(&ApiError::internal(
                "the server failed while handling the request; see its log",
            ))
        }
    }
}
