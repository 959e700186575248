//! Escalation prevention, as upstream's RBAC storage enforces it: a user may write a role only
//! with rules they hold themselves (or with the `escalate` verb on it), and bind a role only if
//! they hold all its rules (or with the `bind` verb on it). `system:masters` may do both.
//! The check runs inside the write (after patches are applied), with the request's user and
//! authorizer taken from the request scope.

use crate::auth::attributes::Attributes;
use crate::auth::authorize::Authorizer;
use crate::auth::user::{self, MASTERS, User};
use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

tokio::task_local! {
    static AUTHORIZER: Authorizer;
}

/// Runs one request's work with its authorizer at hand.
pub async fn scoped<T>(authorizer: Authorizer, work: impl Future<Output = T>) -> T {
    AUTHORIZER.scope(authorizer, work).await
}

const GROUP: &str = "rbac.authorization.k8s.io";

/// One permission: group × resource × verb (× name), or URL × verb.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Atom {
    Resource {
        group: String,
        resource: String,
        name: Option<String>,
        verb: String,
    },
    Url {
        url: String,
        verb: String,
    },
}

fn atoms(rule: &PolicyRule) -> Vec<Atom> {
    let mut out = Vec::new();
    for verb in &rule.verbs {
        for url in rule.non_resource_urls.iter().flatten() {
            out.push(Atom::Url {
                url: url.clone(),
                verb: verb.clone(),
            });
        }
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                let names: Vec<Option<String>> = match rule.resource_names.as_deref() {
                    None | Some([]) => vec![None],
                    Some(names) => names.iter().cloned().map(Some).collect(),
                };
                for name in names {
                    out.push(Atom::Resource {
                        group: group.clone(),
                        resource: resource.clone(),
                        name,
                        verb: verb.clone(),
                    });
                }
            }
        }
    }
    out
}

fn has(list: Option<&Vec<String>>, wanted: &str) -> bool {
    list.is_some_and(|l| l.iter().any(|x| x == "*" || x == wanted))
}

fn covers(owner: &PolicyRule, atom: &Atom) -> bool {
    match atom {
        Atom::Resource {
            group,
            resource,
            name,
            verb,
        } => {
            let resource_ok = owner.resources.iter().flatten().any(|r| {
                r == "*"
                    || r == resource
                    || resource
                        .split_once('/')
                        .is_some_and(|(_, sub)| r.strip_prefix("*/") == Some(sub))
            });
            let names_ok = match (name, owner.resource_names.as_deref()) {
                (_, None | Some([])) => true,
                (None, Some(_)) => false,
                (Some(name), Some(names)) => names.iter().any(|n| n == name),
            };
            owner.verbs.iter().any(|v| v == "*" || v == verb)
                && has(owner.api_groups.as_ref(), group)
                && resource_ok
                && names_ok
        }
        Atom::Url { url, verb } => {
            owner.verbs.iter().any(|v| v == "*" || v == verb)
                && owner.non_resource_urls.iter().flatten().any(|u| {
                    u == "*"
                        || u == url
                        || u.strip_suffix('*')
                            .is_some_and(|prefix| url.starts_with(prefix))
                })
        }
    }
}

fn quoted(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// The rules among `wanted` that `owned` does not cover, compacted and written as upstream
/// writes them (`{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`), sorted.
fn missing(owned: &[PolicyRule], wanted: &[PolicyRule]) -> Vec<String> {
    // (group, resource, name) → verbs; url → verbs.
    let mut resources: BTreeMap<(String, String, Option<String>), Vec<String>> = BTreeMap::new();
    let mut urls: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rule in wanted {
        for atom in atoms(rule) {
            if owned.iter().any(|o| covers(o, &atom)) {
                continue;
            }
            match atom {
                Atom::Resource {
                    group,
                    resource,
                    name,
                    verb,
                } => resources
                    .entry((group, resource, name))
                    .or_default()
                    .push(verb),
                Atom::Url { url, verb } => urls.entry(url).or_default().push(verb),
            }
        }
    }
    let mut lines = BTreeSet::new();
    for ((group, resource, name), verbs) in resources {
        let names = match name {
            Some(name) => format!(", ResourceNames:{}", quoted(&[name])),
            None => String::new(),
        };
        lines.insert(format!(
            "{{APIGroups:{}, Resources:{}{names}, Verbs:{}}}",
            quoted(&[group]),
            quoted(&[resource]),
            quoted(&verbs)
        ));
    }
    for (url, verbs) in urls {
        lines.insert(format!(
            "{{NonResourceURLs:{}, Verbs:{}}}",
            quoted(&[url]),
            quoted(&verbs)
        ));
    }
    lines.into_iter().collect()
}

fn rules_of(object: &Value) -> Vec<PolicyRule> {
    object
        .get("rules")
        .cloned()
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default()
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn may(
    authorizer: &Authorizer,
    user: &User,
    verb: &str,
    resource: &str,
    namespace: &str,
    name: &str,
) -> bool {
    let attributes = Attributes::Resource {
        verb: verb.to_owned(),
        group: GROUP.to_owned(),
        resource: resource.to_owned(),
        subresource: None,
        namespace: Some(namespace.to_owned()).filter(|n| !n.is_empty()),
        name: Some(name.to_owned()),
        field_selector: None,
    };
    authorizer.decision(user, &attributes).0
}

fn refuse(resource: &Resource, name: &str, user: &User, lines: &[String]) -> ApiError {
    let groups = quoted(&user.groups);
    ApiError::forbidden_because(
        resource.group,
        resource.plural,
        name,
        &format!(
            "user {:?} (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{}",
            user.name,
            lines.join("\n")
        ),
    )
}

/// Refuses a write of `new` (replacing `old`) that would grant its writer more than they hold.
pub fn check(resource: &Resource, new: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    if resource.group != GROUP {
        return Ok(());
    }
    // The API server's own writes (bootstrap policy) happen outside any request.
    let (Some(user), Ok(authorizer)) = (user::current(), AUTHORIZER.try_with(Clone::clone)) else {
        return Ok(());
    };
    if user.in_group(MASTERS) {
        return Ok(());
    }
    let name = text(new, "/metadata/name");
    let namespace = text(new, "/metadata/namespace");
    match resource.plural {
        "roles" | "clusterroles" => {
            let unchanged = old.is_some_and(|old| {
                old.get("rules") == new.get("rules")
                    && old.get("aggregationRule") == new.get("aggregationRule")
            });
            if unchanged
                || may(
                    &authorizer,
                    &user,
                    "escalate",
                    resource.plural,
                    namespace,
                    name,
                )
            {
                return Ok(());
            }
            let owned = authorizer.policy().rules_of(&user, Some(namespace));
            let aggregated = new.get("aggregationRule").is_some_and(|a| !a.is_null())
                || old.is_some_and(|o| o.get("aggregationRule").is_some_and(|a| !a.is_null()));
            if aggregated {
                let everything: PolicyRule = serde_json::from_value(serde_json::json!({
                    "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]
                }))
                .unwrap_or_default();
                let any_url = PolicyRule {
                    non_resource_urls: Some(vec!["*".into()]),
                    verbs: vec!["*".into()],
                    ..PolicyRule::default()
                };
                if !missing(&owned, &[everything, any_url]).is_empty() {
                    return Err(ApiError::forbidden_because(
                        resource.group,
                        resource.plural,
                        name,
                        "must have cluster-admin privileges to use the aggregationRule",
                    ));
                }
            }
            let lines = missing(&owned, &rules_of(new));
            if lines.is_empty() {
                Ok(())
            } else {
                Err(refuse(resource, name, &user, &lines))
            }
        }
        "rolebindings" | "clusterrolebindings" => {
            let unchanged = old.is_some_and(|old| {
                old.get("roleRef") == new.get("roleRef")
                    && old.get("subjects") == new.get("subjects")
            });
            let (kind, role) = (text(new, "/roleRef/kind"), text(new, "/roleRef/name"));
            let role_plural = if kind == "Role" {
                "roles"
            } else {
                "clusterroles"
            };
            if unchanged || may(&authorizer, &user, "bind", role_plural, namespace, role) {
                return Ok(());
            }
            let Some(granted) = authorizer.policy().role_rules(kind, namespace, role) else {
                return Err(ApiError::not_found(GROUP, role_plural, role));
            };
            let owned = authorizer.policy().rules_of(&user, Some(namespace));
            let lines = missing(&owned, &granted);
            if lines.is_empty() {
                Ok(())
            } else {
                Err(refuse(resource, name, &user, &lines))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> PolicyRule {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn what_is_not_held_is_listed_as_upstream_lists_it() {
        let owned = vec![rule(
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
        )];
        let wanted = vec![
            rule(
                json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}),
            ),
            rule(json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]})),
        ];
        assert_eq!(
            missing(&owned, &wanted),
            vec![
                r#"{APIGroups:[""], Resources:["pods"], Verbs:["list" "watch"]}"#.to_owned(),
                r#"{NonResourceURLs:["/metrics"], Verbs:["get"]}"#.to_owned(),
            ]
        );
    }

    #[test]
    fn wildcards_and_names_cover_as_upstream_decides() {
        let admin = vec![
            rule(json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})),
            rule(json!({"nonResourceURLs": ["*"], "verbs": ["*"]})),
        ];
        let anything = vec![rule(
            json!({"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["*"]}),
        )];
        assert!(missing(&admin, &anything).is_empty());
        let one_map = vec![rule(
            json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]}),
        )];
        let all_maps = vec![rule(
            json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}),
        )];
        assert_eq!(
            missing(&one_map, &all_maps).len(),
            1,
            "a named grant does not cover every name"
        );
        assert!(missing(&all_maps, &one_map).is_empty());
        let statuses = vec![rule(
            json!({"apiGroups": ["apps"], "resources": ["*/status"], "verbs": ["update"]}),
        )];
        let one_status = vec![rule(
            json!({"apiGroups": ["apps"], "resources": ["deployments/status"], "verbs": ["update"]}),
        )];
        assert!(missing(&statuses, &one_status).is_empty());
        let star_verb = vec![rule(
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}),
        )];
        let get_only = vec![rule(
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete", "deletecollection", "patch", "update"]}),
        )];
        assert_eq!(
            missing(&get_only, &star_verb).len(),
            1,
            "a literal * is needed to grant *"
        );
    }
}
