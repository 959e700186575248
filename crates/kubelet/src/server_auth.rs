//! Who may use the node's endpoints, as upstream's kubelet decides with x509 and `Webhook`
//! authentication and `Webhook` authorization: the caller is the client certificate it
//! presented (CN = user, O = groups, verified against the cluster authority by the TLS
//! handshake), else the user the API server finds for its bearer token (a `TokenReview`);
//! anonymous callers get a 401. The API server is then asked, through a
//! `SubjectAccessReview`, whether that user may `<verb>` the `nodes/<subresource>` of this
//! node. Answers are kept a while, as upstream's are: two minutes for a token, five for an
//! allowed request, thirty seconds for a denied one.

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ALLOWED_TTL: Duration = Duration::from_secs(300);
const DENIED_TTL: Duration = Duration::from_secs(30);
const TOKEN_TTL: Duration = Duration::from_secs(120);

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The user name (the certificate's common name).
    pub user: String,
    /// The groups (its organizations).
    pub groups: Vec<String>,
}

/// What a request asks of the node, in authorization terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asked {
    /// `get`, `create`, `update`, `patch`, `delete`.
    pub verb: &'static str,
    /// The subresources of `nodes` that allow it, most specific first (upstream 1.33's
    /// fine-grained kubelet authorization falls back to `proxy`).
    pub subresources: Vec<&'static str>,
}

/// The verb and subresources a request to the node's endpoints needs.
pub fn asked(method: &http::Method, path: &str) -> Asked {
    let verb = match *method {
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "get",
    };
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    let subresources = if under("/stats") {
        vec!["stats"]
    } else if under("/metrics") {
        vec!["metrics"]
    } else if under("/logs") {
        vec!["log"]
    } else if under("/healthz") {
        vec!["healthz", "proxy"]
    } else if under("/pods") || under("/runningpods") {
        vec!["pods", "proxy"]
    } else {
        vec!["proxy"]
    };
    Asked { verb, subresources }
}

/// Who asks for which verb on which subresource.
type Question = (Caller, &'static str, &'static str);
/// Allowed or not, and until when that is remembered.
type Answer = (bool, Instant);

/// Decides requests for one node, asking the API server and remembering its answers.
pub struct Authorizer {
    client: kube::Client,
    node: String,
    answers: Mutex<HashMap<Question, Answer>>,
    /// Token → the caller it names (if any), and until when that is remembered.
    tokens: Mutex<HashMap<String, (Option<Caller>, Instant)>>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer for `node`, asking through `client` (the node's own credentials, which
    /// upstream's node role lets create SubjectAccessReviews).
    pub fn new(client: kube::Client, node: &str) -> Self {
        Self {
            client,
            node: node.to_owned(),
            answers: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The caller a bearer token names, as the API server reviews it (for its own audiences).
    pub async fn authenticate_token(&self, token: &str) -> Option<Caller> {
        let now = Instant::now();
        if let Some((caller, until)) = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
            && *until > now
        {
            return caller.clone();
        }
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_owned()),
                ..TokenReviewSpec::default()
            },
            ..TokenReview::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let caller = match api.create(&PostParams::default(), &review).await {
            Ok(answer) => answer
                .status
                .filter(|s| s.authenticated == Some(true))
                .and_then(|s| s.user)
                .and_then(|user| {
                    Some(Caller {
                        user: user.username.filter(|u| !u.is_empty())?,
                        groups: user.groups.unwrap_or_default(),
                    })
                }),
            Err(e) => {
                tracing::warn!(error = %e, "asking the API server to review a token failed");
                return None;
            }
        };
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Expired entries go when the cache grows, so that it cannot grow without bound.
        if tokens.len() > 1024 {
            tokens.retain(|_, (_, until)| *until > now);
        }
        tokens.insert(token.to_owned(), (caller.clone(), now + TOKEN_TTL));
        caller
    }

    /// `Ok` when `caller` may do what `asked` says, else the 403 body upstream's kubelet
    /// answers (naming the most specific subresource).
    pub async fn authorize(&self, caller: &Caller, asked: &Asked) -> Result<(), String> {
        for subresource in &asked.subresources {
            if self.allowed(caller, asked.verb, subresource).await {
                return Ok(());
            }
        }
        Err(format!(
            "Forbidden (user={}, verb={}, resource=nodes, subresource={})",
            caller.user,
            asked.verb,
            asked.subresources.first().copied().unwrap_or("proxy")
        ))
    }

    async fn allowed(
        &self,
        caller: &Caller,
        verb: &'static str,
        subresource: &'static str,
    ) -> bool {
        let key = (caller.clone(), verb, subresource);
        let now = Instant::now();
        if let Some((allowed, until)) = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            && *until > now
        {
            return *allowed;
        }
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(caller.user.clone()),
                groups: Some(caller.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_owned()),
                    resource: Some("nodes".to_owned()),
                    subresource: Some(subresource.to_owned()),
                    name: Some(self.node.clone()),
                    ..ResourceAttributes::default()
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let allowed = match api.create(&PostParams::default(), &review).await {
            Ok(answer) => answer.status.is_some_and(|s| s.allowed),
            Err(e) => {
                // Not remembered: the next request asks again.
                tracing::warn!(error = %e, "asking the API server to authorize a request failed");
                return false;
            }
        };
        let ttl = if allowed { ALLOWED_TTL } else { DENIED_TTL };
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, (allowed, now + ttl));
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_upstreams_node_subresources() {
        let get = |path: &str| asked(&http::Method::GET, path);
        assert_eq!(get("/stats/summary").subresources, ["stats"]);
        assert_eq!(get("/healthz").subresources, ["healthz", "proxy"]);
        assert_eq!(get("/containerLogs/ns/pod/c").subresources, ["proxy"]);
        assert_eq!(get("/statsx").subresources, ["proxy"]);
        let exec = asked(&http::Method::POST, "/exec/ns/pod/c");
        assert_eq!((exec.verb, exec.subresources), ("create", vec!["proxy"]));
    }
}
