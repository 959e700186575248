//! What a request is about: the path and method turned into a target and a verb, as upstream's
//! `RequestInfoFactory` does, and the query parameters every verb understands.

use crate::status::ApiError;
use std::collections::HashMap;
use std::time::Duration;

/// The Kubernetes verb of a resource request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET with `watch=true` (or under `/watch/`).
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
}

impl Verb {
    /// The verb as discovery and RBAC spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }
}

/// A request for a resource (or a collection of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// What is done.
    pub verb: Verb,
    /// The API group (`""` for core).
    pub group: String,
    /// The version.
    pub version: String,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The resource (plural).
    pub resource: String,
    /// The object's name, if the path names one.
    pub name: Option<String>,
    /// The subresource, e.g. `status`.
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/version`.
    Version,
    /// `/openapi/v3` (the index) or `/openapi/v3/<api|apis/group>/<version>`.
    OpenApiV3(Option<(String, String)>),
    /// `/openapi/v2` (served only as protobuf upstream; not yet here).
    OpenApiV2,
    /// `/healthz`, `/livez`, `/readyz` (the endpoint, and one named check if the path has one).
    Health(String, Option<String>),
    /// `/.well-known/openid-configuration`: the ServiceAccount issuer's discovery document.
    OpenIdConfiguration,
    /// `/openid/v1/jwks`: the keys ServiceAccount tokens verify against.
    Jwks,
    /// `/api`.
    LegacyRoot,
    /// `/apis`.
    GroupsRoot,
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion {
        /// The group (`""` for core).
        group: String,
        /// The version.
        version: String,
    },
    /// A resource request.
    Resource(ResourceRequest),
    /// Anything else.
    Unknown,
}

/// Parses a path and method into a target.
pub fn parse(method: &http::Method, path: &str, query: &Query) -> Target {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| urlencoding::decode(s).map_or_else(|_| s.to_owned(), |d| d.into_owned()))
        .collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["version"] => Target::Version,
        [".well-known", "openid-configuration"] => Target::OpenIdConfiguration,
        ["openid", "v1", "jwks"] => Target::Jwks,
        ["openapi", "v3"] => Target::OpenApiV3(None),
        ["openapi", "v3", "api", version] => {
            Target::OpenApiV3(Some((String::new(), (*version).to_owned())))
        }
        ["openapi", "v3", "apis", group, version] => {
            Target::OpenApiV3(Some(((*group).to_owned(), (*version).to_owned())))
        }
        ["openapi", "v2"] => Target::OpenApiV2,
        [endpoint, rest @ ..] if ["healthz", "livez", "readyz"].contains(endpoint) => {
            Target::Health(
                (*endpoint).to_owned(),
                rest.first().map(|c| (*c).to_owned()),
            )
        }
        ["api"] => Target::LegacyRoot,
        ["apis"] => Target::GroupsRoot,
        ["apis", group] => Target::Group((*group).to_owned()),
        ["api", version] => Target::GroupVersion {
            group: String::new(),
            version: (*version).to_owned(),
        },
        ["apis", group, version] => Target::GroupVersion {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        },
        ["api", version, rest @ ..] => resource(method, "", version, rest, query),
        ["apis", group, version, rest @ ..] => resource(method, group, version, rest, query),
        _ => Target::Unknown,
    }
}

fn resource(
    method: &http::Method,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &Query,
) -> Target {
    let (watch_path, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    // `namespaces/<ns>/<resource>...` is namespaced; `namespaces/<name>[/<sub>]` addresses the
    // namespace object itself.
    // (`status` and `finalize` after a namespace name are that namespace's subresources.)
    let (namespace, rest) = match rest {
        ["namespaces", _, "status" | "finalize"] => (None, rest),
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(*name), None),
        [resource, name, sub, ..] => (*resource, Some(*name), Some(*sub)),
        _ => return Target::Unknown,
    };
    let watch = watch_path || query.flag("watch");
    let verb = match (method.as_str(), name.is_some()) {
        ("GET" | "HEAD", _) if watch => Verb::Watch,
        ("GET" | "HEAD", true) => Verb::Get,
        ("GET" | "HEAD", false) => Verb::List,
        ("POST", _) => Verb::Create,
        ("PUT", _) => Verb::Update,
        ("PATCH", _) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        _ => return Target::Unknown,
    };
    // A namespace addressed as `namespaces/<name>` is cluster-scoped by path.
    let namespace = if resource == "namespaces" {
        None
    } else {
        namespace
    };
    Target::Resource(ResourceRequest {
        verb,
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        resource: resource.to_owned(),
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

/// The decoded query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Decodes `a=b&c=d`; later repeats of a key win.
    pub fn parse(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let s = s.replace('+', " ");
                urlencoding::decode(&s).map_or_else(|_| s.clone(), |d| d.into_owned())
            };
            map.insert(decode(key), decode(value));
        }
        Self(map)
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every parameter, in no particular order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A boolean parameter, spelled as Go's `strconv.ParseBool` accepts (`1`, `t`, `T`, `TRUE`,
    /// `true`, `True`; the Python client sends `True`), or present with no value.
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("1" | "t" | "T" | "TRUE" | "true" | "True" | "")
        )
    }

    /// An unsigned integer parameter; malformed is a 400.
    pub fn number(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value {v:?} for {key}"))),
        }
    }

    /// `timeoutSeconds` (or `timeout`, as a Go duration like `32s`) as a duration.
    pub fn timeout_seconds(&self) -> Result<Option<Duration>, ApiError> {
        Ok(self
            .number("timeoutSeconds")?
            .map(|s| Duration::from_secs(s.max(0) as u64)))
    }

    /// Whether `dryRun=All` was asked for; any other value is a 400, as upstream.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}: supported values: \"All\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn target(method: Method, path: &str) -> Target {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        parse(&method, path, &Query::parse(Some(query)))
    }

    fn resource(t: Target) -> ResourceRequest {
        match t {
            Target::Resource(r) => r,
            other => panic!("not a resource request: {other:?}"),
        }
    }

    #[test]
    fn namespaced_paths_carry_namespace_name_and_subresource() {
        let r = resource(target(
            Method::PUT,
            "/apis/apps/v1/namespaces/ns/deployments/web/scale",
        ));
        assert_eq!(r.verb, Verb::Update);
        assert_eq!((r.group.as_str(), r.version.as_str()), ("apps", "v1"));
        assert_eq!(r.namespace.as_deref(), Some("ns"));
        assert_eq!(r.resource, "deployments");
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.subresource.as_deref(), Some("scale"));
    }

    #[test]
    fn a_namespace_is_addressed_as_a_cluster_scoped_object() {
        let r = resource(target(Method::GET, "/api/v1/namespaces/kube-system"));
        assert_eq!(
            (r.verb, r.namespace, r.resource.as_str()),
            (Verb::Get, None, "namespaces")
        );
        assert_eq!(r.name.as_deref(), Some("kube-system"));
        let finalize = resource(target(Method::PUT, "/api/v1/namespaces/x/finalize"));
        assert_eq!(finalize.subresource.as_deref(), Some("finalize"));
    }

    #[test]
    fn collections_list_watch_and_delete() {
        assert_eq!(
            resource(target(Method::GET, "/api/v1/pods")).verb,
            Verb::List
        );
        assert_eq!(
            resource(target(Method::GET, "/api/v1/pods?watch=true")).verb,
            Verb::Watch
        );
        assert_eq!(
            resource(target(Method::GET, "/api/v1/watch/namespaces/a/pods")).verb,
            Verb::Watch
        );
        let dc = resource(target(Method::DELETE, "/api/v1/namespaces/a/pods"));
        assert_eq!(
            (dc.verb, dc.namespace.as_deref()),
            (Verb::DeleteCollection, Some("a"))
        );
    }

    #[test]
    fn discovery_and_health_paths_are_recognised() {
        assert_eq!(target(Method::GET, "/api"), Target::LegacyRoot);
        assert_eq!(
            target(Method::GET, "/apis/apps"),
            Target::Group("apps".into())
        );
        assert_eq!(
            target(Method::GET, "/api/v1"),
            Target::GroupVersion {
                group: String::new(),
                version: "v1".into()
            }
        );
        assert_eq!(
            target(Method::GET, "/readyz/etcd"),
            Target::Health("readyz".into(), Some("etcd".into()))
        );
        assert_eq!(target(Method::GET, "/nonsense"), Target::Unknown);
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = Query::parse(Some("labelSelector=app%3Dweb%2Ctier+in+(a)&limit=5&watch"));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert_eq!(q.number("limit").unwrap(), Some(5));
        assert!(q.flag("watch"));
        assert!(
            Query::parse(Some("watch=True")).flag("watch"),
            "the Python client's spelling"
        );
        assert!(!Query::parse(Some("watch=false")).flag("watch"));
        assert!(Query::parse(Some("limit=x")).number("limit").is_err());
        assert!(Query::parse(Some("dryRun=Some")).dry_run().is_err());
    }
}
