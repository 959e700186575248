//! gRPC probes: the standard health service (`grpc.health.v1.Health/Check`) asked over plain
//! HTTP/2, as upstream's prober does, with its failure wording.

use std::time::Duration;

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

/// The serving statuses of the health protocol, by number.
fn status_name(status: i32) -> &'static str {
    match status {
        1 => "SERVING",
        2 => "NOT_SERVING",
        3 => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    }
}

/// Asks `host:port` whether `service` is serving, within `timeout`.
pub async fn check(host: &str, port: u16, service: &str, timeout: Duration) -> Result<(), String> {
    let address = format!("{host}:{port}");
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint.connect().await.map_err(|_| {
        format!(
            "timeout: failed to connect service \"{address}\" within {}s",
            timeout.as_secs()
        )
    })?;
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.map_err(|e| e.to_string())?;
    let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    let request = tonic::Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    let reply = client.unary(request, path, codec).await.map_err(|status| {
        if status.code() == tonic::Code::Cancelled || status.code() == tonic::Code::DeadlineExceeded
        {
            format!(
                "timeout: health rpc did not complete within {}s",
                timeout.as_secs()
            )
        } else {
            format!("error: health rpc probe failed: {}", status.message())
        }
    })?;
    match reply.into_inner().status {
        1 => Ok(()),
        other => Err(format!(
            "service unhealthy (responded with \"{}\")",
            status_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::Frame;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    /// A health server that answers every check with `status`, framed by hand.
    async fn health_server(status: u8) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: http::Request<hyper::body::Incoming>| async move {
                            assert_eq!(request.uri().path(), "/grpc.health.v1.Health/Check");
                            // One length-prefixed message (field 1 = status), then the trailers.
                            let message = Bytes::from(vec![0, 0, 0, 0, 2, 0x08, status]);
                            let mut trailers = http::HeaderMap::new();
                            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                            let frames = futures::stream::iter([
                                Ok::<_, std::convert::Infallible>(Frame::data(message)),
                                Ok(Frame::trailers(trailers)),
                            ]);
                            let body = StreamBody::new(frames).boxed();
                            let response = http::Response::builder()
                                .header("content-type", "application/grpc")
                                .body(body)
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn serving_passes_and_not_serving_fails_with_upstreams_words() {
        let serving = health_server(1).await;
        assert_eq!(
            check("127.0.0.1", serving, "", Duration::from_secs(1)).await,
            Ok(())
        );
        let failing = health_server(2).await;
        assert_eq!(
            check("127.0.0.1", failing, "", Duration::from_secs(1)).await,
            Err("service unhealthy (responded with \"NOT_SERVING\")".to_owned())
        );
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = check("127.0.0.1", closed, "", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            error.starts_with("timeout: failed to connect service"),
            "{error}"
        );
    }
}
