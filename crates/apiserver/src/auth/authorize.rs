//! Authorization. Until RBAC lands (the security issue's next slice) the rules are fixed:
//! anonymous requests may read only what upstream's default policy shows them
//! (`system:public-info-viewer`: the health endpoints and `/version`; kubeadm's `cluster-info`
//! ConfigMap in `kube-public`, which joining nodes read), bootstrap-token users only what
//! upstream's `system:node-bootstrapper` role grants (certificate signing requests) plus
//! discovery, and every other authenticated user anything.

use super::attributes::Attributes;
use super::user::{BOOTSTRAPPERS, MASTERS, UNAUTHENTICATED, User};
use crate::status::ApiError;

/// Paths anyone may GET (upstream's `system:public-info-viewer`).
const PUBLIC_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];

/// Paths every authenticated user may GET (upstream's `system:discovery`).
const DISCOVERY_PATHS: &[&str] = &[
    "/api", "/apis", "/openapi", "/version", "/healthz", "/livez", "/readyz",
];

fn under(path: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        path == *prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn allowed(user: &User, attributes: &Attributes) -> bool {
    if user.in_group(MASTERS) {
        return true;
    }
    let anonymous = user.in_group(UNAUTHENTICATED);
    match attributes {
        Attributes::NonResource { verb, path } => {
            let readable = verb == "get"
                && (under(path, PUBLIC_PATHS) || (!anonymous && under(path, DISCOVERY_PATHS)));
            readable || (!anonymous && !user.in_group(BOOTSTRAPPERS))
        }
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            namespace,
            name,
        } => {
            if verb == "get"
                && group.is_empty()
                && resource == "configmaps"
                && subresource.is_none()
                && namespace.as_deref() == Some("kube-public")
                && name.as_deref() == Some("cluster-info")
            {
                return true;
            }
            if anonymous {
                return false;
            }
            if user.in_group(BOOTSTRAPPERS) {
                return group == "certificates.k8s.io"
                    && resource == "certificatesigningrequests"
                    && subresource.is_none()
                    && matches!(verb.as_str(), "create" | "get" | "list" | "watch");
            }
            true
        }
    }
}

/// The 403 upstream answers when `user` may not do what `attributes` say.
pub fn forbidden(user: &User, attributes: &Attributes) -> ApiError {
    match attributes {
        Attributes::NonResource { verb, path } => ApiError::forbidden_because(
            "",
            "",
            "",
            &format!("User {:?} cannot {verb} path {path:?}", user.name),
        ),
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            namespace,
            name,
        } => {
            let full = match subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let scope = match namespace {
                Some(ns) => format!("in the namespace {ns:?}"),
                None => "at the cluster scope".to_owned(),
            };
            ApiError::forbidden_because(
                group,
                resource,
                name.as_deref().unwrap_or(""),
                &format!(
                    "User {:?} cannot {verb} resource {full:?} in API group {group:?} {scope}",
                    user.name
                ),
            )
        }
    }
}

/// Allows the request, or says why not.
pub fn authorize(user: &User, attributes: &Attributes) -> Result<(), ApiError> {
    if allowed(user, attributes) {
        Ok(())
    } else {
        Err(forbidden(user, attributes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::attributes;
    use http::Method;

    fn attrs(method: Method, path: &str) -> Attributes {
        attributes::of(&method, path, None)
    }

    #[test]
    fn anonymous_users_see_only_public_information() {
        let anonymous = User::anonymous();
        assert!(authorize(&anonymous, &attrs(Method::GET, "/healthz")).is_ok());
        assert!(authorize(&anonymous, &attrs(Method::GET, "/readyz/etcd")).is_ok());
        assert!(authorize(&anonymous, &attrs(Method::GET, "/version")).is_ok());
        assert!(
            authorize(
                &anonymous,
                &attrs(
                    Method::GET,
                    "/api/v1/namespaces/kube-public/configmaps/cluster-info"
                )
            )
            .is_ok()
        );
        let refused = authorize(&anonymous, &attrs(Method::GET, "/api")).unwrap_err();
        assert_eq!(refused.code, 403);
        assert_eq!(
            refused.message,
            r#"forbidden: User "system:anonymous" cannot get path "/api""#
        );
        let refused = authorize(
            &anonymous,
            &attrs(Method::GET, "/api/v1/namespaces/default/pods"),
        )
        .unwrap_err();
        assert_eq!(
            refused.message,
            r#"pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default""#
        );
        let refused = authorize(
            &anonymous,
            &attrs(Method::DELETE, "/apis/apps/v1/namespaces/a/deployments/web"),
        )
        .unwrap_err();
        assert_eq!(
            refused.message,
            r#"deployments.apps "web" is forbidden: User "system:anonymous" cannot delete resource "deployments" in API group "apps" in the namespace "a""#
        );
        let refused = authorize(&anonymous, &attrs(Method::GET, "/api/v1/nodes")).unwrap_err();
        assert!(
            refused.message.ends_with("at the cluster scope"),
            "{}",
            refused.message
        );
        let refused = authorize(
            &anonymous,
            &attrs(Method::POST, "/api/v1/namespaces/d/pods/p/exec"),
        )
        .unwrap_err();
        assert!(
            refused
                .message
                .contains(r#"cannot create resource "pods/exec""#),
            "{}",
            refused.message
        );
    }

    #[test]
    fn bootstrap_token_users_may_only_request_certificates() {
        let bootstrap =
            User::authenticated("system:bootstrap:abcdef", vec![BOOTSTRAPPERS.to_owned()]);
        let csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
        assert!(authorize(&bootstrap, &attrs(Method::POST, csrs)).is_ok());
        assert!(
            authorize(
                &bootstrap,
                &attrs(Method::GET, &format!("{csrs}/node-csr-1"))
            )
            .is_ok()
        );
        assert!(authorize(&bootstrap, &attrs(Method::GET, "/apis")).is_ok());
        assert!(
            authorize(
                &bootstrap,
                &attrs(Method::PUT, &format!("{csrs}/x/approval"))
            )
            .is_err()
        );
        assert!(authorize(&bootstrap, &attrs(Method::GET, "/api/v1/secrets")).is_err());
        assert!(authorize(&bootstrap, &attrs(Method::POST, "/logs")).is_err());
    }

    #[test]
    fn other_authenticated_users_may_do_anything_until_rbac() {
        let admin = User::authenticated("system:admin", vec![MASTERS.to_owned()]);
        let node = User::authenticated("system:node:n1", vec!["system:nodes".to_owned()]);
        for user in [admin, node] {
            assert!(authorize(&user, &attrs(Method::DELETE, "/api/v1/namespaces/default")).is_ok());
            assert!(authorize(&user, &attrs(Method::GET, "/metrics")).is_ok());
        }
    }
}
