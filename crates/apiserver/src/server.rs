//! Serving HTTP/1.1 and HTTP/2 (prior knowledge or upgrade) on one listener.

use crate::handler::{Body, Handler, MAX_BODY_BYTES, error_response};
use crate::status::ApiError;
use futures::FutureExt;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::future::Future;
use tokio::net::TcpListener;

/// Accepts connections until `shutdown` completes; each connection is served on its own task.
pub async fn serve(listener: TcpListener, handler: Handler, shutdown: impl Future<Output = ()>) {
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
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handle(&handler, request).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(error) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
}

async fn handle(handler: &Handler, mut request: Request<Incoming>) -> Response<Body> {
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
