//! What a request does, in the terms authorization decides on (upstream's
//! `authorizer.Attributes`): a verb on a resource, or a verb on a non-resource path.

use crate::request::{self, Query, Target};

/// A request's authorization attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    /// A resource request.
    Resource {
        /// `get`, `list`, `watch`, `create`, …
        verb: String,
        /// The API group (`""` for core).
        group: String,
        /// The resource (plural).
        resource: String,
        /// The subresource, if any.
        subresource: Option<String>,
        /// The namespace, if the path has one.
        namespace: Option<String>,
        /// The object's name, if the path has one.
        name: Option<String>,
    },
    /// Anything else (`/api`, `/healthz`, `/openapi/v3`, …): the HTTP method as a verb.
    NonResource {
        /// `get`, `post`, `put`, `patch`, `delete`.
        verb: String,
        /// The path.
        path: String,
    },
}

fn method_verb(method: &http::Method) -> String {
    method.as_str().to_ascii_lowercase()
}

/// The attributes of a request.
pub fn of(method: &http::Method, path: &str, query: Option<&str>) -> Attributes {
    let streaming_verb = || {
        if method == http::Method::GET {
            "get"
        } else {
            "create"
        }
    };
    if let Some(target) = crate::node_proxy::StreamTarget::parse(path) {
        return Attributes::Resource {
            verb: streaming_verb().to_owned(),
            group: String::new(),
            resource: "pods".to_owned(),
            subresource: Some(target.kind),
            namespace: Some(target.namespace),
            name: Some(target.name),
        };
    }
    if let Some((node, _)) = crate::node_proxy::parse_node_proxy(path) {
        return Attributes::Resource {
            verb: match *method {
                http::Method::GET | http::Method::HEAD => "get".to_owned(),
                http::Method::POST => "create".to_owned(),
                http::Method::PUT => "update".to_owned(),
                _ => method_verb(method),
            },
            group: String::new(),
            resource: "nodes".to_owned(),
            subresource: Some("proxy".to_owned()),
            namespace: None,
            name: Some(node),
        };
    }
    match request::parse(method, path, &Query::parse(query)) {
        Target::Resource(request) => Attributes::Resource {
            verb: request.verb.as_str().to_owned(),
            group: request.group,
            resource: request.resource,
            subresource: request.subresource,
            namespace: request.namespace,
            name: request.name,
        },
        _ => Attributes::NonResource {
            verb: method_verb(method),
            path: path.to_owned(),
        },
    }
}

impl Attributes {
    /// The verb.
    pub fn verb(&self) -> &str {
        match self {
            Self::Resource { verb, .. } | Self::NonResource { verb, .. } => verb,
        }
    }
}
