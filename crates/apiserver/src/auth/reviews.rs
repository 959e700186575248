//! The review APIs, answered and never stored, as upstream answers them:
//! `SelfSubjectAccessReview` and `SubjectAccessReview`/`LocalSubjectAccessReview` (may this user
//! do this? — `kubectl auth can-i`), `SelfSubjectRulesReview` (what may I do here? —
//! `kubectl auth can-i --list`) and `SelfSubjectReview` (who am I? — `kubectl auth whoami`).

use super::attributes::Attributes;
use super::authorize::Authorizer;
use super::user::User;
use crate::status::{ApiError, Cause};
use serde_json::{Value, json};

/// The review resources, by group and plural.
pub fn is_review(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        (
            "authorization.k8s.io",
            "selfsubjectaccessreviews"
                | "subjectaccessreviews"
                | "localsubjectaccessreviews"
                | "selfsubjectrulesreviews"
        ) | (
            "authentication.k8s.io",
            "selfsubjectreviews" | "tokenreviews"
        )
    )
}

/// Answers a `TokenReview` (who does this token name, for which audiences?), as upstream's
/// authenticators would for a request carrying it: ServiceAccount tokens for the audiences
/// asked (the API server's own by default), bootstrap tokens for the API server's only.
pub async fn token_review(
    registry: &crate::registry::Registry,
    tokens: Option<&super::service_account::TokenIssuer>,
    body: Value,
) -> Result<Value, ApiError> {
    let token = text(&body, "/spec/token");
    if token.is_empty() {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenReview",
            "",
            vec![Cause::required("spec.token", "token must be specified")],
        ));
    }
    let asked = strings(&body, "/spec/audiences");
    let mut found = None;
    if let Some(tokens) = tokens {
        found = tokens.review(registry, &token, &asked).await;
    }
    let api_audiences = tokens
        .map(|t| vec![t.issuer().to_owned()])
        .unwrap_or_default();
    if found.is_none()
        && (asked.is_empty() || asked.iter().any(|a| api_audiences.contains(a)))
        && let Some(user) = super::bootstrap_token::authenticate(registry, &token).await
    {
        found = Some((user, api_audiences));
    }
    let status = match found {
        Some((user, audiences)) => {
            let mut info = json!({"username": user.name, "groups": user.groups});
            if !user.uid.is_empty() {
                info["uid"] = json!(user.uid);
            }
            if !user.extra.is_empty() {
                info["extra"] = json!(user.extra);
            }
            json!({"authenticated": true, "user": info, "audiences": audiences})
        }
        None => json!({"user": {}, "error": "invalid bearer token"}),
    };
    Ok(answered(body, status))
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn strings(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The attributes a review's spec asks about.
fn asked(kind: &str, spec: &Value) -> Result<Attributes, ApiError> {
    if let Some(attributes) = spec.get("resourceAttributes").filter(|v| v.is_object()) {
        let optional =
            |key: &str| Some(text(attributes, &format!("/{key}"))).filter(|s| !s.is_empty());
        return Ok(Attributes::Resource {
            verb: text(attributes, "/verb"),
            group: text(attributes, "/group"),
            resource: text(attributes, "/resource"),
            subresource: optional("subresource"),
            namespace: optional("namespace"),
            name: optional("name"),
            field_selector: None,
        });
    }
    if let Some(attributes) = spec.get("nonResourceAttributes").filter(|v| v.is_object()) {
        return Ok(Attributes::NonResource {
            verb: text(attributes, "/verb"),
            path: text(attributes, "/path"),
        });
    }
    Err(ApiError::invalid(
        "authorization.k8s.io",
        kind,
        "",
        vec![Cause::required(
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
    ))
}

fn answered(mut review: Value, status: Value) -> Value {
    if let Some(map) = review.as_object_mut() {
        map.insert("status".into(), status);
        map.entry("metadata")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert("creationTimestamp".into(), Value::Null));
    }
    review
}

fn access(authorizer: &Authorizer, user: &User, attributes: &Attributes) -> Value {
    let (allowed, reason) = authorizer.decision(user, attributes);
    let mut status = json!({"allowed": allowed});
    if !reason.is_empty() {
        status["reason"] = json!(reason);
    }
    status
}

/// The rules of `user` in `namespace`, as a rules review's status.
fn rules(authorizer: &Authorizer, user: &User, namespace: &str) -> Value {
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for rule in authorizer.policy().rules_of(user, Some(namespace)) {
        if let Some(urls) = rule.non_resource_urls.filter(|u| !u.is_empty()) {
            non_resource_rules.push(json!({"verbs": rule.verbs, "nonResourceURLs": urls}));
        } else {
            let mut entry = json!({
                "verbs": rule.verbs,
                "apiGroups": rule.api_groups.unwrap_or_default(),
                "resources": rule.resources.unwrap_or_default(),
            });
            if let Some(names) = rule.resource_names.filter(|n| !n.is_empty()) {
                entry["resourceNames"] = json!(names);
            }
            resource_rules.push(entry);
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
}

/// Answers a review `body` posted by `user` (to `namespace` for a local review).
pub fn answer(
    authorizer: &Authorizer,
    user: &User,
    plural: &str,
    namespace: Option<&str>,
    body: Value,
) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    match plural {
        "selfsubjectaccessreviews" => {
            let attributes = asked("SelfSubjectAccessReview", &spec)?;
            Ok(answered(body, access(authorizer, user, &attributes)))
        }
        "subjectaccessreviews" | "localsubjectaccessreviews" => {
            let kind = if plural == "subjectaccessreviews" {
                "SubjectAccessReview"
            } else {
                "LocalSubjectAccessReview"
            };
            let attributes = asked(kind, &spec)?;
            let subject = User {
                name: text(&spec, "/user"),
                uid: text(&spec, "/uid"),
                groups: strings(&spec, "/groups"),
                extra: spec
                    .get("extra")
                    .and_then(Value::as_object)
                    .map(|extra| {
                        extra
                            .iter()
                            .map(|(k, v)| (k.clone(), strings(v, "")))
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            if subject.name.is_empty() && subject.groups.is_empty() {
                return Err(ApiError::invalid(
                    "authorization.k8s.io",
                    kind,
                    "",
                    vec![Cause::invalid(
                        "spec.user",
                        &json!(""),
                        "at least one of user or group must be specified",
                    )],
                ));
            }
            if let (
                Some(namespace),
                Attributes::Resource {
                    namespace: asked, ..
                },
            ) = (namespace, &attributes)
                && asked.as_deref() != Some(namespace)
            {
                return Err(ApiError::invalid(
                    "authorization.k8s.io",
                    kind,
                    "",
                    vec![Cause::invalid(
                        "spec.resourceAttributes.namespace",
                        &json!(asked),
                        "must match metadata.namespace",
                    )],
                ));
            }
            Ok(answered(body, access(authorizer, &subject, &attributes)))
        }
        "selfsubjectrulesreviews" => {
            let namespace = text(&spec, "/namespace");
            Ok(answered(body, rules(authorizer, user, &namespace)))
        }
        "selfsubjectreviews" => {
            let mut info = json!({"username": user.name, "groups": user.groups});
            if !user.uid.is_empty() {
                info["uid"] = json!(user.uid);
            }
            if !user.extra.is_empty() {
                info["extra"] = json!(user.extra);
            }
            Ok(answered(body, json!({"userInfo": info})))
        }
        _ => Err(ApiError::path_not_found()),
    }
}
