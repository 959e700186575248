//! Whether a policy rule allows a request and whether a binding's subject is a user, with
//! upstream's wildcards: `*` for verbs, API groups and resources, `*/<subresource>` for a
//! subresource of every resource, `resourceNames` only narrowing, a trailing `*` on a
//! non-resource URL matching the paths under it.

use crate::auth::attributes::Attributes;
use crate::auth::user::User;
use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};

fn has(list: Option<&Vec<String>>, wanted: &str) -> bool {
    list.is_some_and(|l| l.iter().any(|x| x == "*" || x == wanted))
}

/// Whether `rule` allows what `attributes` ask.
pub fn allows(rule: &PolicyRule, attributes: &Attributes) -> bool {
    match attributes {
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            if !rule.verbs.iter().any(|v| v == "*" || v == verb)
                || !has(rule.api_groups.as_ref(), group)
            {
                return false;
            }
            let combined = match subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let resource_matches = rule.resources.iter().flatten().any(|r| {
                r == "*"
                    || *r == combined
                    || subresource
                        .as_deref()
                        .is_some_and(|sub| r.strip_prefix("*/") == Some(sub))
            });
            if !resource_matches {
                return false;
            }
            match rule.resource_names.as_deref() {
                None | Some([]) => true,
                Some(names) => name
                    .as_deref()
                    .is_some_and(|n| names.iter().any(|x| x == n)),
            }
        }
        Attributes::NonResource { verb, path } => {
            rule.verbs.iter().any(|v| v == "*" || v == verb)
                && rule.non_resource_urls.iter().flatten().any(|url| {
                    url == "*"
                        || url == path
                        || url
                            .strip_suffix('*')
                            .is_some_and(|prefix| path.starts_with(prefix))
                })
        }
    }
}

/// Whether `subject` (of a binding in `binding_namespace`, empty for cluster bindings) is
/// `user`.
pub fn names(subject: &Subject, binding_namespace: &str, user: &User) -> bool {
    match subject.kind.as_str() {
        "User" => subject.name == user.name,
        "Group" => user.in_group(&subject.name),
        "ServiceAccount" => {
            let namespace = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            user.name == format!("system:serviceaccount:{namespace}:{}", subject.name)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::attributes;
    use http::Method;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        let owned = |l: &[&str]| Some(l.iter().map(|s| (*s).to_owned()).collect());
        PolicyRule {
            api_groups: owned(groups),
            resources: owned(resources),
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn asks(method: Method, path: &str) -> Attributes {
        attributes::of(&method, path, None)
    }

    #[test]
    fn verbs_groups_resources_and_names_all_have_to_match() {
        let read_pods = rule(&[""], &["pods"], &["get", "list", "watch"]);
        assert!(allows(
            &read_pods,
            &asks(Method::GET, "/api/v1/namespaces/a/pods")
        ));
        assert!(allows(
            &read_pods,
            &asks(Method::GET, "/api/v1/namespaces/a/pods/p")
        ));
        assert!(!allows(
            &read_pods,
            &asks(Method::DELETE, "/api/v1/namespaces/a/pods/p")
        ));
        assert!(!allows(
            &read_pods,
            &asks(Method::GET, "/apis/apps/v1/namespaces/a/deployments")
        ));
        assert!(
            !allows(
                &read_pods,
                &asks(Method::GET, "/api/v1/namespaces/a/pods/p/log")
            ),
            "subresources are separate"
        );
        let logs = rule(&[""], &["pods/log"], &["get"]);
        assert!(allows(
            &logs,
            &asks(Method::GET, "/api/v1/namespaces/a/pods/p/log")
        ));
        let any_status = rule(&["*"], &["*/status"], &["update"]);
        assert!(allows(
            &any_status,
            &asks(
                Method::PUT,
                "/apis/apps/v1/namespaces/a/deployments/d/status"
            )
        ));
        assert!(!allows(
            &any_status,
            &asks(Method::PUT, "/apis/apps/v1/namespaces/a/deployments/d")
        ));
        let mut one = rule(&[""], &["configmaps"], &["get", "list"]);
        one.resource_names = Some(vec!["cluster-info".into()]);
        assert!(allows(
            &one,
            &asks(
                Method::GET,
                "/api/v1/namespaces/kube-public/configmaps/cluster-info"
            )
        ));
        assert!(!allows(
            &one,
            &asks(
                Method::GET,
                "/api/v1/namespaces/kube-public/configmaps/other"
            )
        ));
        assert!(
            !allows(
                &one,
                &asks(Method::GET, "/api/v1/namespaces/kube-public/configmaps")
            ),
            "a list names nothing"
        );
        let all = rule(&["*"], &["*"], &["*"]);
        assert!(allows(
            &all,
            &asks(Method::POST, "/apis/example.com/v1/namespaces/a/widgets")
        ));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_prefix() {
        let health = PolicyRule {
            non_resource_urls: Some(vec!["/healthz".into(), "/apis/*".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        };
        assert!(allows(&health, &asks(Method::GET, "/healthz")));
        assert!(!allows(&health, &asks(Method::GET, "/healthz/etcd")));
        assert!(allows(&health, &asks(Method::GET, "/apis/apps")));
        assert!(!allows(&health, &asks(Method::POST, "/healthz")));
        assert!(
            !allows(&health, &asks(Method::GET, "/api/v1/namespaces/a/pods")),
            "a resource rule is needed"
        );
    }

    #[test]
    fn subjects_name_users_groups_and_service_accounts() {
        let user = User::authenticated(
            "system:serviceaccount:demo:reader",
            vec!["system:serviceaccounts".into()],
        );
        let subject = |kind: &str, name: &str, ns: Option<&str>| Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(str::to_owned),
            ..Default::default()
        };
        assert!(names(
            &subject("ServiceAccount", "reader", None),
            "demo",
            &user
        ));
        assert!(!names(
            &subject("ServiceAccount", "reader", None),
            "other",
            &user
        ));
        assert!(names(
            &subject("ServiceAccount", "reader", Some("demo")),
            "",
            &user
        ));
        assert!(names(
            &subject("Group", "system:serviceaccounts", None),
            "",
            &user
        ));
        assert!(names(
            &subject("Group", "system:authenticated", None),
            "",
            &user
        ));
        assert!(names(
            &subject("User", "system:serviceaccount:demo:reader", None),
            "",
            &user
        ));
        assert!(!names(&subject("User", "reader", None), "", &user));
    }
}
