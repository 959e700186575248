//! Calling one webhook: HTTPS (verified against its `caBundle`) to its `url`, or to its
//! Service (a ready endpoint of it, verified as `<service>.<namespace>.svc`), an
//! `AdmissionReview` POSTed as JSON, the answer read back, all within `timeoutSeconds`
//! (default 10).

use crate::registry::Registry;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read (upstream's request limit).
const MAX_ANSWER: usize = 3 * 1024 * 1024;

/// Where to connect, the name the certificate must carry, and the path.
struct Target {
    address: String,
    server_name: String,
    path: String,
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

async fn target(registry: &Registry, config: &Value) -> Result<Target, String> {
    if let Some(url) = config.get("url").and_then(Value::as_str) {
        let uri: http::Uri = url.parse().map_err(|e| format!("url {url:?}: {e}"))?;
        if uri.scheme_str() != Some("https") {
            return Err(format!("url {url:?}: webhooks are called over https"));
        }
        let host = uri
            .host()
            .ok_or("a url without a host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let path = uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        return Ok(Target {
            address,
            server_name: host,
            path,
        });
    }
    let service = config
        .get("service")
        .ok_or("clientConfig names neither a url nor a service")?;
    let (namespace, name) = (text(service, "/namespace"), text(service, "/name"));
    let port = service.get("port").and_then(Value::as_i64).unwrap_or(443);
    let services = gantry_api::catalogue::find("", "v1", "services").ok_or("no services")?;
    let object = registry
        .get(services, Some(namespace), name)
        .await
        .map_err(|e| format!("service {namespace}/{name}: {}", e.message))?;
    let port_entry = object
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("port").and_then(Value::as_i64) == Some(port))
        .ok_or_else(|| format!("service {namespace}/{name} has no port {port}"))?;
    let port_name = text(port_entry, "/name").to_owned();
    let slices = super::super::list_discovery_slices(registry, namespace, name).await?;
    for slice in &slices {
        let Some(slice_port) = slice
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| text(p, "/name") == port_name)
            .and_then(|p| p.get("port").and_then(Value::as_i64))
        else {
            continue;
        };
        let ready = slice
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false));
        if let Some(address) = ready
            .and_then(|e| e.pointer("/addresses/0"))
            .and_then(Value::as_str)
        {
            return Ok(Target {
                address: format!("{address}:{slice_port}"),
                server_name: format!("{name}.{namespace}.svc"),
                path: Some(text(service, "/path"))
                    .filter(|p| !p.is_empty())
                    .unwrap_or("/")
                    .to_owned(),
            });
        }
    }
    Err(format!("service {namespace}/{name} has no ready endpoints"))
}

fn tls(config: &Value) -> Result<Arc<rustls::ClientConfig>, String> {
    let bundle = text(config, "/caBundle");
    if bundle.is_empty() {
        return Err("clientConfig has no caBundle to verify the webhook with".into());
    }
    let pem = base64::engine::general_purpose::STANDARD
        .decode(bundle)
        .map_err(|e| format!("caBundle: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.map_err(|e| format!("caBundle: {e}"))?)
            .map_err(|e| format!("caBundle: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// POSTs `review` to `webhook` and returns its answer.
pub async fn call(registry: &Registry, webhook: &Value, review: &Value) -> Result<Value, String> {
    let seconds = webhook
        .get("timeoutSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(10)
        .clamp(1, 30);
    let config = webhook
        .get("clientConfig")
        .ok_or("the webhook has no clientConfig")?;
    let work = async {
        let target = target(registry, config).await?;
        let connector = tokio_rustls::TlsConnector::from(tls(config)?);
        let url = format!("https://{}{}", target.server_name, target.path);
        let fail = |e: &dyn std::fmt::Display| format!("failed to call webhook: Post {url:?}: {e}");
        let tcp = tokio::net::TcpStream::connect(&target.address)
            .await
            .map_err(|e| fail(&e))?;
        let name = ServerName::try_from(target.server_name.clone()).map_err(|e| fail(&e))?;
        let stream = connector.connect(name, tcp).await.map_err(|e| fail(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| fail(&e))?;
        tokio::spawn(connection);
        let request = http::Request::post(target.path.as_str())
            .header(http::header::HOST, target.server_name.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(review.to_string())))
            .map_err(|e| fail(&e))?;
        let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| fail(&e))?
            .to_bytes();
        if !status.is_success() {
            return Err(fail(&format!("the webhook answered {status}")));
        }
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| fail(&format!("the answer is not JSON: {e}")))
    };
    tokio::time::timeout(Duration::from_secs(seconds), work)
        .await
        .map_err(|_| {
            format!("failed to call webhook: context deadline exceeded (timeout {seconds}s)")
        })?
}
