//! The node's HTTP endpoints, which the API server calls on behalf of clients (upstream's
//! kubelet server on port 10250): `/healthz`, `/stats/summary`,
//! `/containerLogs/<ns>/<pod>/<container>`, `/exec`, `/attach` and `/portForward`. Served over
//! TLS with a self-signed certificate, to callers whose client certificates the cluster
//! authority signed and whom the API server authorizes ([`crate::server_auth`]); plain and
//! open only where the node was given no authority (in-process test clusters).

use crate::logs::{self, LogOptions};
use crate::pods::PodContext;
use crate::pods::runtime_state::{POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL, PodRuntime};
use crate::server_auth::Caller;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_cri::v1 as cri;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

type Body = BoxBody<Bytes, Infallible>;

fn text(code: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(BoxBody::new(Full::new(Bytes::from(message.into()))));
    *response.status_mut() = code;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// How callers are checked: the TLS configuration (serving certificate, client authority)
/// and the authorizer.
#[derive(Debug)]
pub struct Security {
    /// rustls' server configuration.
    pub tls: Arc<rustls::ServerConfig>,
    /// Asks the API server.
    pub authorizer: crate::server_auth::Authorizer,
}

/// The caller a TLS connection's verified client certificate names, if it presented one.
fn caller_of(connection: &rustls::ServerConnection) -> Option<Caller> {
    let der = connection.peer_certificates()?.first()?;
    let subject = gantry_pki::identity::certificate_subject(der).ok()?;
    if subject.common_name.is_empty() {
        return None;
    }
    Some(Caller {
        user: subject.common_name,
        groups: subject.organizations,
    })
}

/// The bearer token of a request, if it carries one.
fn bearer<B>(request: &Request<B>) -> Option<&str> {
    let value = request
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Answers `request` for `caller` after checking it, when the node checks callers.
async fn checked(
    ctx: &Arc<PodContext>,
    security: Option<&Security>,
    caller: Option<&Caller>,
    request: Request<Incoming>,
) -> Response<Body> {
    if let Some(security) = security {
        let from_token = match (caller, bearer(&request)) {
            (None, Some(token)) => security.authorizer.authenticate_token(token).await,
            _ => None,
        };
        let Some(caller) = caller.or(from_token.as_ref()) else {
            return text(StatusCode::UNAUTHORIZED, "Unauthorized");
        };
        let asked = crate::server_auth::asked(request.method(), request.uri().path());
        if let Err(message) = security.authorizer.authorize(caller, &asked).await {
            return text(StatusCode::FORBIDDEN, message);
        }
    }
    route(ctx, request).await
}

/// Serves on `listener` until `shutdown` changes.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<PodContext>,
    security: Option<Arc<Security>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let ctx = Arc::clone(&ctx);
        let security = security.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let serve = |caller: Option<Caller>| {
                let security = security.clone();
                let ctx = Arc::clone(&ctx);
                hyper::service::service_fn(move |request| {
                    let (ctx, security, caller) =
                        (Arc::clone(&ctx), security.clone(), caller.clone());
                    async move {
                        let response =
                            checked(&ctx, security.as_deref(), caller.as_ref(), request).await;
                        Ok::<_, Infallible>(response)
                    }
                })
            };
            let result = match &security {
                Some(checks) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&checks.tls));
                    match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let caller = caller_of(tls.get_ref().1);
                            builder
                                .serve_connection_with_upgrades(TokioIo::new(tls), serve(caller))
                                .await
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "a TLS handshake failed");
                            return;
                        }
                    }
                }
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), serve(None))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "kubelet connection ended with an error");
            }
        });
    }
}

async fn route(ctx: &Arc<PodContext>, mut request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (request.method(), parts.as_slice()) {
        (&http::Method::GET, ["healthz"]) => text(StatusCode::OK, "ok"),
        (&http::Method::GET, ["stats", "summary"]) => {
            match crate::stats::summary(ctx, ctx.pods_root.parent().unwrap_or(&ctx.pods_root)).await
            {
                Ok(summary) => {
                    let mut response = text(StatusCode::OK, summary.to_string());
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    response
                }
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.message().to_owned()),
            }
        }
        (&http::Method::GET, ["containerLogs", namespace, pod, container]) => {
            container_logs(ctx, namespace, pod, container, &query).await
        }
        (
            &http::Method::GET | &http::Method::POST,
            [kind @ ("exec" | "attach"), namespace, pod, container],
        ) => {
            let kind = *kind;
            match crate::streams::stream_url(ctx, kind, namespace, pod, Some(container), &query)
                .await
            {
                Ok(url) => pass_upgrade(&mut request, &url).await,
                Err((code, message)) => text(code, message),
            }
        }
        (&http::Method::GET | &http::Method::POST, ["portForward", namespace, pod]) => {
            match crate::streams::stream_url(ctx, "portforward", namespace, pod, None, &query).await
            {
                Ok(url) => pass_upgrade(&mut request, &url).await,
                Err((code, message)) => text(code, message),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

/// Hands the client's upgrade to the runtime's streaming server at `url`.
async fn pass_upgrade(request: &mut Request<Incoming>, url: &str) -> Response<Body> {
    let Ok(target) = url.parse::<http::Uri>() else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the runtime gave an invalid URL {url:?}"),
        );
    };
    match gantry_streaming::proxy_upgrade(request, &target).await {
        Ok(response) => response.map(BoxBody::new),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The UID of the newest sandbox of `namespace/name` on this node.
pub(crate) async fn pod_uid(
    ctx: &PodContext,
    namespace: &str,
    name: &str,
) -> Result<Option<String>, tonic::Status> {
    let labels = HashMap::from([
        (POD_NAME_LABEL.to_owned(), name.to_owned()),
        (POD_NAMESPACE_LABEL.to_owned(), namespace.to_owned()),
    ]);
    let sandboxes = ctx
        .cri
        .runtime
        .clone()
        .list_pod_sandbox(cri::ListPodSandboxRequest {
            filter: Some(cri::PodSandboxFilter {
                label_selector: labels,
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .items;
    Ok(sandboxes
        .into_iter()
        .max_by_key(|s| s.created_at)
        .and_then(|s| s.labels.get(POD_UID_LABEL).cloned()))
}

async fn container_logs(
    ctx: &Arc<PodContext>,
    namespace: &str,
    pod: &str,
    container: &str,
    query: &str,
) -> Response<Body> {
    let options = match LogOptions::from_query(query, crate::clock::now_secs()) {
        Ok(options) => options,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let uid = match pod_uid(ctx, namespace, pod).await {
        Ok(Some(uid)) => uid,
        Ok(None) => {
            return text(
                StatusCode::NOT_FOUND,
                format!("pod \"{pod}\" not found on this node"),
            );
        }
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.message().to_owned()),
    };
    let runtime = match PodRuntime::read(&ctx.cri, &uid).await {
        Ok(runtime) => runtime,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.message().to_owned()),
    };
    let instance = if options.previous {
        runtime.previous(container)
    } else {
        runtime.latest(container)
    };
    let Some(instance) = instance.cloned() else {
        let message = if options.previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            format!(
                "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
            )
        };
        return text(StatusCode::BAD_REQUEST, message);
    };
    let path = ctx
        .log_root
        .join(format!("{namespace}_{pod}_{uid}"))
        .join(container)
        .join(format!("{}.log", instance.attempt));
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let cri = ctx.cri.clone();
    let id = instance.id.clone();
    let running = move || -> futures::future::BoxFuture<'static, bool> {
        let cri = cri.clone();
        let id = id.clone();
        Box::pin(async move {
            cri.runtime
                .clone()
                .container_status(cri::ContainerStatusRequest {
                    container_id: id,
                    verbose: false,
                })
                .await
                .is_ok_and(|r| {
                    r.into_inner()
                        .status
                        .is_some_and(|s| s.state == cri::ContainerState::ContainerRunning as i32)
                })
        })
    };
    tokio::spawn(async move {
        if let Err(e) = logs::stream(path, options, tx, running).await {
            tracing::debug!(error = %e, "streaming a container log failed");
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    let mut response = Response::new(BoxBody::new(StreamBody::new(body)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}
