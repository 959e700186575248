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
        /// The object's name, if the path has one (or, for a list or watch, the one name its
        /// field selector asks for, as upstream's request info takes it).
        name: Option<String>,
        /// The field selector of a list, watch or deletecollection (upstream 1.33 authorizes
        /// with selectors: a node may list only its own pods by `spec.nodeName`).
        field_selector: Option<String>,
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
            field_selector: None,
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
            field_selector: None,
        };
    }
    let query = Query::parse(query);
    match request::parse(method, path, &query) {
        Target::Resource(request) => {
            let verb = request.verb.as_str().to_owned();
            let field_selector = query
                .get("fieldSelector")
                .filter(|_| matches!(verb.as_str(), "list" | "watch" | "deletecollection"))
                .map(str::to_owned);
            let named = field_selector
                .as_deref()
                .filter(|_| verb != "deletecollection")
                .and_then(|selector| selector_equals(selector, "metadata.name"))
                .filter(|name| valid_path_segment(name))
                .map(str::to_owned);
            Attributes::Resource {
                verb,
                group: request.group,
                resource: request.resource,
                subresource: request.subresource,
                namespace: request.namespace,
                name: request.name.or(named),
                field_selector,
            }
        }
        _ => Attributes::NonResource {
            verb: method_verb(method),
            path: path.to_owned(),
        },
    }
}

/// The value a field selector requires `field` to equal (`field=value` or `field==value`, alone
/// or among comma-joined terms; the first in sorted order wins), as upstream's
/// `RequiresExactMatch`.
pub fn selector_equals<'a>(selector: &'a str, field: &str) -> Option<&'a str> {
    let mut terms: Vec<&str> = selector.split(',').map(str::trim).collect();
    terms.sort_unstable();
    terms.into_iter().find_map(|term| {
        if term.contains("!=") {
            return None;
        }
        let (key, value) = term.split_once("==").or_else(|| term.split_once('='))?;
        (key.trim() == field).then(|| value.trim())
    })
}

/// Whether a name could be a path segment (upstream takes a selector's name only then).
fn valid_path_segment(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%'])
}

impl Attributes {
    /// The verb.
    pub fn verb(&self) -> &str {
        match self {
            Self::Resource { verb, .. } | Self::NonResource { verb, .. } => verb,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_narrowed_to_one_name_is_authorized_as_that_name() {
        let list = |query: &str| {
            of(
                &http::Method::GET,
                "/api/v1/namespaces/ns/secrets",
                Some(query),
            )
        };
        let Attributes::Resource {
            verb,
            name,
            field_selector,
            ..
        } = list("watch=true&fieldSelector=metadata.name%3Ds1")
        else {
            panic!("a resource request")
        };
        assert_eq!((verb.as_str(), name.as_deref()), ("watch", Some("s1")));
        assert_eq!(field_selector.as_deref(), Some("metadata.name=s1"));
        let Attributes::Resource { name, .. } = list("fieldSelector=metadata.name!%3Ds1") else {
            panic!("a resource request")
        };
        assert_eq!(name, None);
        assert_eq!(
            selector_equals("spec.nodeName==n1,status.phase=Running", "spec.nodeName"),
            Some("n1")
        );
        assert_eq!(
            selector_equals("status.phase=Running", "spec.nodeName"),
            None
        );
    }
}
