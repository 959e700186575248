//! ServiceAccount tokens, as upstream issues and checks them: JWTs (ES256 here) with the
//! issuer, audiences, times and the `kubernetes.io` claim naming the namespace, the
//! ServiceAccount (and its uid) and, for a bound token, the pod (or Secret, or Node) it lives
//! and dies with. A token is valid only while its ServiceAccount — and its bound object — still
//! exist with the uids it names. The issuer's discovery documents are served at
//! `/.well-known/openid-configuration` and `/openid/v1/jwks`.

use super::user::User;
use crate::registry::Registry;
use crate::status::{ApiError, Cause};
use gantry_api::catalogue;
use gantry_pki::jwt::Signer;
use serde_json::{Value, json};
use std::sync::Arc;

/// Upstream's default issuer (`--service-account-issuer`), also the default audience.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The lifetime the kubelet's projected volumes ask for, which upstream extends.
const EXTENDED_REQUEST: u64 = 3607;
/// How long such a token is valid (a year).
const EXTENDED_SECONDS: u64 = 365 * 24 * 3600;

/// What a token is bound to: kind (`Pod`, `Secret`, `Node`), name, uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The kind.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The uid.
    pub uid: String,
}

/// Issues and checks tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    signer: Arc<Signer>,
    issuer: String,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn bound_resource(kind: &str) -> Option<&'static gantry_api::catalogue::Resource> {
    match kind {
        "Pod" => catalogue::find("", "v1", "pods"),
        "Secret" => catalogue::find("", "v1", "secrets"),
        "Node" => catalogue::find("", "v1", "nodes"),
        _ => None,
    }
}

impl TokenIssuer {
    /// An issuer signing with `signer` as `issuer`.
    pub fn new(signer: Signer, issuer: &str) -> Self {
        Self {
            signer: Arc::new(signer),
            issuer: issuer.to_owned(),
        }
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A token for the ServiceAccount `account` (the object) in `namespace`, for `audiences`,
    /// valid `seconds`, bound to `bound` (in `namespace` unless a Node); and when it expires.
    pub fn issue(
        &self,
        namespace: &str,
        account: &Value,
        audiences: &[String],
        seconds: u64,
        bound: Option<&Bound>,
    ) -> Result<(String, u64), ApiError> {
        let name = text(account, "/metadata/name");
        let issued = now();
        // Upstream's `--service-account-extend-token-expiration` (on by default): the
        // kubelet's 3607-second pod tokens are valid for a year, with a `warnafter` claim at
        // the time asked for, so that clients that never re-read their token keep working.
        let extended = seconds == EXTENDED_REQUEST && bound.is_some_and(|b| b.kind == "Pod");
        let expires = issued + if extended { EXTENDED_SECONDS } else { seconds };
        let mut private = json!({
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": text(account, "/metadata/uid")},
        });
        if let Some(bound) = bound {
            private[bound.kind.to_lowercase()] = json!({"name": bound.name, "uid": bound.uid});
        }
        if extended {
            private["warnafter"] = json!(issued + seconds);
        }
        let claims = json!({
            "iss": self.issuer,
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
            "aud": audiences,
            "exp": expires,
            "iat": issued,
            "nbf": issued,
            "jti": crate::meta::new_uid(),
            "kubernetes.io": private,
        });
        let token = self
            .signer
            .sign(&claims)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok((token, expires))
    }

    /// The user of `token` if it is one of ours: `None` if it does not look like a JWT, an
    /// error (401) if it does but is not valid (now).
    pub async fn authenticate(
        &self,
        registry: &Registry,
        token: &str,
    ) -> Option<Result<User, ApiError>> {
        if token.split('.').count() != 3 {
            return None;
        }
        Some(
            self.check(registry, token, &[])
                .await
                .map(|(user, _)| user)
                .ok_or_else(ApiError::unauthorized),
        )
    }

    /// A TokenReview of `token` for `wanted` audiences (the issuer's own when empty): its user
    /// and the wanted audiences it is for, if it is valid for any.
    pub async fn review(
        &self,
        registry: &Registry,
        token: &str,
        wanted: &[String],
    ) -> Option<(User, Vec<String>)> {
        if token.split('.').count() != 3 {
            return None;
        }
        self.check(registry, token, wanted).await
    }

    async fn check(
        &self,
        registry: &Registry,
        token: &str,
        wanted: &[String],
    ) -> Option<(User, Vec<String>)> {
        let wanted = if wanted.is_empty() {
            std::slice::from_ref(&self.issuer)
        } else {
            wanted
        };
        let claims = self.signer.verify(token).ok()?;
        let at = now();
        let time = |claim: &str| claims.get(claim).and_then(Value::as_u64);
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(all)) => all.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let matched: Vec<String> = wanted
            .iter()
            .filter(|w| audiences.contains(&w.as_str()))
            .cloned()
            .collect();
        if text(&claims, "/iss") != self.issuer
            || matched.is_empty()
            || time("exp").is_none_or(|exp| exp <= at)
            || time("nbf").is_some_and(|nbf| nbf > at + 60)
        {
            return None;
        }
        let namespace = text(&claims, "/kubernetes.io/namespace");
        let name = text(&claims, "/kubernetes.io/serviceaccount/name");
        let uid = text(&claims, "/kubernetes.io/serviceaccount/uid");
        let accounts = catalogue::find("", "v1", "serviceaccounts")?;
        let account = registry.get(accounts, Some(namespace), name).await.ok()?;
        if text(&account, "/metadata/uid") != uid {
            return None;
        }
        let mut user = User::authenticated(
            &format!("system:serviceaccount:{namespace}:{name}"),
            vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
            ],
        );
        user.uid = uid.to_owned();
        for kind in ["Pod", "Secret", "Node"] {
            let claim = kind.to_lowercase();
            let Some(bound) = claims.pointer(&format!("/kubernetes.io/{claim}")) else {
                continue;
            };
            let resource = bound_resource(kind)?;
            let object_namespace = (kind != "Node").then_some(namespace);
            let object = registry
                .get(resource, object_namespace, text(bound, "/name"))
                .await
                .ok()?;
            if text(&object, "/metadata/uid") != text(bound, "/uid") {
                return None;
            }
            if kind == "Pod" {
                user.extra.insert(
                    "authentication.kubernetes.io/pod-name".into(),
                    vec![text(bound, "/name").to_owned()],
                );
                user.extra.insert(
                    "authentication.kubernetes.io/pod-uid".into(),
                    vec![text(bound, "/uid").to_owned()],
                );
            }
        }
        if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
            user.extra.insert(
                "authentication.kubernetes.io/credential-id".into(),
                vec![format!("JTI={jti}")],
            );
        }
        Some((user, matched))
    }

    /// The OpenID provider configuration, naming `jwks_uri`.
    pub fn discovery(&self, jwks_uri: &str) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }

    /// The key set tokens verify against.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.signer.jwk()]})
    }

    /// Answers a `TokenRequest` for the ServiceAccount `name` in `namespace`.
    pub async fn token_request(
        &self,
        registry: &Registry,
        namespace: &str,
        name: &str,
        mut request: Value,
    ) -> Result<Value, ApiError> {
        let accounts = catalogue::find("", "v1", "serviceaccounts")
            .ok_or_else(|| ApiError::internal("no serviceaccounts"))?;
        let account = registry.get(accounts, Some(namespace), name).await?;
        let invalid = |field: &str, value: &Value, detail: &str| {
            ApiError::invalid(
                "authentication.k8s.io",
                "TokenRequest",
                name,
                vec![Cause::invalid(field, value, detail)],
            )
        };
        let seconds = request
            .pointer("/spec/expirationSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(3600);
        if seconds < 600 {
            return Err(invalid(
                "spec.expirationSeconds",
                &json!(seconds),
                "may not specify a duration less than 10 minutes",
            ));
        }
        if seconds > 1 << 32 {
            return Err(invalid(
                "spec.expirationSeconds",
                &json!(seconds),
                "may not specify a duration larger than 2^32 seconds",
            ));
        }
        let mut audiences: Vec<String> = request
            .pointer("/spec/audiences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        if audiences.is_empty() {
            audiences.push(self.issuer.clone());
        }
        let bound = match request
            .pointer("/spec/boundObjectRef")
            .filter(|b| b.is_object())
        {
            None => None,
            Some(reference) => {
                let kind = text(reference, "/kind").to_owned();
                let resource = bound_resource(&kind).ok_or_else(|| {
                    invalid(
                        "spec.boundObjectRef.kind",
                        &json!(kind),
                        "supported values: \"Pod\", \"Secret\", \"Node\"",
                    )
                })?;
                let bound_name = text(reference, "/name").to_owned();
                let object_namespace = (kind != "Node").then_some(namespace);
                let object = registry
                    .get(resource, object_namespace, &bound_name)
                    .await?;
                let uid = text(&object, "/metadata/uid").to_owned();
                let asked = text(reference, "/uid");
                if !asked.is_empty() && asked != uid {
                    return Err(ApiError::conflict(
                        resource.group,
                        resource.plural,
                        &bound_name,
                        &format!(
                            "the UID in the bound object reference ({asked}) does not match the UID in record. The object might have been deleted and then recreated"
                        ),
                    ));
                }
                Some(Bound {
                    kind,
                    name: bound_name,
                    uid,
                })
            }
        };
        let seconds = u64::try_from(seconds).unwrap_or(3600);
        let (token, expires) =
            self.issue(namespace, &account, &audiences, seconds, bound.as_ref())?;
        request["apiVersion"] = json!("authentication.k8s.io/v1");
        request["kind"] = json!("TokenRequest");
        request["metadata"] = json!({
            "name": name,
            "namespace": namespace,
            "creationTimestamp": gantry_api::time::now_rfc3339(),
        });
        request["spec"]["audiences"] = json!(audiences);
        request["spec"]["expirationSeconds"] = json!(seconds);
        request["status"] = json!({
            "token": token,
            "expirationTimestamp": gantry_api::time::rfc3339(expires),
        });
        Ok(request)
    }
}
