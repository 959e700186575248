//! The pod subresources a node serves: the API server checks the request against the pod
//! (which container, is it waiting, is the pod on a node) with upstream's messages, then passes
//! it to the node's endpoints at the address and port the Node reports, streaming the answer
//! back.

use crate::handler::Body;
use crate::registry::Registry;
use crate::request::Query;
use crate::status::ApiError;
use bytes::Bytes;
use futures::StreamExt;
use gantry_api::catalogue;
use gantry_streaming::Dialer;
use http::Response;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use std::convert::Infallible;

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect()
}

/// The container a log request means, as upstream's `LogLocation` decides it.
pub fn log_container(pod: &Value, name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let containers = names(&pod["spec"]["containers"]);
    let inits = names(&pod["spec"]["initContainers"]);
    match asked.filter(|c| !c.is_empty()) {
        Some(container) => {
            let ephemeral = names(&pod["spec"]["ephemeralContainers"]);
            if containers.contains(&container)
                || inits.contains(&container)
                || ephemeral.contains(&container)
            {
                Ok(container.to_owned())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {container} is not valid for pod {name}"
                )))
            }
        }
        None => match containers.as_slice() {
            [only] => Ok((*only).to_owned()),
            [] => Err(ApiError::bad_request(format!(
                "pod {name} does not have a container"
            ))),
            _ => {
                let mut message = format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                );
                if !inits.is_empty() {
                    message.push_str(&format!(
                        " or one of the init containers: [{}]",
                        inits.join(" ")
                    ));
                }
                Err(ApiError::bad_request(message))
            }
        },
    }
}

/// Refuses logs of a container that has not run yet (or has no previous instance), with the
/// reason the pod's status gives.
fn check_log_state(
    pod: &Value,
    name: &str,
    container: &str,
    previous: bool,
) -> Result<(), ApiError> {
    let status = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .flat_map(|list| pod["status"][list].as_array().into_iter().flatten())
    .find(|s| s["name"] == container);
    let Some(status) = status else {
        return Ok(());
    };
    if previous {
        if status["lastState"]["terminated"].is_null() {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
    } else if let Some(reason) = status["state"]["waiting"]["reason"].as_str()
        && status["lastState"]["terminated"].is_null()
    {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    Ok(())
}

/// The base URL of a node's endpoints: its InternalIP and `daemonEndpoints` port, over
/// `scheme` (`https` when the API server has a client certificate for kubelets).
fn node_base(node: &Value, scheme: &str) -> Result<String, ApiError> {
    let address = node["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .ok_or_else(|| ApiError::internal("the node reports no InternalIP address"))?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .filter(|p| *p > 0)
        .unwrap_or(10250);
    let host = if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_owned()
    };
    Ok(format!("{scheme}://{host}:{port}"))
}

/// `GET .../pods/<name>/log`.
pub async fn container_log(
    registry: &Registry,
    kubelets: &Dialer,
    namespace: &str,
    name: &str,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let pods = catalogue::find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"))?;
    let nodes = catalogue::find("", "v1", "nodes").ok_or_else(|| ApiError::internal("no nodes"))?;
    let pod = registry.get(pods, Some(namespace), name).await?;
    let asked = query.get("container");
    let container = log_container(&pod, name, asked)?;
    let previous = query.get("previous") == Some("true");
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    if node_name.is_empty() {
        // Upstream answers an unscheduled pod's log request with nothing.
        return Ok(text_response(Bytes::new()));
    }
    check_log_state(&pod, name, &container, previous)?;
    let node = registry.get(nodes, None, node_name).await?;
    let passed: Vec<String> = query
        .pairs()
        .filter(|(k, _)| *k != "container")
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect();
    let url = format!(
        "{}/containerLogs/{namespace}/{name}/{container}?{}",
        node_base(&node, kubelets.scheme())?,
        passed.join("&")
    );
    let uri: http::Uri = url
        .parse()
        .map_err(|e| ApiError::internal(format!("{e}")))?;
    let response = kubelets
        .get(&uri)
        .await
        .map_err(|e| ApiError::internal(format!("error dialing the node {node_name}: {e}")))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(ApiError::from_node(status, &String::from_utf8_lossy(&body)));
    }
    // A node that fails mid-stream ends the log; the client sees a short read, as upstream.
    let chunks = response
        .into_body()
        .into_data_stream()
        .take_while(|chunk| futures::future::ready(chunk.is_ok()))
        .filter_map(|chunk| futures::future::ready(chunk.ok()))
        .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk)));
    let mut reply = Response::new(StreamBody::new(chunks).boxed_unsync());
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    Ok(reply)
}

/// An exec, attach or port-forward request: `/api/v1/namespaces/<ns>/pods/<name>/<kind>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTarget {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// `exec`, `attach` or `portforward`.
    pub kind: String,
}

impl StreamTarget {
    /// Recognises a streaming subresource path.
    pub fn parse(path: &str) -> Option<Self> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            [
                "api",
                "v1",
                "namespaces",
                namespace,
                "pods",
                name,
                kind @ ("exec" | "attach" | "portforward"),
            ] => Some(Self {
                namespace: (*namespace).to_owned(),
                name: (*name).to_owned(),
                kind: (*kind).to_owned(),
            }),
            _ => None,
        }
    }
}

/// Passes an exec, attach or port-forward upgrade to the pod's node.
pub async fn stream<B>(
    registry: &Registry,
    kubelets: &Dialer,
    target: &StreamTarget,
    request: &mut http::Request<B>,
) -> Result<Response<Body>, ApiError> {
    let pods = catalogue::find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"))?;
    let nodes = catalogue::find("", "v1", "nodes").ok_or_else(|| ApiError::internal("no nodes"))?;
    let (namespace, name) = (target.namespace.as_str(), target.name.as_str());
    let pod = registry.get(pods, Some(namespace), name).await?;
    let query = request.uri().query().unwrap_or("").to_owned();
    let node_name = pod["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = if target.kind == "portforward" {
        format!("/portForward/{namespace}/{name}")
    } else {
        let asked = query
            .split('&')
            .find_map(|p| p.strip_prefix("container="))
            .map(|c| {
                urlencoding::decode(c)
                    .map(|c| c.into_owned())
                    .unwrap_or_default()
            });
        let container = log_container(&pod, name, asked.as_deref())?;
        if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
            return Err(ApiError::bad_request(format!(
                "cannot exec into or attach to a container in a completed pod; current phase is {phase}"
            )));
        }
        format!("/{}/{namespace}/{name}/{container}", target.kind)
    };
    if node_name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let node = registry.get(nodes, None, &node_name).await?;
    let url = format!("{}{path}?{query}", node_base(&node, kubelets.scheme())?);
    let uri: http::Uri = url
        .parse()
        .map_err(|e| ApiError::internal(format!("{e}")))?;
    let response = kubelets
        .proxy_upgrade(request, &uri)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(response.map(|body| body.boxed_unsync()))
}

/// `GET /api/v1/nodes/<name>/proxy/<path>`: the node's own endpoints (`stats/summary`,
/// `healthz`, ...). Returns the node's name and the path, if the request is one.
pub fn parse_node_proxy(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/api/v1/nodes/")?;
    let (name, rest) = rest.split_once('/')?;
    let tail = rest.strip_prefix("proxy")?;
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    Some((name.to_owned(), tail.trim_start_matches('/').to_owned()))
}

/// Passes a GET to the node's endpoints and streams its answer back.
pub async fn node_get(
    registry: &Registry,
    kubelets: &Dialer,
    node_name: &str,
    path: &str,
    query: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let nodes = catalogue::find("", "v1", "nodes").ok_or_else(|| ApiError::internal("no nodes"))?;
    let node = registry.get(nodes, None, node_name).await?;
    let base = node_base(&node, kubelets.scheme())?;
    let url = match query {
        Some(query) => format!("{base}/{path}?{query}"),
        None => format!("{base}/{path}"),
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e| ApiError::internal(format!("{e}")))?;
    let response = kubelets
        .get(&uri)
        .await
        .map_err(|e| ApiError::internal(format!("error dialing the node {node_name}: {e}")))?;
    let (parts, body) = response.into_parts();
    let chunks = body
        .into_data_stream()
        .take_while(|chunk| futures::future::ready(chunk.is_ok()))
        .filter_map(|chunk| futures::future::ready(chunk.ok()))
        .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk)));
    let mut reply = Response::new(StreamBody::new(chunks).boxed_unsync());
    *reply.status_mut() = parts.status;
    if let Some(content_type) = parts.headers.get(http::header::CONTENT_TYPE) {
        reply
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type.clone());
    }
    Ok(reply)
}

fn text_response(body: Bytes) -> Response<Body> {
    let mut reply = Response::new(http_body_util::Full::new(body).boxed_unsync());
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "spec": {
                "initContainers": [{"name": "init"}],
                "containers": [{"name": "writer"}, {"name": "web"}]
            },
            "status": {
                "containerStatuses": [
                    {"name": "writer", "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}},
                    {"name": "web", "state": {"running": {}}, "lastState": {}}
                ]
            }
        })
    }

    #[test]
    fn a_pod_with_several_containers_needs_a_name() {
        let error = log_container(&pod(), "p", None).unwrap_err();
        assert_eq!(error.code, 400);
        assert_eq!(
            error.message,
            "a container name must be specified for pod p, choose one of: [writer web] or one of the init containers: [init]"
        );
        assert_eq!(log_container(&pod(), "p", Some("init")).unwrap(), "init");
        let error = log_container(&pod(), "p", Some("nope")).unwrap_err();
        assert_eq!(error.message, "container nope is not valid for pod p");
    }

    #[test]
    fn waiting_containers_and_missing_previous_instances_are_refused() {
        let error = check_log_state(&pod(), "p", "writer", false).unwrap_err();
        assert_eq!(
            error.message,
            "container \"writer\" in pod \"p\" is waiting to start: ContainerCreating"
        );
        assert!(check_log_state(&pod(), "p", "web", false).is_ok());
        let error = check_log_state(&pod(), "p", "web", true).unwrap_err();
        assert_eq!(
            error.message,
            "previous terminated container \"web\" in pod \"p\" not found"
        );
    }

    #[test]
    fn node_proxy_paths_name_the_node_and_the_path() {
        assert_eq!(
            parse_node_proxy("/api/v1/nodes/n1/proxy/stats/summary"),
            Some(("n1".to_owned(), "stats/summary".to_owned()))
        );
        assert_eq!(
            parse_node_proxy("/api/v1/nodes/n1/proxy"),
            Some(("n1".to_owned(), String::new()))
        );
        assert_eq!(parse_node_proxy("/api/v1/nodes/n1/status"), None);
        assert_eq!(parse_node_proxy("/api/v1/nodes/n1/proxyx"), None);
    }

    #[test]
    fn the_node_is_reached_at_its_internal_ip_and_kubelet_port() {
        let node = json!({"status": {
            "addresses": [{"type": "Hostname", "address": "n"}, {"type": "InternalIP", "address": "192.0.2.7"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 4321}}
        }});
        assert_eq!(node_base(&node, "http").unwrap(), "http://192.0.2.7:4321");
        assert_eq!(node_base(&node, "https").unwrap(), "https://192.0.2.7:4321");
    }
}
